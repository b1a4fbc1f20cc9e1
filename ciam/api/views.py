"""The base of every admin API view: token authentication, bounded JSON, Hydra-shaped errors."""

from csp.decorators import csp_exempt
from django.utils.decorators import method_decorator
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from ciam.api.authentication import AdminBearerAuthentication
from ciam.api.parsers import BoundedJSONParser


@method_decorator(csp_exempt(), name="dispatch")  # JSON: no document for a CSP to protect
class AdminApiView(APIView):
    authentication_classes = [AdminBearerAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [BoundedJSONParser]

    def who(self) -> dict:
        """How services record the caller in the audit log."""
        return {"actor": self.request.user}

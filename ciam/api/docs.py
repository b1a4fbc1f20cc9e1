"""/admin/openapi.json and /admin/docs/: the document for tokens (or a signed-in administrator),
the browsable page for administrators signed in to the console. Assets come from the
drf-spectacular-sidecar package (no CDN)."""

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer

from ciam.api.authentication import AdminBearerAuthentication
from ciam.console.access import staff_required


class IsAdminCaller(BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        return getattr(user, "pk", None) is None or (user.is_active and user.is_staff)


class OpenApiDocument(SpectacularAPIView):
    authentication_classes = [AdminBearerAuthentication, SessionAuthentication]
    permission_classes = [IsAdminCaller]
    # Plain JSON (application/json), for the document and for its error answers alike.
    renderer_classes = [JSONRenderer]


# Swagger UI styles itself inline; the exception is for this page only.
@method_decorator(csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]}), name="dispatch")
@method_decorator(staff_required, name="dispatch")
class ApiDocsPage(SpectacularSwaggerSplitView):
    authentication_classes = [SessionAuthentication]
    permission_classes: list = []

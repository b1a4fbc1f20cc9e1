"""Which origins may call the protocol endpoints from a browser: those a client registered."""

import re

import corsheaders.middleware
from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers


def origin_registered(origin: str) -> bool:
    from clients.models import Client

    if not origin or len(origin) > 2048:
        return False
    # A substring match narrows the rows; the exact check is on the parsed list.
    candidates = Client.objects.filter(is_active=True, allowed_origins__contains=origin).only(
        "allowed_origins"
    )
    return any(origin in client.allowed_cors_origins for client in candidates)


@receiver(check_request_enabled)
def cors_allow_registered_origins(sender, request, **kwargs) -> bool:
    # The library ORs this signal with its own checks, so the path rule is enforced here too:
    # pages (login, consent, console) never answer cross-origin requests.
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    return origin_registered(request.META.get("HTTP_ORIGIN", ""))


class CorsMiddleware(corsheaders.middleware.CorsMiddleware):
    """django-cors-headers, without building `request.headers` for a request with no Origin.

    Servers and SDKs calling the token and introspection endpoints send no Origin; for them the
    library's answer is only `Vary: Origin`, which this gives without copying every header into a
    new mapping first (a few percent of such a request). Requests with an Origin, and preflights,
    are the library's.
    """

    def add_response_headers(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if "HTTP_ORIGIN" in request.META:
            return super().add_response_headers(request, response)
        enabled = getattr(request, "_cors_enabled", None)
        if enabled is None:
            enabled = self.is_enabled(request)
        if enabled:
            patch_vary_headers(response, ("origin",))
        return response

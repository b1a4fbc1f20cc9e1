"""Which origins may call the protocol endpoints from a browser: those a client registered.

django-cors-headers (its middleware, unchanged) asks the `check_request_enabled` signal."""

import re

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.dispatch import receiver
from oauth2_provider.models import get_application_model


def origin_registered(origin: str) -> bool:
    if not origin or len(origin) > 2048:
        return False
    # A substring match narrows the rows; the exact check is on the parsed list.
    candidates = get_application_model().objects.filter(is_active=True, allowed_origins__contains=origin)
    return any(origin in client.allowed_cors_origins for client in candidates.only("allowed_origins"))


@receiver(check_request_enabled)
def cors_allow_registered_origins(sender, request, **kwargs) -> bool:
    # The library ORs this signal with its own checks, so the path rule is enforced here too:
    # pages (login, consent, console) never answer cross-origin requests.
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    return origin_registered(request.META.get("HTTP_ORIGIN", ""))

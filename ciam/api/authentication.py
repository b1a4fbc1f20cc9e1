"""Who may call the admin API: an admin API token (`ciam_pat_...`), or a client-credentials access
token carrying the `ciam:admin` scope (so an M2M client can administer). Nothing else: without a
valid token every /admin endpoint answers 401 with an RFC 6750 WWW-Authenticate header."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from ciam.clientip import client_ip
from ciam.console.models import AdminAuthFailure
from ciam.console.services import ADMIN_TOKEN_PREFIX, admin_token_authenticate
from ciam.oauth.introspection import introspect

ADMIN_SCOPE = "ciam:admin"
REALM = "ciam-admin"


@dataclass(frozen=True)
class ApiPrincipal:
    """The caller: an admin token's name or an M2M client's ID, for the audit log."""

    label: str
    is_authenticated: bool = True
    pk: None = None
    email: str = ""

    def __str__(self) -> str:
        return self.label


def _throttled_for(ip: str | None) -> int:
    """Seconds this address must wait, or 0 (the limit counts failures within the window)."""
    window = timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)
    recent = AdminAuthFailure.objects.filter(ip_address=ip, at__gt=timezone.now() - window)
    limit = settings.CIAM_ADMIN_AUTH_MAX_FAILURES
    oldest = recent.order_by("-at").values_list("at", flat=True)[limit - 1 : limit].first()
    if oldest is None:
        return 0
    return max(1, math.ceil((oldest + window - timezone.now()).total_seconds()))


class AdminBearerAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1", "replace")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        ip = client_ip(request)
        wait = _throttled_for(ip)
        if wait:
            raise exceptions.Throttled(
                wait=wait,
                detail=(f"Too many refused admin credentials from this address; try again in {wait} s."),
            )
        try:
            return self._authenticate(token.strip())
        except exceptions.AuthenticationFailed:
            AdminAuthFailure.objects.create(ip_address=ip, at=timezone.now())
            raise

    def _authenticate(self, token: str):
        if not token or len(token) > 4096:
            raise exceptions.AuthenticationFailed("The bearer token is missing or malformed.")
        if token.startswith(ADMIN_TOKEN_PREFIX):
            record = admin_token_authenticate(token)
            if record is None:
                raise exceptions.AuthenticationFailed("The admin token is invalid or revoked.")
            return ApiPrincipal(label=f"api-token:{record.name}"), record
        answer = introspect(token, caller=None)
        if (
            answer.get("active")
            and answer.get("token_use") == "access_token"
            and answer["sub"] == answer["client_id"]
            and ADMIN_SCOPE in answer["scope"].split()
        ):
            return ApiPrincipal(label=f"client:{answer['client_id']}"), answer
        raise exceptions.AuthenticationFailed(
            "The token is not a live admin token, nor a client-credentials access token "
            "with the ciam:admin scope."
        )

    def authenticate_header(self, request) -> str:
        return f'Bearer realm="{REALM}"'

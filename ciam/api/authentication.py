"""Who may call the admin API: an admin API token (`ciam_pat_...`), or a client-credentials access
token carrying the `ciam:admin` scope (so an M2M client can administer). Nothing else: without a
valid token every /admin endpoint answers 401 with an RFC 6750 WWW-Authenticate header.

One exception, off by default: a request without any Authorization header from a network in
CIAM_ADMIN_TRUSTED_NETWORKS, as Hydra's admin port (with no authentication) is reached by the
deployment's own login and consent app. The address is the connection's (or, behind a trusted
proxy, what CIAM_TRUSTED_PROXIES allows to be believed), never a header the caller chose.
A request that does send a credential has it checked, wherever it comes from."""

from dataclasses import dataclass

from django.conf import settings
from rest_framework import authentication, exceptions

from ciam.accounts import throttle
from ciam.accounts.models import FailedAttempt
from ciam.api.services import ADMIN_TOKEN_PREFIX, admin_token_authenticate
from ciam.lib.clientip import client_ip, ip_in
from ciam.oauth.introspection import introspect

REFUSED = FailedAttempt.Kind.ADMIN_CREDENTIAL

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


class AdminBearerAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1", "replace")
        if not header and settings.CIAM_ADMIN_TRUSTED_NETWORKS:
            ip = client_ip(request)
            if ip_in(ip, settings.CIAM_ADMIN_TRUSTED_NETWORKS):
                return ApiPrincipal(label=f"trusted-network:{ip}"), None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        try:
            return self._authenticate(token.strip())
        except exceptions.AuthenticationFailed:
            # Only refusals are throttled, after the credential was checked: a valid token is
            # never refused, whoever else shares its address (a NAT, a proxy). The tokens are
            # 256-bit random values, so the limit is not what stops guessing; it stops the noise.
            wait = throttle.refusal(
                REFUSED,
                limit=settings.CIAM_ADMIN_AUTH_MAX_FAILURES,
                window=settings.CIAM_LOGIN_FAILURE_WINDOW,
                ip_address=client_ip(request),
            )
            if wait:
                raise exceptions.Throttled(
                    wait=wait,
                    detail=f"Too many refused admin credentials from this address; try again in {wait} s.",
                ) from None
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

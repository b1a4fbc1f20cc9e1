"""OpenID Connect Discovery 1.0 / RFC 8414 metadata, and the public signing keys (JWKS)."""

import time

from csp.decorators import csp_exempt
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from ciam.accounts.authn import ACR_LEVELS
from ciam.oauth.authorize import PROMPTS
from ciam.oauth.keys import current_signing_key, jwks
from ciam.oauth.scopes import PERSON_CLAIMS, known_scopes
from ciam.oauth.server import RESPONSE_MODES
from ciam.oauth.validator import GRANT_TYPES

# The protocol's claims, then the person's (one list of those: ciam.oauth.scopes.PERSON_CLAIMS).
CLAIMS_SUPPORTED = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "amr",
    "acr",
    *(claim for claim in PERSON_CLAIMS if claim != "sub"),
]
DISCOVERY_TTL = 60.0
# (built at, inputs, document): rebuilt at most once a minute per process, or when an input changes.
_built: tuple[float, tuple, dict] | None = None


def _url(name: str) -> str:
    return settings.CIAM_ISSUER + reverse(name)


def discovery_document() -> dict:
    algorithm = current_signing_key().algorithm
    document = {
        "issuer": settings.CIAM_ISSUER,
        "authorization_endpoint": _url("oauth:authorize"),
        "token_endpoint": _url("oauth:token"),
        "jwks_uri": _url("oauth:jwks"),
        "userinfo_endpoint": _url("oauth:userinfo"),
        "revocation_endpoint": _url("oauth:revoke"),
        "introspection_endpoint": _url("oauth:introspect"),
        "end_session_endpoint": _url("oauth:logout"),
        "device_authorization_endpoint": _url("oauth:device-authorization"),
        "scopes_supported": list(known_scopes()),
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [algorithm],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": list(PROMPTS),
        "acr_values_supported": list(ACR_LEVELS),
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }
    if settings.CIAM_DCR_ENABLED:
        document["registration_endpoint"] = _url("clients:register")
    return document


def forget_discovery() -> None:
    """Build the document afresh on the next request (a new process, or a test starting as one)."""
    global _built
    _built = None


@csp_exempt()
@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    global _built
    inputs = (settings.CIAM_ISSUER, settings.CIAM_DCR_ENABLED, tuple(settings.CIAM_EXTRA_SCOPES))
    if _built is None or _built[1] != inputs or time.monotonic() - _built[0] > DISCOVERY_TTL:
        _built = (time.monotonic(), inputs, discovery_document())
    response = JsonResponse(_built[2])
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@csp_exempt()
@require_GET
def jwks_view(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(jwks())
    # Short: a rotated key must reach verifiers well before it signs anything they cannot verify.
    response["Cache-Control"] = "public, max-age=60"
    response["Access-Control-Allow-Origin"] = "*"
    return response

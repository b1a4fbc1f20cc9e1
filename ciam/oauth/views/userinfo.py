"""GET/POST /userinfo: the claims the access token's scopes release (OIDC Core §5.3).

The access token comes in the Authorization header or, for POST, in the form body (RFC 6750
§2.1, §2.2), by one of them only; never in the query string (RFC 9700 §4.3.2, OAuth 2.1), where
it would end up in logs and browser history.
"""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse

from ciam.lib.http import json_error, no_store
from ciam.oauth.flows import oauthlib_core
from ciam.oauth.introspection import introspect
from ciam.oauth.views.endpoint import oauth_endpoint


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _refused_presentation(request: HttpRequest) -> HttpResponse | None:
    """400 invalid_request for a token where it must not be, or sent twice (RFC 6750 §2, §3.1)."""
    if "access_token" in request.GET:
        description = (
            "The access token must not be sent in the query string; use the Authorization "
            "header (Bearer) or a form body."
        )
    elif "HTTP_AUTHORIZATION" in request.META and "access_token" in request.POST:
        description = "Send the access token one way only: the Authorization header or the form body."
    else:
        return None
    return json_error(
        "invalid_request",
        description,
        headers={"WWW-Authenticate": f'Bearer error="invalid_request", error_description="{description}"'},
    )


def _valid_without_openid(request: HttpRequest) -> bool:
    token = _bearer(request) or request.POST.get("access_token")
    if not token:
        return False
    answer = introspect(token, caller=None)
    return (
        answer["active"] and answer["token_use"] == "access_token" and "openid" not in answer["scope"].split()
    )


@oauth_endpoint(methods=("GET", "POST"))
def userinfo(request: HttpRequest) -> HttpResponse:
    refused = _refused_presentation(request)
    if refused is not None:
        return refused
    if "HTTP_AUTHORIZATION" not in request.META and "access_token" not in request.POST:
        # RFC 6750 §3.1: a request without any credentials gets the scheme, and no error code.
        missing = JsonResponse(
            {"error_description": "An access token is required: Authorization: Bearer <token>."},
            status=401,
        )
        missing["WWW-Authenticate"] = "Bearer"
        return no_store(missing)
    _uri, headers, body, status = oauthlib_core().create_userinfo_response(request)
    if status == 401 and _valid_without_openid(request):
        # RFC 6750 §3.1: a valid token that lacks the scope is 403 insufficient_scope, not 401.
        return json_error(
            "insufficient_scope",
            "The access token lacks the 'openid' scope.",
            status=403,
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    if not body:
        body = json.dumps(
            {
                "error": "invalid_token",
                "error_description": "The access token is unknown, expired or revoked.",
            }
        )
    response = HttpResponse(content=body, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return no_store(response)

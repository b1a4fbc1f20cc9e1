"""GET/POST /userinfo: the claims the access token's scopes release (OIDC Core §5.3)."""

import json

from django.http import HttpRequest, HttpResponse

from ciam.lib.http import json_error, no_store
from ciam.oauth.flows import oauthlib_core
from ciam.oauth.introspection import introspect
from ciam.oauth.views.endpoint import oauth_endpoint


def _valid_without_openid(request: HttpRequest) -> bool:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return False
    answer = introspect(value.strip(), caller=None)
    return (
        answer["active"] and answer["token_use"] == "access_token" and "openid" not in answer["scope"].split()
    )


@oauth_endpoint(methods=("GET", "POST"))
def userinfo(request: HttpRequest) -> HttpResponse:
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
                "error_description": "A valid access token is required (Authorization: Bearer ...).",
            }
        )
    response = HttpResponse(content=body, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return no_store(response)

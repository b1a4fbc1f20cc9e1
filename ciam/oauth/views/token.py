"""POST /oauth2/token and POST /oauth2/revoke: oauthlib's endpoints, through the toolkit's backend."""

from django.http import HttpRequest, HttpResponse

from ciam.lib.http import json_error, no_store
from ciam.oauth.flows import oauthlib_core
from ciam.oauth.views.endpoint import oauth_endpoint


def _response(headers: dict, body: str | None, status: int) -> HttpResponse:
    response = HttpResponse(content=body or "", status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return no_store(response)


@oauth_endpoint()
def token(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/token: authorization_code, refresh_token, client_credentials, device_code."""
    _uri, headers, body, status = oauthlib_core().create_token_response(request)
    return _response(headers, body, status)


@oauth_endpoint()
def revoke(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/revoke (RFC 7009): 200 for any token, known or not, once the client is authenticated."""
    if not request.POST.get("token"):
        return json_error("invalid_request", "The 'token' parameter is required.")
    _uri, headers, body, status = oauthlib_core().create_revocation_response(request)
    return _response(headers, body, status)

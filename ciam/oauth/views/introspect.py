"""POST /oauth2/introspect (RFC 7662) for clients."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from ciam.lib.http import json_error, no_store
from ciam.oauth.introspection import introspect
from ciam.oauth.views.endpoint import authenticated_client, oauth_endpoint


@oauth_endpoint()
def introspect_view(request: HttpRequest) -> HttpResponse:
    """Resource servers (clients allowed `ciam:introspect`) may introspect any token; any other
    confidential client only its own. Public clients cannot authenticate, so cannot introspect."""
    client = authenticated_client(request)
    if client is None:
        return json_error(
            "invalid_client",
            "Client authentication failed (client_secret_basic or client_secret_post).",
            status=401,
        )
    token_value = request.POST.get("token")
    if not token_value:
        return json_error("invalid_request", "The 'token' parameter is required.")
    answer = introspect(token_value, token_type_hint=request.POST.get("token_type_hint", ""), caller=client)
    return no_store(JsonResponse(answer))

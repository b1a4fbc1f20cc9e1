"""POST /oauth2/device/auth (RFC 8628 §3.1-3.2): a device asks for a user code."""

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from ciam.lib.http import json_error, no_store
from ciam.oauth.device import device_grant_create
from ciam.oauth.views.endpoint import authenticated_client, oauth_endpoint

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@oauth_endpoint()
def device_authorization(request: HttpRequest) -> HttpResponse:
    client = authenticated_client(request, confidential=False)
    if client is None:
        return json_error("invalid_client", "Client authentication failed.", status=401)
    if not client.allows_grant_type(DEVICE_CODE_GRANT):
        return json_error("unauthorized_client", "This client is not allowed the device code grant.")
    scopes = request.POST.get("scope", "").split()
    if not set(scopes) <= set(client.scopes):
        return json_error("invalid_scope", "The requested scope is not allowed for this client.")
    try:
        device_code, user_code = device_grant_create(client_id=client.client_id, scopes=scopes)
    except IntegrityError:  # a code drawn twice (in theory): the device asks again
        return json_error("temporarily_unavailable", "Try again.", status=503)
    verification_uri = settings.CIAM_ISSUER + reverse("consent:device")
    return no_store(
        JsonResponse(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification_uri,
                "verification_uri_complete": f"{verification_uri}?user_code={user_code}",
                "expires_in": settings.CIAM_DEVICE_CODE_LIFESPAN,
                "interval": settings.CIAM_DEVICE_POLL_INTERVAL,
            }
        )
    )

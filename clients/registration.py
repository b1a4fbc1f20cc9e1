"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

Off unless CIAM_DCR_ENABLED. Anyone may register, so registration is narrower than the admin
API: no first-party privileges (skip_consent), no resource-server or admin scopes, no owner or
metadata. Each client gets a registration access token (shown once, stored as a keyed hash)
with which it can read, replace or delete its own registration. Bodies are read by the admin
API's serializer (clients.serializers.ClientSerializer), limited to the open fields.
"""

import hmac
import json
import secrets

from csp.decorators import csp_exempt
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from ciam.lib.crypto import keyed_digest
from ciam.lib.http import json_error, no_store
from ciam.lib.jsonbody import JsonBodyError, parse_json
from ciam.oauth.scopes import PRIVILEGED_PREFIX
from clients.models import Client
from clients.rules import CLIENT_FIELDS
from clients.serializers import ClientSerializer, client_json
from clients.services import client_create, client_delete, client_update

# RFC 7591 §2 metadata this server accepts from anyone.
OPEN_FIELDS = frozenset(
    {
        "client_name",
        "redirect_uris",
        "grant_types",
        "response_types",
        "scope",
        "token_endpoint_auth_method",
        "post_logout_redirect_uris",
        "contacts",
        "client_uri",
        "logo_uri",
        "policy_uri",
        "tos_uri",
    }
)
# Sent back by clients that echo their registration: accepted and ignored.
IGNORED = {
    "client_id",
    "client_secret",
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
}


def _token_hash(token: str) -> str:
    return keyed_digest(token, "registration-access-token")


def _flatten(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _flatten(value, key)]
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _metadata(request: HttpRequest, client: Client | None = None) -> dict | JsonResponse:
    """The registration's fields from a JSON body, checked; or the RFC 7591 §3.2.2 error."""
    if request.content_type != "application/json":
        return json_error("invalid_client_metadata", "The body must be application/json (RFC 7591 §3.1).")
    try:
        if len(request.body) > settings.CIAM_API_MAX_BODY:
            return json_error("invalid_client_metadata", "The body is too large.", status=413)
        data = parse_json(request.body or b"null")
    except RequestDataTooBig:
        return json_error("invalid_client_metadata", "The body is too large.", status=413)
    except JsonBodyError as exc:
        return json_error("invalid_client_metadata", str(exc))
    if not isinstance(data, dict):
        return json_error("invalid_client_metadata", "The body must be a JSON object of client metadata.")
    refused = sorted(k for k in data if k not in OPEN_FIELDS | IGNORED)
    if refused:
        return json_error(
            "invalid_client_metadata", f"Not allowed in a dynamic registration: {', '.join(refused)}."
        )
    privileged = sorted(s for s in str(data.get("scope") or "").split() if s.startswith(PRIVILEGED_PREFIX))
    if privileged:
        return json_error(
            "invalid_client_metadata", f"These scopes need an administrator: {', '.join(privileged)}."
        )
    fields = {k: v for k, v in data.items() if k in OPEN_FIELDS}
    fields.setdefault(
        "token_endpoint_auth_method", client.token_endpoint_auth_method if client else "client_secret_basic"
    )
    body = ClientSerializer(instance=client, data=fields, allowed=OPEN_FIELDS)
    if not body.is_valid():
        error = "invalid_redirect_uri" if "redirect_uris" in body.errors else "invalid_client_metadata"
        return json_error(error, "; ".join(_flatten(body.errors)))
    return body.service_fields()


def _service_error(exc: ValidationError) -> JsonResponse:
    fields = exc.message_dict
    error = "invalid_redirect_uri" if "redirect_uris" in fields else "invalid_client_metadata"
    return json_error(error, "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))


def _representation(client: Client, *, secret: str | None = None, token: str | None = None) -> dict:
    body = {k: v for k, v in client_json(client).items() if k in OPEN_FIELDS | {"client_id"}}
    body.update(
        client_id_issued_at=int(client.created.timestamp()),
        client_secret_expires_at=0,
        registration_client_uri=settings.CIAM_ISSUER
        + reverse("clients:register-client", args=[client.client_id]),
    )
    if secret:
        body["client_secret"] = secret
    if token:
        body["registration_access_token"] = token
    return body


def _disabled() -> JsonResponse:
    return json_error("not_found", "Dynamic client registration is not enabled on this server.", status=404)


@csrf_exempt
@csp_exempt()
def register(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/register (RFC 7591 §3)."""
    if not settings.CIAM_DCR_ENABLED:
        return _disabled()
    if request.method != "POST":
        return json_error("invalid_request", "Use POST.", status=405, headers={"Allow": "POST"})
    metadata = _metadata(request)
    if isinstance(metadata, JsonResponse):
        return metadata
    token = "ciam_rat_" + secrets.token_urlsafe(32)
    try:
        result = client_create(actor_label="dynamic-registration", pkce_required=True, **metadata)
    except ValidationError as exc:
        return _service_error(exc)
    Client.objects.filter(pk=result.client.pk).update(registration_token_hash=_token_hash(token))
    return no_store(
        JsonResponse(_representation(result.client, secret=result.client_secret, token=token), status=201)
    )


@csrf_exempt
@csp_exempt()  # type: ignore[arg-type]  # (django-csp types its decorator for one-argument views)
def manage(request: HttpRequest, client_id: str) -> HttpResponse:
    """GET/PUT/DELETE /oauth2/register/{client_id} with the registration access token (RFC 7592)."""
    if not settings.CIAM_DCR_ENABLED:
        return _disabled()
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    client = Client.objects.filter(client_id=client_id[:255]).first()
    if (
        scheme.lower() != "bearer"
        or not presented.strip()
        or client is None
        or not client.registration_token_hash
        or not hmac.compare_digest(_token_hash(presented.strip()), client.registration_token_hash)
    ):
        # Same answer for an unknown client and a wrong token (RFC 7592 §2).
        return json_error(
            "invalid_token",
            "A valid registration access token is required.",
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if request.method == "GET":
        return no_store(JsonResponse(_representation(client)))
    if request.method == "DELETE":
        client_delete(client=client, actor_label="dynamic-registration")
        return HttpResponse(status=204)
    if request.method != "PUT":
        return json_error(
            "invalid_request", "Use GET, PUT or DELETE.", status=405, headers={"Allow": "GET, PUT, DELETE"}
        )
    metadata = _metadata(request, client)
    if isinstance(metadata, JsonResponse):
        return metadata
    if json.loads(request.body).get("client_id") != client.client_id:
        return json_error("invalid_client_metadata", "client_id must be sent and must match (RFC 7592 §2.2).")
    # RFC 7592 §2.2: the request replaces the registration (the open fields not sent are reset).
    replacement = {k: v for k, v in CLIENT_FIELDS.items() if k in OPEN_FIELDS}
    try:
        result = client_update(
            client=client, actor_label="dynamic-registration", **{**replacement, **metadata}
        )
    except ValidationError as exc:
        return _service_error(exc)
    return no_store(JsonResponse(_representation(result.client, secret=result.client_secret)))

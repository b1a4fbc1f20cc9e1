"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

Off unless CIAM_DCR_ENABLED. Anyone may register, so registration is narrower than the admin
API: no first-party privileges (skip_consent), no resource-server or admin scopes, no owner or
metadata. Each client gets a registration access token (shown once, stored as a keyed hash)
with which it can read, replace or delete its own registration.
"""

import hashlib
import hmac
import json
import secrets

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from ciam.oauth.crypto import derive_key
from clients.models import Client
from clients.services import CLIENT_FIELDS, client_create, client_delete, client_update

# RFC 7591 §2 metadata this server accepts from anyone.
OPEN_FIELDS = {
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
PRIVILEGED_SCOPES = {"ciam:admin", "ciam:introspect"}
IGNORED = {
    "client_id",
    "client_secret",
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
}


def _error(error: str, description: str, status: int = 400, headers=None) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _token_hash(token: str) -> str:
    key = derive_key(settings.CIAM_CLIENT_SECRET_PEPPER, "registration-access-token")
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _metadata(request: HttpRequest) -> dict | JsonResponse:
    if request.content_type != "application/json":
        return _error("invalid_client_metadata", "The body must be application/json (RFC 7591 §3.1).")
    try:
        if len(request.body) > settings.CIAM_API_MAX_BODY:
            return _error("invalid_client_metadata", "The body is too large.", status=413)
        data = json.loads(request.body or b"null")
    except RequestDataTooBig:
        return _error("invalid_client_metadata", "The body is too large.", status=413)
    except (ValueError, UnicodeDecodeError):
        return _error("invalid_client_metadata", "The body is not valid JSON.")
    if not isinstance(data, dict):
        return _error("invalid_client_metadata", "The body must be a JSON object of client metadata.")
    refused = sorted(k for k in data if k not in OPEN_FIELDS | IGNORED)
    if refused:
        return _error(
            "invalid_client_metadata", f"Not allowed in a dynamic registration: {', '.join(refused)}."
        )
    scopes = set(str(data.get("scope") or "").split())
    if scopes & PRIVILEGED_SCOPES:
        return _error(
            "invalid_client_metadata",
            f"These scopes need an administrator: {', '.join(sorted(scopes & PRIVILEGED_SCOPES))}.",
        )
    return {k: v for k, v in data.items() if k in OPEN_FIELDS}


def _service_error(exc: ValidationError) -> JsonResponse:
    fields = exc.message_dict
    error = "invalid_redirect_uri" if "redirect_uris" in fields else "invalid_client_metadata"
    return _error(error, "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))


def _representation(client: Client, *, secret: str | None = None, token: str | None = None) -> dict:
    from clients.serializers import client_json

    body = {k: v for k, v in client_json(client).items() if k in OPEN_FIELDS | {"client_id"}}
    body.update(
        client_id_issued_at=int(client.created.timestamp()),
        client_secret_expires_at=0,
        registration_client_uri=settings.CIAM_ISSUER
        + reverse("oauth:register-client", args=[client.client_id]),
    )
    if secret:
        body["client_secret"] = secret
    if token:
        body["registration_access_token"] = token
    return body


def _disabled() -> JsonResponse:
    return _error("not_found", "Dynamic client registration is not enabled on this server.", status=404)


@csrf_exempt
def register(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/register (RFC 7591 §3)."""
    if not settings.CIAM_DCR_ENABLED:
        return _disabled()
    if request.method != "POST":
        return _error("invalid_request", "Use POST.", status=405, headers={"Allow": "POST"})
    metadata = _metadata(request)
    if isinstance(metadata, JsonResponse):
        return metadata
    metadata.setdefault("token_endpoint_auth_method", "client_secret_basic")
    metadata.setdefault("pkce_required", True)
    token = "ciam_rat_" + secrets.token_urlsafe(32)
    try:
        result = client_create(actor_label="dynamic-registration", **metadata)
    except ValidationError as exc:
        return _service_error(exc)
    Client.objects.filter(pk=result.client.pk).update(registration_token_hash=_token_hash(token))
    response = JsonResponse(
        _representation(result.client, secret=result.client_secret, token=token), status=201
    )
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
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
        return _error(
            "invalid_token",
            "A valid registration access token is required.",
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if request.method == "GET":
        return JsonResponse(_representation(client))
    if request.method == "DELETE":
        client_delete(client=client, actor_label="dynamic-registration")
        return HttpResponse(status=204)
    if request.method != "PUT":
        return _error(
            "invalid_request", "Use GET, PUT or DELETE.", status=405, headers={"Allow": "GET, PUT, DELETE"}
        )
    metadata = _metadata(request)
    if isinstance(metadata, JsonResponse):
        return metadata
    body_id = json.loads(request.body).get("client_id")
    if body_id != client.client_id:
        return _error("invalid_client_metadata", "client_id must be sent and must match (RFC 7592 §2.2).")
    replacement = {k: v for k, v in CLIENT_FIELDS.items() if k in OPEN_FIELDS}
    replacement.update(token_endpoint_auth_method=client.token_endpoint_auth_method, **metadata)
    try:
        result = client_update(client=client, actor_label="dynamic-registration", **replacement)
    except ValidationError as exc:
        return _service_error(exc)
    return JsonResponse(_representation(result.client, secret=result.client_secret))

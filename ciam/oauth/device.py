"""Device authorization (RFC 8628): the endpoint that starts it and the rules of its codes.

The device code is a bearer secret (`ciam_dc_` + 256 bits); the user code is short and typed by
a person: 8 letters from an alphabet with no vowels and no look-alikes, shown as `BCDF-GHJK`.
Only digests of both are stored. Polling faster than the interval answers `slow_down` and adds
5 seconds to it (§3.5); an authorized device code yields tokens exactly once.
"""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from oauthlib.common import Request as OAuthlibRequest

from ciam.oauth.crypto import token_checksum
from ciam.oauth.models import DeviceGrant
from ciam.oauth.responses import oauth_endpoint, oauth_error
from clients.models import GrantType

DEVICE_CODE_PREFIX = "ciam_dc_"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no 0/O, 1/I/L confusion
USER_CODE_LENGTH = 8


def normalize_user_code(value: str) -> str:
    """What a person typed, as stored: upper case, separators and spaces dropped."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())[:32]


def format_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def pending_grant_for_user_code(user_code: str) -> DeviceGrant | None:
    code = normalize_user_code(user_code)
    if len(code) != USER_CODE_LENGTH:
        return None
    return (
        DeviceGrant.objects.filter(
            user_code=token_checksum(code),
            status=DeviceGrant.AUTHORIZATION_PENDING,
            expires__gt=timezone.now(),
        )
        .order_by("-id")
        .first()
    )


def _authenticated_client(request: HttpRequest):
    from ciam.oauth.flows import oauthlib_core

    core = oauthlib_core()
    uri, method, body, headers = core._extract_params(request)
    oauth_request = OAuthlibRequest(uri, http_method=method, body=body, headers=headers)
    validator = core.server.request_validator
    if validator.client_authentication_required(oauth_request):
        ok = validator.authenticate_client(oauth_request)
    else:
        ok = validator.authenticate_client_id(oauth_request.client_id, oauth_request)
    return oauth_request.client if ok else None


@oauth_endpoint()
def device_authorization(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/device/auth (RFC 8628 §3.1-3.2)."""
    client = _authenticated_client(request)
    if client is None:
        return oauth_error("invalid_client", "Client authentication failed.", status=401)
    if not client.allows_grant_type(GrantType.DEVICE_CODE):
        return oauth_error("unauthorized_client", "This client is not allowed the device code grant.")
    scopes = request.POST.get("scope", "").split()
    if not set(scopes) <= set(client.scopes):
        return oauth_error("invalid_scope", "The requested scope is not allowed for this client.")
    device_code = DEVICE_CODE_PREFIX + secrets.token_urlsafe(32)
    lifespan = settings.CIAM_DEVICE_CODE_LIFESPAN
    for _ in range(5):
        user_code = _new_user_code()
        if pending_grant_for_user_code(user_code) is None:
            break
    try:
        with transaction.atomic():
            DeviceGrant.objects.create(
                device_code=token_checksum(device_code),
                user_code=token_checksum(user_code),
                scope=" ".join(scopes),
                interval=settings.CIAM_DEVICE_POLL_INTERVAL,
                expires=timezone.now() + timedelta(seconds=lifespan),
                client_id=client.client_id,
            )
    except IntegrityError:
        return oauth_error("temporarily_unavailable", "Try again.", status=503)
    verification_uri = settings.CIAM_ISSUER + reverse("consent:device")
    response = JsonResponse(
        {
            "device_code": device_code,
            "user_code": format_user_code(user_code),
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={format_user_code(user_code)}",
            "expires_in": lifespan,
            "interval": settings.CIAM_DEVICE_POLL_INTERVAL,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


def poll(client_id: str, device_code: str, request) -> str | None:
    """The state of a device code as the token endpoint sees it (oauthlib's DEVICE_CODE_* value).

    Sets request.user / scopes / auth context when the code is authorized and claims it, once.
    """
    grant = DeviceGrant.objects.select_related("user").filter(device_code=token_checksum(device_code)).first()
    if grant is None or grant.client_id != client_id:
        return None
    now = timezone.now()
    if grant.status == DeviceGrant.REDEEMED:
        return None
    if grant.expires <= now or grant.status == DeviceGrant.EXPIRED:
        DeviceGrant.objects.filter(pk=grant.pk).update(status=DeviceGrant.EXPIRED)
        return "expired_token"
    if grant.status == DeviceGrant.DENIED:
        return "access_denied"
    if grant.status == DeviceGrant.AUTHORIZATION_PENDING:
        too_fast = grant.last_polled and (now - grant.last_polled).total_seconds() < grant.interval
        update = {"last_polled": now}
        if too_fast:
            update["interval"] = grant.interval + 5
        DeviceGrant.objects.filter(pk=grant.pk).update(**update)
        return "slow_down" if too_fast else "authorization_pending"
    claimed = DeviceGrant.objects.filter(pk=grant.pk, status=DeviceGrant.AUTHORIZED).update(
        status=DeviceGrant.REDEEMED, last_polled=now
    )
    if not claimed:
        return None
    request.user = grant.user
    request.scopes = grant.scope.split()
    request.ciam_auth_context = grant.auth_context
    request.ciam_token_family = uuid.uuid4()
    return "authorized"


@transaction.atomic
def device_decide(*, grant: DeviceGrant, user, allow: bool, scopes: list[str], auth_context: dict) -> bool:
    """Record a person's decision on a pending device code. False if it is no longer pending."""
    status = DeviceGrant.AUTHORIZED if allow else DeviceGrant.DENIED
    updated = DeviceGrant.objects.filter(
        pk=grant.pk, status=DeviceGrant.AUTHORIZATION_PENDING, expires__gt=timezone.now()
    ).update(status=status, user=user, scope=" ".join(scopes), auth_context=auth_context)
    return bool(updated)

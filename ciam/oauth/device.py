"""Device authorization (RFC 8628): the rules of its codes (the endpoint that starts it is
ciam.oauth.views.device).

The device code is a bearer secret (`ciam_dc_` + 256 bits); the user code is short and typed by
a person: 8 letters from an alphabet with no vowels and no look-alikes, shown as `BCDF-GHJK`.
Only digests of both are stored. Polling faster than the interval answers `slow_down` and adds
5 seconds to it (§3.5); an authorized device code yields tokens exactly once.
"""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ciam.lib.crypto import token_checksum
from ciam.oauth.models import DeviceGrant

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


def device_grant_create(*, client_id: str, scopes: list[str]) -> tuple[str, str]:
    """Start a device authorization for `client_id`: (the device code, the user code as shown).
    Only their digests are stored; the user code is unlike any pending one."""
    device_code = DEVICE_CODE_PREFIX + secrets.token_urlsafe(32)
    for _ in range(5):
        user_code = _new_user_code()
        if pending_grant_for_user_code(user_code) is None:
            break
    DeviceGrant.objects.create(
        device_code=token_checksum(device_code),
        user_code=token_checksum(user_code),
        scope=" ".join(scopes),
        interval=settings.CIAM_DEVICE_POLL_INTERVAL,
        expires=timezone.now() + timedelta(seconds=settings.CIAM_DEVICE_CODE_LIFESPAN),
        client_id=client_id,
    )
    return device_code, format_user_code(user_code)


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

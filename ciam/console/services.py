"""Console-side writes: admin API tokens, signing keys, single-token revocation."""

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import revoke_access_token

from ciam.audit.services import audit_record
from ciam.console.models import AdminToken
from ciam.oauth.crypto import derive_key, token_checksum
from ciam.oauth.keys import rotate_signing_keys
from ciam.oauth.models import AccessToken, RefreshToken, SigningKey

ADMIN_TOKEN_PREFIX = "ciam_pat_"


def _admin_token_hash(token: str) -> str:
    # 256-bit random tokens: a keyed hash is enough (see ciam/oauth/hashers.py for the reasoning).
    key = derive_key(settings.CIAM_CLIENT_SECRET_PEPPER, "admin-token")
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def admin_token_create(*, actor: Any, name: str) -> tuple[AdminToken, str]:
    """Create an admin API token; returns it with the token in clear (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the token a name, e.g. the pipeline that will use it."]})
    if len(name) > 100:
        raise ValidationError({"name": ["Must be at most 100 characters."]})
    raw = secrets.token_urlsafe(32)
    token = ADMIN_TOKEN_PREFIX + raw
    record = AdminToken.objects.create(
        name=name,
        hint=raw[:6],
        token_hash=_admin_token_hash(token),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(event="admin_token.created", actor=actor, detail={"name": name, "hint": record.hint})
    return record, token


@transaction.atomic
def admin_token_revoke(*, actor: Any, token: AdminToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            event="admin_token.revoked", actor=actor, detail={"name": token.name, "hint": token.hint}
        )


def admin_token_authenticate(token: str) -> AdminToken | None:
    """The live admin token with this value, or None; records its use."""
    if not token or not token.startswith(ADMIN_TOKEN_PREFIX) or len(token) > 200:
        return None
    record = AdminToken.objects.filter(token_hash=_admin_token_hash(token), revoked_at__isnull=True).first()
    if record is not None:
        AdminToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
    return record


@transaction.atomic
def signing_key_rotate(*, actor: Any, algorithm: str | None = None) -> SigningKey:
    key = rotate_signing_keys(algorithm=algorithm)
    audit_record(
        event="signing_key.rotated", actor=actor, detail={"kid": key.kid, "algorithm": key.algorithm}
    )
    return key


@transaction.atomic
def token_revoke_by_value(*, actor: Any, token: str) -> bool:
    """Revoke an access or refresh token given its value. False if no live token has it."""
    digest = token_checksum(token)
    access = AccessToken.objects.select_related("application").filter(token_checksum=digest).first()
    if access is not None:
        client_id = access.application.client_id if access.application else ""
        revoke_access_token(access)
        audit_record(
            event="token.revoked", actor=actor, client_id=client_id, detail={"token_use": "access_token"}
        )
        return True
    refresh = (
        RefreshToken.objects.select_related("application")
        .filter(token_checksum=digest, revoked__isnull=True)
        .first()
    )
    if refresh is not None:
        refresh.revoke()
        audit_record(
            event="token.revoked",
            actor=actor,
            client_id=refresh.application.client_id,
            detail={"token_use": "refresh_token"},
        )
        return True
    return False


@transaction.atomic
def access_token_revoke(*, actor: Any, token: AccessToken) -> None:
    client_id = token.application.client_id if token.application else ""
    revoke_access_token(token)
    audit_record(
        event="token.revoked",
        actor=actor,
        client_id=client_id,
        subject=token.user.email if token.user else "",
        detail={"token_use": "access_token"},
    )

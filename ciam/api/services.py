"""Writes of admin API tokens: create (shown once), revoke, and the record of their use."""

import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ciam.api.models import AdminToken
from ciam.audit.services import audit_record
from ciam.lib.crypto import keyed_digest

ADMIN_TOKEN_PREFIX = "ciam_pat_"


def _admin_token_hash(token: str) -> str:
    return keyed_digest(token, "admin-token")


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


# A token's last use is recorded to the minute: automation calling many times a second writes the
# row once a minute, not on every call.
LAST_USE_PRECISION = timedelta(minutes=1)


def admin_token_authenticate(token: str) -> AdminToken | None:
    """The live admin token with this value, or None; records its use (to the minute)."""
    if not token or not token.startswith(ADMIN_TOKEN_PREFIX) or len(token) > 200:
        return None
    record = AdminToken.objects.filter(token_hash=_admin_token_hash(token), revoked_at__isnull=True).first()
    if record is None:
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USE_PRECISION:
        AdminToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record

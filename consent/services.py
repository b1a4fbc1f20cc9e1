"""Writes of the person's consents: granted, denied, revoked (with the client's tokens for them).

Every decision is written to the audit log in the same transaction as the change it records.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from ciam.accounts.models import User
from ciam.audit.services import audit_record
from ciam.oauth.tokens import tokens_revoke
from consent.models import Consent

# --- Consents ---------------------------------------------------------------------------------


@transaction.atomic
def consent_grant(
    *,
    user: User,
    client,
    scopes: list[str],
    remember: bool,
    ip_address: str | None = None,
    remember_for: int = 0,
) -> Consent:
    """Record that `user` allowed `client` these scopes; remembered if `remember`, for
    `remember_for` seconds (0: until revoked, as Hydra's consent `remember_for: 0`).

    A remembered consent accumulates: scopes granted earlier (and not revoked) stay granted.
    """
    consent = Consent.objects.select_for_update().filter(user=user, client=client).first()
    if consent is None:
        consent = Consent(user=user, client=client)
    if remember and consent.remember:
        merged = list(dict.fromkeys([*consent.scopes, *scopes]))
    else:
        merged = list(scopes)
    consent.scopes = merged
    consent.remember = remember
    consent.remember_until = (
        timezone.now() + timedelta(seconds=remember_for) if remember and remember_for else None
    )
    consent.granted_at = timezone.now()
    consent.save()
    audit_record(
        event="consent.granted",
        actor=user,
        client_id=client.client_id,
        subject=user.email,
        ip_address=ip_address,
        detail={"scopes": list(scopes), "remember": remember},
    )
    return consent


def consent_deny_record(*, user: User, client, ip_address: str | None = None) -> None:
    audit_record(
        event="consent.denied",
        actor=user,
        client_id=client.client_id,
        subject=user.email,
        ip_address=ip_address,
    )


@transaction.atomic
def consent_revoke(
    *, user: User, client, actor: Any = None, actor_label: str = "", ip_address: str | None = None
) -> None:
    """Withdraw a person's consent to a client, and with it every token the client holds for them."""
    Consent.objects.filter(user=user, client=client).delete()
    revoked = tokens_revoke(user=user, client=client)["access_tokens"]
    audit_record(
        event="consent.revoked",
        actor=actor or user,
        actor_label=actor_label,
        client_id=client.client_id,
        subject=user.email,
        ip_address=ip_address,
        detail={"access_tokens_revoked": revoked},
    )

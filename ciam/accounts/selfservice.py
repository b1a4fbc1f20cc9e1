"""The person's own account flows that go through their inbox (Ory Kratos calls them
self-service flows): verifying an address, recovering an account, and what registration says.

Each flow sends a link and a 6-digit code (ciam.accounts.models.EmailCode, digests only) through
ciam.accounts.mail, audits in the same transaction, and answers the same whether or not an
address has an account: nothing here tells a stranger who is registered."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from ciam.accounts import factors, mail, throttle
from ciam.accounts.models import EmailCode, FailedAttempt, User
from ciam.accounts.services import (
    SUBJECT_EMAIL_DOMAIN,
    keep_an_administrator,
    normalize_email,
    withdraw_access,
)
from ciam.accounts.sessions import Session
from ciam.audit.models import AuditEvent
from ciam.audit.services import audit_record
from ciam.lib.crypto import token_checksum
from ciam.lib.durations import in_words

Purpose = EmailCode.Purpose


@dataclass(frozen=True)
class Sent:
    """What the page that asked for a message may know: the flow to type its code into. For an
    address without an account it is a flow like any other, that no code completes."""

    flow: str


def _code_digest(flow_id: Any, code: str) -> str:
    return token_checksum(f"{flow_id}:{code}")


def _lifespan(purpose: str) -> int:
    return (
        settings.CIAM_RECOVERY_LIFESPAN if purpose == Purpose.RECOVER else settings.CIAM_VERIFICATION_LIFESPAN
    )


def _issue(user: User, purpose: str, email: str) -> tuple[EmailCode, str, str]:
    """A new link and code for `user` (earlier unused ones of the same purpose stop working)."""
    EmailCode.objects.filter(user=user, purpose=purpose, used__isnull=True).update(used=timezone.now())
    link_token = secrets.token_urlsafe(32)
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = EmailCode(user=user, purpose=purpose, email=email, link_digest=token_checksum(link_token))
    row.code_digest = _code_digest(row.id, code)
    row.expires = timezone.now() + timedelta(seconds=_lifespan(purpose))
    row.save()
    return row, link_token, code


def _page_uri(purpose: str, **query: str) -> str:
    name = "accounts:recovery" if purpose == Purpose.RECOVER else "accounts:verification"
    return settings.CIAM_ISSUER + reverse(name) + (f"?{urlencode(query)}" if query else "")


def mail_throttle(email: str, ip_address: str | None) -> int:
    """Seconds to wait before another verification or recovery message may be asked for this
    address, or from this network address; 0 if it may be now. Counts this request."""
    window = settings.CIAM_LOGIN_FAILURE_WINDOW
    limit = settings.CIAM_MAIL_MAX_REQUESTS
    kind = FailedAttempt.Kind.MAIL_REQUEST
    wait = max(
        throttle.retry_after([kind], limit=limit, window=window, key=normalize_email(email)),
        throttle.retry_after([kind], limit=limit * 4, window=window, ip_address=ip_address),
    )
    if not wait:
        throttle.record_failure(kind, key=normalize_email(email), ip_address=ip_address)
    return wait


def _unknown_flow() -> Sent:
    """A flow id for an address without an account: shaped like a real one, completed by nothing."""
    return Sent(flow=str(uuid.uuid4()))


# --- Verification ------------------------------------------------------------------------------


@transaction.atomic
def verification_send(*, user: User, email: str | None = None, ip_address: str | None = None) -> Sent:
    """Send `user` a link and a code that verify `email` (their own address by default)."""
    email = email or user.email
    row, link_token, code = _issue(user, Purpose.VERIFY, email)
    mail.send(
        to=email,
        kind="verify",
        context={
            "email": email,
            "link": _page_uri(Purpose.VERIFY, token=link_token),
            "code": code,
            "lifespan": in_words(_lifespan(Purpose.VERIFY)),
        },
    )
    audit_record(event="verification.sent", actor=user, subject=user.email, ip_address=ip_address)
    return Sent(flow=str(row.id))


def verification_request(*, email: str, ip_address: str | None) -> Sent:
    """The public "send me a verification e-mail" form: the same answer for every address."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None or user.email_verified:
        return _unknown_flow()
    return verification_send(user=user, ip_address=ip_address)


def _by_link(token: str, purpose: str) -> EmailCode | None:
    row = (
        EmailCode.objects.select_related("user")
        .filter(link_digest=token_checksum(token or ""), purpose=purpose)
        .first()
    )
    return row if row is not None and row.usable and row.user.is_active else None


def _flow_row(flow: str, purpose: str) -> EmailCode | None:
    try:
        flow_id = uuid.UUID(str(flow))
    except ValueError:
        return None
    return EmailCode.objects.select_related("user").filter(pk=flow_id, purpose=purpose).first()


def _by_code(flow: str, code: str, purpose: str, ip_address: str | None) -> EmailCode | None:
    """The flow `flow` if `code` is its code; a wrong code counts against the flow (a few tries)
    and the network address."""
    row = _flow_row(flow, purpose)
    if row is None or not row.usable or not row.user.is_active:
        throttle.record_failure(FailedAttempt.Kind.WRONG_CODE, ip_address=ip_address)
        return None
    if not secrets.compare_digest(row.code_digest, _code_digest(row.id, (code or "").strip())):
        EmailCode.objects.filter(pk=row.pk).update(tries=F("tries") + 1)
        throttle.record_failure(FailedAttempt.Kind.WRONG_CODE, ip_address=ip_address)
        return None
    return row


def code_throttle(ip_address: str | None) -> int:
    """Seconds before this network address may try another e-mailed code, or 0."""
    return throttle.retry_after(
        [FailedAttempt.Kind.WRONG_CODE],
        limit=settings.CIAM_LOGIN_IP_MAX_FAILURES,
        window=settings.CIAM_LOGIN_FAILURE_WINDOW,
        ip_address=ip_address,
    )


@transaction.atomic
def _verify(row: EmailCode, ip_address: str | None) -> User | None:
    if not EmailCode.objects.filter(pk=row.pk, used__isnull=True).update(used=timezone.now()):
        return None  # used meanwhile
    user = row.user
    if user.email != row.email:
        # An e-mail change: the new address replaces the old one now that it is proven, if no
        # other account took it meanwhile; the old address is told.
        if User.objects.filter(email=row.email).exclude(pk=user.pk).exists():
            return None
        old = user.email
        user.email = row.email
        user.email_verified = True
        user.save(update_fields=["email", "email_verified", "updated_at"])
        audit_record(
            event="email.changed", actor=user, subject=user.email, ip_address=ip_address, detail={"from": old}
        )
        mail.send(to=old, kind="email_changed", context={"email": old, "new_email": user.email})
        return user
    user.email_verified = True
    user.save(update_fields=["email_verified", "updated_at"])
    audit_record(event="email.verified", actor=user, subject=user.email, ip_address=ip_address)
    return user


def verify_by_link(token: str, *, ip_address: str | None = None) -> User | None:
    """The person whose address the link verified, or None (unknown, used, expired)."""
    row = _by_link(token, Purpose.VERIFY)
    return _verify(row, ip_address) if row is not None else None


def verify_by_code(flow: str, code: str, *, ip_address: str | None = None) -> User | None:
    row = _by_code(flow, code, Purpose.VERIFY, ip_address)
    return _verify(row, ip_address) if row is not None else None


# --- Recovery ----------------------------------------------------------------------------------


@transaction.atomic
def _send_recovery(user: User, ip_address: str | None, actor: Any = None) -> Sent:
    row, link_token, code = _issue(user, Purpose.RECOVER, user.email)
    mail.send(
        to=user.email,
        kind="recovery",
        context={
            "email": user.email,
            "link": _page_uri(Purpose.RECOVER, token=link_token),
            "code": code,
            "lifespan": in_words(_lifespan(Purpose.RECOVER)),
        },
    )
    audit_record(
        event="recovery.sent",
        actor=actor,
        actor_label="" if actor is not None else "anonymous",
        subject=user.email,
        ip_address=ip_address,
    )
    return Sent(flow=str(row.id))


def recovery_request(*, email: str, ip_address: str | None) -> Sent:
    """The "forgot password" form: a link and a code to the address if it has an active account;
    the same answer (a flow to type a code into) either way."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None or user.email.endswith("@" + SUBJECT_EMAIL_DOMAIN):
        return _unknown_flow()
    return _send_recovery(user, ip_address)


@transaction.atomic
def recovery_link(*, user: User, actor: Any, lifespan: int | None = None) -> tuple[str, Any]:
    """A recovery link for an administrator to hand over (Kratos' createRecoveryLinkForIdentity),
    valid `lifespan` seconds (CIAM_RECOVERY_LIFESPAN by default): the link and when it expires."""
    row, link_token, _code = _issue(user, Purpose.RECOVER, user.email)
    if lifespan is not None:
        row.expires = row.created + timedelta(seconds=lifespan)
        row.save(update_fields=["expires"])
    audit_record(event="recovery.link_created", actor=actor, subject=user.email)
    return _page_uri(Purpose.RECOVER, token=link_token), row.expires


@transaction.atomic
def recovery_send(*, user: User, actor: Any) -> None:
    """An administrator sends the person a recovery message."""
    _send_recovery(user, None, actor=actor)


def recovery_by_link(token: str) -> EmailCode | None:
    """The open recovery of this link (not yet used), or None."""
    return _by_link(token, Purpose.RECOVER)


def recovery_by_code(flow: str, code: str, *, ip_address: str | None = None) -> EmailCode | None:
    return _by_code(flow, code, Purpose.RECOVER, ip_address)


def recovery_for_flow(flow: str) -> EmailCode | None:
    row = _flow_row(flow, Purpose.RECOVER)
    return row if row is not None and row.usable and row.user.is_active else None


@transaction.atomic
def recovery_complete(*, row: EmailCode, password: str, ip_address: str | None = None) -> User | None:
    """Set the new password: every session ends and every token of the person is revoked (who
    recovers an account may be taking it back), and the address is told. None if the recovery
    was used meanwhile."""
    if not EmailCode.objects.filter(pk=row.pk, used__isnull=True, expires__gt=timezone.now()).update(
        used=timezone.now()
    ):
        return None
    user = row.user
    user.set_password(password)
    user.email_verified = True  # they read the message sent to it
    user.locked_until = None
    user.save(update_fields=["password", "email_verified", "locked_until", "updated_at"])
    withdraw_access(user)
    audit_record(event="recovery.completed", actor=user, subject=user.email, ip_address=ip_address)
    mail.send(
        to=user.email,
        kind="password_changed",
        context={"email": user.email, "when": timezone.now(), "recovery_link": _page_uri(Purpose.RECOVER)},
    )
    return user


# --- Registration ------------------------------------------------------------------------------


def registration_taken(*, email: str) -> Sent:
    """Someone registered with an address that has an account: its owner is told (with a way to
    recover it), and the page says what it says for a new account (the caller audits and
    throttles it: ciam.accounts.services.registration_refused_record)."""
    user = User.objects.filter(email=normalize_email(email)).first()
    if user is None or not user.is_active:
        return _unknown_flow()
    mail.send(
        to=user.email,
        kind="registration_attempt",
        context={"email": user.email, "recovery_link": _page_uri(Purpose.RECOVER)},
    )
    return _unknown_flow()


# --- The person's own settings (/account) ------------------------------------------------------


def email_change_request(*, user: User, email: str, ip_address: str | None) -> Sent:
    """Send a verification message to the new address `email`; it replaces the current one once
    verified. The same answer if another account has it (then nothing is sent)."""
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        return _unknown_flow()
    return verification_send(user=user, email=email, ip_address=ip_address)


@transaction.atomic
def password_change(*, user: User, password: str, keep_session: str) -> None:
    """The person's new password: every other session ends (this one, `keep_session`, stays),
    and the address is told."""
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    Session.objects.filter(user=user).exclude(session_key=keep_session).delete()
    audit_record(event="user.password_set", actor=user, subject=user.email)
    mail.send(
        to=user.email,
        kind="password_changed",
        context={"email": user.email, "when": timezone.now(), "recovery_link": _page_uri(Purpose.RECOVER)},
    )


@transaction.atomic
def account_delete(*, user: User, ip_address: str | None) -> None:
    """The person deletes their account: sessions, tokens, consents and the identity go; the
    audit log keeps a row without the address (a digest of it, to answer "was this me?")."""
    keep_an_administrator(user, "deleting it")
    digest = token_checksum(user.email)[:16]
    withdraw_access(user)
    user.delete()
    audit_record(
        event="user.deleted",
        actor_label="the person (self-service)",
        ip_address=ip_address,
        detail={"address_digest": digest},
    )


def account_export(user: User) -> dict:
    """Everything kept about the person, as JSON: profile, consents, sessions, tokens (what they
    are for, never their values) and the audit log's rows about them."""

    def stamp(value):
        return value.isoformat() if value else None

    return {
        "profile": {
            "id": str(user.pk),
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "picture": user.picture,
            "locale": user.locale,
            "zoneinfo": user.zoneinfo,
            "created_at": stamp(user.date_joined),
            "updated_at": stamp(user.updated_at),
            "last_login": stamp(user.last_login),
        },
        "consents": [
            {
                "client_id": consent.client.client_id,
                "client_name": consent.client.name,
                "scopes": consent.scopes,
                "granted_at": stamp(consent.granted_at),
                "remembered": consent.remember,
            }
            for consent in user.consents.select_related("client")
        ],
        # Second factors as an administrator sees them: never a key, a code or a public key.
        "sign_in_methods": {kind: factors.credentials_of(user, kind) for kind in factors.CREDENTIAL_TYPES},
        "sessions": [
            {
                "signed_in_at": stamp(session.signed_in_at),
                "last_seen": stamp(session.last_seen),
                "ip_address": session.ip_address,
                "user_agent": session.user_agent,
                "expires": stamp(session.expire_date),
            }
            for session in Session.objects.filter(user=user)
        ],
        "tokens": [
            {
                "client_id": token.application.client_id if token.application else None,
                "scope": token.scope,
                "created": stamp(token.created),
                "expires": stamp(token.expires),
            }
            for token in user.oauth_accesstoken.select_related("application")
        ],
        "audit": [
            {
                "at": stamp(event.at),
                "event": event.event,
                "ip_address": event.ip_address,
                "detail": event.detail,
            }
            for event in AuditEvent.objects.filter(subject=user.email).order_by("-at")[:1000]
        ],
    }

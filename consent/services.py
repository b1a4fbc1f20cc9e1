"""Rules for the person's side: sign-in throttling and lockout, registration, consents.

Every success, failure, lockout and consent decision is written to the audit log in the same
transaction as the change it records.
"""

import math
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ciam.accounts.models import User
from ciam.audit.services import audit_record
from ciam.oauth.models import AccessToken, Grant, RefreshToken
from consent.models import AccountLock, Consent, LoginFailure


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()[:254]


# --- Sign-in throttling ------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """A refusal to even check a password: retry after `retry_after` seconds."""

    retry_after: int
    reason: str  # "account" (this e-mail is locked) or "ip" (this address tried too much)


def _seconds_until(moment) -> int:
    return max(1, math.ceil((moment - timezone.now()).total_seconds()))


@dataclass(frozen=True)
class SignInCheck:
    """What a sign-in attempt must know before its password is checked."""

    throttle: Throttle | None  # not None: refuse without checking the password
    failures_on_record: bool  # failed sign-ins are counted for this e-mail (a success clears them)


def sign_in_check(*, email: str, ip_address: str | None) -> SignInCheck:
    """Whether a sign-in attempt for `email` from `ip_address` may be checked at all, and whether
    failures are on record for it, in one statement: a lock on the e-mail, the address's recent
    failures, and the e-mail's failures (only a lock or too many failures read more)."""
    email = normalize_email(email)
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)
    ops, quote = connection.ops, connection.ops.quote_name
    locks, failures = quote(AccountLock._meta.db_table), quote(LoginFailure._meta.db_table)
    email_c, until_c, ip_c, at_c = (quote(name) for name in ("email", "until", "ip_address", "at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS(SELECT 1 FROM {locks} WHERE {email_c} = %s AND {until_c} > %s), "
            f"(SELECT COUNT(*) FROM {failures} WHERE {ip_c} = %s AND {at_c} > %s), "
            f"EXISTS(SELECT 1 FROM {failures} WHERE {email_c} = %s)",
            [
                email,
                ops.adapt_datetimefield_value(now),
                ops.adapt_ipaddressfield_value(ip_address),
                ops.adapt_datetimefield_value(window_start),
                email,
            ],
        )
        locked, recent_from_ip, failures_on_record = cursor.fetchone()
    throttle = None
    if locked:
        lock = AccountLock.objects.filter(email=email, until__gt=now).first()
        if lock is not None:
            throttle = Throttle(retry_after=_seconds_until(lock.until), reason="account")
    if throttle is None and ip_address and recent_from_ip >= settings.CIAM_LOGIN_IP_MAX_FAILURES:
        throttle = ip_throttle(ip_address)
    return SignInCheck(throttle=throttle, failures_on_record=bool(failures_on_record))


def ip_throttle(ip_address: str | None) -> Throttle | None:
    """Whether `ip_address` has had too many refused sign-ins or registrations lately."""
    if not ip_address:
        return None
    window_start = timezone.now() - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)
    recent = LoginFailure.objects.filter(ip_address=ip_address, at__gt=window_start)
    if recent.count() < settings.CIAM_LOGIN_IP_MAX_FAILURES:
        return None
    oldest = recent.order_by("at").values_list("at", flat=True).first()
    return Throttle(
        retry_after=_seconds_until(oldest + timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)),
        reason="ip",
    )


@transaction.atomic
def login_failure_record(*, email: str, ip_address: str | None) -> Throttle | None:
    """Count a failed sign-in; lock the e-mail after too many. Returns the lock if one began."""
    email = normalize_email(email)
    now = timezone.now()
    LoginFailure.objects.create(email=email, ip_address=ip_address, at=now)
    audit_record(event="login.failed", actor_label="anonymous", subject=email, ip_address=ip_address)
    window_start = now - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)
    failures = LoginFailure.objects.filter(email=email, at__gt=window_start).count()
    if failures < settings.CIAM_LOGIN_MAX_FAILURES:
        return None
    until = now + timedelta(seconds=settings.CIAM_LOGIN_LOCKOUT)
    AccountLock.objects.update_or_create(email=email, defaults={"until": until})
    # The failures that caused this lock are spent: after it, the count starts again.
    LoginFailure.objects.filter(email=email).delete()
    audit_record(
        event="login.locked",
        actor_label="system",
        subject=email,
        ip_address=ip_address,
        detail={"failures": failures, "locked_until": until.isoformat()},
    )
    return Throttle(retry_after=_seconds_until(until), reason="account")


def login_success_record(
    *, user: User, ip_address: str | None, method: str = "pwd", failures_on_record: bool = True
) -> None:
    """Record a sign-in, and clear the e-mail's failed attempts (only when some are on record, as
    sign_in_check() found: otherwise the audit event is the one statement, atomic by itself)."""
    with transaction.atomic() if failures_on_record else nullcontext():
        if failures_on_record:
            LoginFailure.objects.filter(email=user.email).delete()
        audit_record(
            event="login.succeeded",
            actor=user,
            subject=user.email,
            ip_address=ip_address,
            detail={"amr": [method]},
        )


@transaction.atomic
def account_unlock(*, email: str, actor: Any = None, actor_label: str = "") -> None:
    email = normalize_email(email)
    AccountLock.objects.filter(email=email).delete()
    LoginFailure.objects.filter(email=email).delete()
    User.objects.filter(email=email).update(locked_until=None)
    audit_record(event="login.unlocked", actor=actor, actor_label=actor_label, subject=email)


# --- Registration -----------------------------------------------------------------------------


@transaction.atomic
def registration_refused_record(*, email: str, ip_address: str | None) -> None:
    """A registration for an e-mail that already has an account.

    Registration has to say so (it signs the new account in; there is no e-mail round trip that
    could hide it), so such answers count against the caller's address like failed sign-ins
    (CIAM_LOGIN_IP_MAX_FAILURES per window): nobody can test e-mail addresses in bulk. The
    account itself is not counted towards a lock, which would let anyone lock others out.
    """
    LoginFailure.objects.create(email="", ip_address=ip_address)
    audit_record(
        event="registration.refused",
        actor_label="anonymous",
        subject=normalize_email(email),
        ip_address=ip_address,
        detail={"reason": "duplicate_email"},
    )


@transaction.atomic
def user_register(*, email: str, password: str, ip_address: str | None = None) -> User:
    """Create an account (the form has validated the password and the e-mail's uniqueness)."""
    user = User.objects.create_user(email=normalize_email(email), password=password)
    audit_record(event="user.registered", actor=user, subject=user.email, ip_address=ip_address)
    return user


# --- Consents ---------------------------------------------------------------------------------


@transaction.atomic
def consent_grant(
    *, user: User, client, scopes: list[str], remember: bool, ip_address: str | None = None
) -> Consent:
    """Record that `user` allowed `client` these scopes; remembered if `remember`.

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
def user_client_tokens_revoke(*, user: User, client) -> int:
    """Revoke every token and pending code `client` holds for `user`."""
    RefreshToken.objects.filter(user=user, application=client, revoked__isnull=True).update(
        revoked=timezone.now(), access_token=None
    )
    access, _ = AccessToken.objects.filter(user=user, application=client).delete()
    Grant.objects.filter(user=user, application=client).delete()
    return access


@transaction.atomic
def consent_revoke(
    *, user: User, client, actor: Any = None, actor_label: str = "", ip_address: str | None = None
) -> None:
    """Withdraw a person's consent to a client, and with it every token the client holds for them."""
    Consent.objects.filter(user=user, client=client).delete()
    revoked = user_client_tokens_revoke(user=user, client=client)
    audit_record(
        event="consent.revoked",
        actor=actor or user,
        actor_label=actor_label,
        client_id=client.client_id,
        subject=user.email,
        ip_address=ip_address,
        detail={"access_tokens_revoked": revoked},
    )

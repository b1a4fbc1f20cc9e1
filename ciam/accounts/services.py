"""Writes to identities, and the rules of signing in. The console, the admin API, the sign-in
pages and the management commands call these; each change is audited in its own transaction."""

import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ciam.accounts import throttle
from ciam.accounts.models import AccountLock, FailedAttempt, User
from ciam.accounts.sessions import Session
from ciam.accounts.signals import access_withdrawn
from ciam.accounts.throttle import Throttle
from ciam.audit.services import audit_record

# An administrator's lock has no natural end: until someone unlocks the account.
LOCKED_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
SIGN_IN = FailedAttempt.Kind.SIGN_IN
# What counts against an address: wrong passwords and registrations for taken addresses alike,
# so addresses cannot be tested in bulk through either.
_PER_ADDRESS = (FailedAttempt.Kind.SIGN_IN, FailedAttempt.Kind.REGISTRATION)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()[:254]


def _clean_email(email: str) -> str:
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": ["Enter a valid e-mail address."]}) from exc
    return email


# --- Identities ---------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: Any,
    email: str,
    password: str | None = None,
    name: str = "",
    given_name: str = "",
    family_name: str = "",
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    """Create an identity. Without a password it cannot sign in until one is set."""
    email = _clean_email(email)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["An account with this e-mail address already exists."]})
    names = {
        "name": name.strip()[:200],
        "given_name": given_name.strip()[:100],
        "family_name": family_name.strip()[:100],
    }
    candidate = User(email=email, **names)
    if password:
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
    user = User.objects.create_user(
        email=email,
        password=password or None,
        **names,
        is_staff=is_staff,
        email_verified=email_verified,
    )
    audit_record(event="user.created", actor=actor, subject=email, detail={"is_staff": is_staff})
    return user


@transaction.atomic
def user_update(*, actor: Any, user: User, **fields: Any) -> User:
    allowed = {
        "name",
        "given_name",
        "family_name",
        "picture",
        "locale",
        "zoneinfo",
        "email_verified",
        "is_staff",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    if fields.get("is_staff") is False:
        keep_an_administrator(user, "taking its administrator role")
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()
    audit_record(event="user.updated", actor=actor, subject=user.email, detail={"fields": sorted(fields)})
    return user


@transaction.atomic
def user_set_password(*, actor: Any, user: User, password: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    audit_record(event="user.password_set", actor=actor, subject=user.email)


def keep_an_administrator(user: User, change: str) -> None:
    """Refuse a change that would leave the deployment without an active, unlocked staff account
    (nobody could sign in to the console again)."""
    if not (user.is_staff and user.is_active and not user.is_locked()):
        return
    others = User.objects.filter(is_staff=True, is_active=True).exclude(pk=user.pk)
    others = others.filter(Q(locked_until__isnull=True) | Q(locked_until__lte=timezone.now()))
    if not others.exists():
        raise ValidationError(
            {
                "": [
                    f"{user.email} is the last active administrator: {change} would leave nobody able to "
                    "sign in to the console. Make another account an administrator first."
                ]
            }
        )


def withdraw_access(user: User) -> None:
    """End the person's sessions everywhere, and have every token issued to them revoked."""
    Session.objects.filter(user=user).delete()
    access_withdrawn.send(sender=User, user=user)


@transaction.atomic
def user_lock(*, actor: Any, user: User) -> None:
    """Lock an account until unlocked: it cannot sign in, and its sessions and tokens end."""
    keep_an_administrator(user, "locking it")
    user.locked_until = LOCKED_FOREVER
    user.save(update_fields=["locked_until", "updated_at"])
    withdraw_access(user)
    audit_record(event="user.locked", actor=actor, subject=user.email)


@transaction.atomic
def user_unlock(*, actor: Any, user: User) -> None:
    """Lift an administrator's lock and any sign-in throttling lock."""
    user.locked_until = None
    user.save(update_fields=["locked_until", "updated_at"])
    AccountLock.objects.filter(email=user.email).delete()
    throttle.clear(SIGN_IN, key=user.email)
    audit_record(event="user.unlocked", actor=actor, subject=user.email)


@transaction.atomic
def user_set_active(*, actor: Any, user: User, active: bool) -> None:
    if not active:
        keep_an_administrator(user, "deactivating it")
    user.is_active = active
    user.save(update_fields=["is_active", "updated_at"])
    if not active:
        withdraw_access(user)
    audit_record(event="user.activated" if active else "user.deactivated", actor=actor, subject=user.email)


@transaction.atomic
def user_delete(*, actor: Any, user: User) -> None:
    """Delete an identity with its sessions, tokens and consents (the audit log keeps its e-mail)."""
    keep_an_administrator(user, "deleting it")
    email = user.email
    withdraw_access(user)
    user.delete()
    audit_record(event="user.deleted", actor=actor, subject=email)


# --- Signing in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignInCheck:
    """What a sign-in attempt must know before its password is checked."""

    throttle: Throttle | None  # not None: refuse without checking the password
    failures_on_record: bool = True  # failed sign-ins for this e-mail count (a success clears them)


def _active_lock(email: str) -> AccountLock | None:
    return AccountLock.objects.filter(email=email, until__gt=timezone.now()).first()


def address_throttle(ip_address: str | None) -> Throttle | None:
    """Whether `ip_address` has had too many refused sign-ins or registrations lately."""
    if not ip_address:
        return None
    wait = throttle.retry_after(
        _PER_ADDRESS,
        limit=settings.CIAM_LOGIN_IP_MAX_FAILURES,
        window=settings.CIAM_LOGIN_FAILURE_WINDOW,
        ip_address=ip_address,
    )
    return Throttle(retry_after=wait, reason="ip") if wait else None


def sign_in_check(*, email: str, ip_address: str | None) -> SignInCheck:
    """Whether a sign-in attempt for `email` from `ip_address` may be checked at all: not while
    the e-mail is locked, nor while the address has failed too often; and whether failures of
    the e-mail are on record (a success then clears them)."""
    email = normalize_email(email)
    lock = _active_lock(email)
    if lock is not None:
        return SignInCheck(
            throttle=Throttle(retry_after=throttle.seconds_until(lock.until), reason="account")
        )
    # Both counts of the window in one query; the wait is worked out only for an address over it.
    window_start = timezone.now() - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)
    counts = FailedAttempt.objects.filter(kind__in=_PER_ADDRESS, at__gt=window_start).aggregate(
        for_address=Count("pk", filter=Q(ip_address=ip_address)),
        for_email=Count("pk", filter=Q(kind=SIGN_IN, key=email)),
    )
    over = bool(ip_address) and counts["for_address"] >= settings.CIAM_LOGIN_IP_MAX_FAILURES
    return SignInCheck(
        throttle=address_throttle(ip_address) if over else None,
        failures_on_record=bool(counts["for_email"]),
    )


@transaction.atomic
def login_failure_record(*, email: str, ip_address: str | None) -> Throttle | None:
    """Count a failed sign-in; lock the e-mail after too many. Returns the lock if one began."""
    email = normalize_email(email)
    throttle.record_failure(SIGN_IN, key=email, ip_address=ip_address)
    audit_record(event="login.failed", actor_label="anonymous", subject=email, ip_address=ip_address)
    previous = AccountLock.objects.filter(email=email).first()
    failures = throttle.count(
        [SIGN_IN],
        key=email,
        window=settings.CIAM_LOGIN_FAILURE_WINDOW,
        # The failures that caused an earlier lock are spent: after it, the count starts again.
        since=previous.since if previous else None,
    )
    if failures < settings.CIAM_LOGIN_MAX_FAILURES:
        return None
    now = timezone.now()
    until = now + timedelta(seconds=settings.CIAM_LOGIN_LOCKOUT)
    AccountLock.objects.update_or_create(email=email, defaults={"since": now, "until": until})
    audit_record(
        event="login.locked",
        actor_label="system",
        subject=email,
        ip_address=ip_address,
        detail={"failures": failures, "locked_until": until.isoformat()},
    )
    return Throttle(retry_after=throttle.seconds_until(until), reason="account")


def login_success_record(
    *, user: User, ip_address: str | None, amr: list[str] | None = None, failures_on_record: bool = True
) -> None:
    """Record a sign-in, and forget the e-mail's failed attempts (in one transaction; when none
    are on record, as sign_in_check() found, the audit row is the one write)."""
    with transaction.atomic() if failures_on_record else nullcontext():
        if failures_on_record:
            throttle.clear(SIGN_IN, key=user.email)
        audit_record(
            event="login.succeeded",
            actor=user,
            subject=user.email,
            ip_address=ip_address,
            detail={"amr": amr or ["pwd"]},
        )


@transaction.atomic
def registration_refused_record(*, email: str, ip_address: str | None) -> None:
    """A registration for an e-mail that already has an account.

    Registration has to say so (it signs the new account in; there is no e-mail round trip that
    could hide it), so such answers count against the caller's address like failed sign-ins
    (CIAM_LOGIN_IP_MAX_FAILURES per window): nobody can test e-mail addresses in bulk. The
    account itself is not counted towards a lock, which would let anyone lock others out.
    """
    throttle.record_failure(FailedAttempt.Kind.REGISTRATION, ip_address=ip_address)
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


SUBJECT_EMAIL_DOMAIN = "subjects.invalid"  # RFC 2606: never a real address


def user_for_subject(subject: str) -> User:
    """The identity a login app's `subject` names: a local identity whose ID it is, or the one
    that app signed in before under that subject, else a new one for it (with a placeholder
    address, no password: it can only sign in through that app)."""
    try:
        local = User.objects.filter(pk=uuid.UUID(subject), subject__isnull=True).first()
    except ValueError:
        local = None
    if local is not None:
        return local
    user, created = User.objects.get_or_create(
        subject=subject,
        defaults={"email": f"{uuid.uuid4().hex}@{SUBJECT_EMAIL_DOMAIN}"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit_record(event="user.created", actor=None, actor_label="login-provider", subject=subject)
    return user


@transaction.atomic
def sessions_end(*, actor: Any, user: User | None = None, sid: str = "") -> int:
    """End sign-in sessions: every one of `user`, or the one login session `sid` (both: that one,
    if it is that person's). Tokens stay valid (as Hydra's revokeOAuth2LoginSessions): the person
    must sign in again for new ones. Returns how many ended."""
    sessions = Session.objects.all()
    if user is not None:
        sessions = sessions.filter(user=user)
    if sid:
        sessions = sessions.filter(sid=sid)
    if user is None and not sid:
        raise ValidationError({"subject": ["Give subject or sid."]})
    ended, _ = sessions.delete()
    audit_record(
        event="sessions.ended",
        actor=actor,
        subject=user.email if user is not None else "",
        detail={"sid": sid, "count": ended} if sid else {"count": ended},
    )
    return ended


@transaction.atomic
def sessions_end_these(*, actor: Any, user: User, sessions) -> int:
    """End the sessions of the queryset `sessions` (the person's own, chosen by them)."""
    ended, _ = sessions.filter(user=user).delete()
    audit_record(event="sessions.ended", actor=actor, subject=user.email, detail={"count": ended})
    return ended

"""Writes to identities. The console (and, later, the admin API) call these; each is audited."""

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ciam.accounts.models import User
from ciam.audit.services import audit_record
from ciam.oauth.models import AccessToken, RefreshToken

# An administrator's lock has no natural end: until someone unlocks the account.
LOCKED_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": ["Enter a valid e-mail address."]}) from exc
    return email


@transaction.atomic
def user_create(
    *,
    actor: Any,
    email: str,
    password: str | None = None,
    name: str = "",
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    """Create an identity. Without a password it cannot sign in until one is set."""
    email = _clean_email(email)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["An account with this e-mail address already exists."]})
    candidate = User(email=email, name=name.strip()[:200])
    if password:
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
    user = User.objects.create_user(
        email=email,
        password=password or None,
        name=name.strip()[:200],
        is_staff=is_staff,
        email_verified=email_verified,
    )
    audit_record(event="user.created", actor=actor, subject=email, detail={"is_staff": is_staff})
    return user


@transaction.atomic
def user_update(*, actor: Any, user: User, **fields: Any) -> User:
    allowed = {"name", "given_name", "family_name", "email_verified", "is_staff"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
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


def _end_sessions_and_tokens(user: User) -> None:
    from django.contrib.sessions.models import Session

    RefreshToken.objects.filter(user=user, revoked__isnull=True).update(
        revoked=timezone.now(), access_token=None
    )
    AccessToken.objects.filter(user=user).delete()
    # Sessions are signed blobs; decoding each is the only way to find a user's (admin action, rare).
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


@transaction.atomic
def user_lock(*, actor: Any, user: User) -> None:
    """Lock an account until unlocked: it cannot sign in, and its sessions and tokens end."""
    user.locked_until = LOCKED_FOREVER
    user.save(update_fields=["locked_until", "updated_at"])
    _end_sessions_and_tokens(user)
    audit_record(event="user.locked", actor=actor, subject=user.email)


@transaction.atomic
def user_unlock(*, actor: Any, user: User) -> None:
    """Lift an administrator's lock and any sign-in throttling lock."""
    from consent.models import AccountLock, LoginFailure

    user.locked_until = None
    user.save(update_fields=["locked_until", "updated_at"])
    AccountLock.objects.filter(email=user.email).delete()
    LoginFailure.objects.filter(email=user.email).delete()
    audit_record(event="user.unlocked", actor=actor, subject=user.email)


@transaction.atomic
def user_set_active(*, actor: Any, user: User, active: bool) -> None:
    user.is_active = active
    user.save(update_fields=["is_active", "updated_at"])
    if not active:
        _end_sessions_and_tokens(user)
    audit_record(event="user.activated" if active else "user.deactivated", actor=actor, subject=user.email)


@transaction.atomic
def user_delete(*, actor: Any, user: User) -> None:
    """Delete an identity with its tokens and consents (the audit log keeps its e-mail)."""
    email = user.email
    _end_sessions_and_tokens(user)
    user.delete()
    audit_record(event="user.deleted", actor=actor, subject=email)

"""Second factors: an authenticator app (TOTP, RFC 6238, with pyotp), single-use recovery codes,
and passkeys (WebAuthn, with py_webauthn), which also sign in on their own.

Every check here counts a refusal against the person (the one throttle, ciam.accounts.throttle:
CIAM_LOGIN_MAX_FAILURES within CIAM_LOGIN_FAILURE_WINDOW, then a wait), and every change and
refusal is audited in the transaction that makes it. Nothing secret is kept in clear: the TOTP key
is encrypted, recovery codes are keyed digests, a passkey is its public key.

Which levels a sign-in reaches (the ID token's `acr`, ciam.accounts.authn): "1" a password, "2"
a password and a second factor, or a user-verifying passkey alone. `amr` values are RFC 8176's.
"""

import base64
import binascii
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pyotp
import segno
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ciam.accounts import mail, throttle
from ciam.accounts.models import FailedAttempt, Passkey, RecoveryCode, TotpFactor, User
from ciam.audit.services import audit_record
from ciam.lib.crypto import fernet, keyed_digest

SECOND_FACTOR = FailedAttempt.Kind.SECOND_FACTOR
# The credential types of the admin API (Ory Kratos' names), in the order pages list them.
CREDENTIAL_TYPES = ("totp", "passkey", "lookup_secret")
RECOVERY_CODE_COUNT = 10
# What a passkey ceremony may take before its challenge is spent (milliseconds, for the browser).
CEREMONY_TIMEOUT_MS = 300_000


class FactorError(Exception):
    """A second factor was refused; the message says why, for the person."""


def enabled() -> bool:
    return settings.CIAM_MFA != "off"


# --- Throttling ---------------------------------------------------------------------------------


def wait_before_check(user: User) -> int:
    """Seconds before another code or passkey may be checked for `user` (0: now)."""
    return throttle.retry_after(
        [SECOND_FACTOR],
        limit=settings.CIAM_LOGIN_MAX_FAILURES,
        window=settings.CIAM_LOGIN_FAILURE_WINDOW,
        key=str(user.pk),
    )


@transaction.atomic
def refused(user: User, *, method: str, reason: str, ip_address: str | None) -> int:
    """Count and audit a refused second factor; the seconds to wait if it made the person
    locked out (audited once, when it begins), else 0."""
    throttle.record_failure(SECOND_FACTOR, key=str(user.pk), ip_address=ip_address)
    audit_record(
        event="mfa.failed",
        actor_label="anonymous",
        subject=user.email,
        ip_address=ip_address,
        detail={"method": method, "reason": reason},
    )
    wait = wait_before_check(user)
    if wait:
        audit_record(
            event="mfa.locked",
            actor_label="system",
            subject=user.email,
            ip_address=ip_address,
            detail={"retry_after": wait},
        )
    return wait


# --- What a person has ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Factors:
    totp: TotpFactor | None  # confirmed only
    passkeys: list[Passkey]
    recovery_codes_left: int
    recovery_codes_created: Any  # when the current set was made, or None

    @property
    def any(self) -> bool:
        """A second factor to sign in with (recovery codes only stand in for one)."""
        return self.totp is not None or bool(self.passkeys)

    def summary(self) -> list[str]:
        names = []
        if self.totp is not None:
            names.append("Authenticator app")
        if self.passkeys:
            names.append(f"{len(self.passkeys)} passkey{'s' if len(self.passkeys) != 1 else ''}")
        if self.recovery_codes_left:
            names.append(f"{self.recovery_codes_left} recovery codes")
        return names


def factors_of(user: User) -> Factors:
    codes = list(RecoveryCode.objects.filter(user=user).values_list("used", "created"))
    return Factors(
        totp=TotpFactor.objects.filter(user=user, confirmed__isnull=False).first(),
        passkeys=list(Passkey.objects.filter(user=user).order_by("created")),
        recovery_codes_left=sum(1 for used, _ in codes if used is None),
        recovery_codes_created=min((created for _, created in codes), default=None),
    )


def has_second_factor(user: User) -> bool:
    """Whether `user` has an authenticator app or a passkey (one query)."""
    return (
        User.objects.filter(pk=user.pk)
        .filter(Q(totp__confirmed__isnull=False) | Q(passkeys__isnull=False))
        .exists()
    )


def annotate_second_factor(users):
    """`users` with `has_totp` and `has_passkey` (for lists: no query per person)."""
    return users.annotate(
        has_totp=Exists(TotpFactor.objects.filter(user=OuterRef("pk"), confirmed__isnull=False)),
        has_passkey=Exists(Passkey.objects.filter(user=OuterRef("pk"))),
    )


def _changed(user: User, *, event: str, what: str, actor: Any, ip_address: str | None, detail=None) -> None:
    """Audit a change of the person's factors and tell them by e-mail."""
    audit_record(event=event, actor=actor, subject=user.email, ip_address=ip_address, detail=detail or {})
    mail.send(
        to=user.email,
        kind="factor_changed",
        context={
            "email": user.email,
            "what": what,
            "when": timezone.now(),
            "security_link": settings.CIAM_ISSUER + reverse("accounts:account-security"),
            "by_admin": actor is not None and actor != user,
        },
    )


# --- Authenticator app (TOTP) -------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, interval=30, digits=6, issuer=settings.CIAM_SITE_NAME)


def seal_totp_secret(secret: str) -> str:
    """The form a TOTP key is stored in (encrypted with a key derived for this purpose)."""
    return fernet("totp-secret", settings.CIAM_KEY_ENCRYPTION_SECRET).encrypt(secret.encode()).decode()


def _unseal(row: TotpFactor) -> str:
    return fernet("totp-secret", settings.CIAM_KEY_ENCRYPTION_SECRET).decrypt(row.secret.encode()).decode()


@dataclass(frozen=True)
class TotpSetup:
    key: str  # base32, in groups of four for typing
    uri: str  # otpauth://
    qr_svg: str  # an <svg> element


def totp_setup(user: User) -> TotpSetup:
    """The key being set up for `user`: the same until confirmed, so a reload shows the same code."""
    row = TotpFactor.objects.filter(user=user).first()
    if row is not None and row.confirmed is not None:
        raise ValidationError("An authenticator app is already set up; remove it first.")
    if row is None:
        row = TotpFactor.objects.create(user=user, secret=seal_totp_secret(pyotp.random_base32(32)))
    secret = _unseal(row)
    uri = _totp(secret).provisioning_uri(name=user.email)
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=2, dark="#111827", light="#ffffff", omitsize=True
    )
    return TotpSetup(key=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), uri=uri, qr_svg=svg)


def _step_of(secret: str, code: str, now: float) -> int | None:
    """The time step `code` is the code of, within one step of drift either way, or None."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = _totp(secret)
    matched = None
    for drift in (-1, 0, 1):
        moment = now + drift * totp.interval
        if hmac.compare_digest(totp.at(moment), code):
            matched = totp.timecode(datetime.fromtimestamp(int(moment), tz=UTC))
    return matched


@transaction.atomic
def totp_confirm(*, user: User, code: str, ip_address: str | None) -> list[str] | None:
    """Confirm the key being set up with its first code: None if the code is wrong (counted);
    else the new recovery codes, if the person had none (to show once), or []."""
    row = TotpFactor.objects.select_for_update().filter(user=user, confirmed__isnull=True).first()
    if row is None:
        raise ValidationError("There is no authenticator app being set up.")
    step = _step_of(_unseal(row), code, time.time())
    if step is None:
        refused(user, method="totp", reason="wrong_code", ip_address=ip_address)
        return None
    row.confirmed = row.last_used = timezone.now()
    row.last_step = step
    row.save(update_fields=["confirmed", "last_used", "last_step"])
    _changed(
        user,
        event="mfa.totp_added",
        what="An authenticator app was set up",
        actor=user,
        ip_address=ip_address,
    )
    return _first_recovery_codes(user, ip_address)


def totp_check(*, user: User, code: str) -> bool:
    """Whether `code` is the person's current code, not used before (it is then spent)."""
    row = TotpFactor.objects.filter(user=user, confirmed__isnull=False).first()
    if row is None:
        return False
    step = _step_of(_unseal(row), code, time.time())
    if step is None:
        return False
    # Spent by the same write that checks it was not: two requests with one code cannot both pass.
    return bool(
        TotpFactor.objects.filter(pk=row.pk, last_step__lt=step).update(
            last_step=step, last_used=timezone.now()
        )
    )


# --- Recovery codes -----------------------------------------------------------------------------

_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _normal_code(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())[:32]


def _code_digest(user: User, code: str) -> str:
    return keyed_digest(f"{user.pk}:{_normal_code(code)}", "recovery-code")


def _new_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=_code_digest(user, c)) for c in codes)
    return codes


def _first_recovery_codes(user: User, ip_address: str | None) -> list[str]:
    if RecoveryCode.objects.filter(user=user, used__isnull=True).exists():
        return []
    codes = _new_codes(user)
    audit_record(event="mfa.recovery_codes_created", actor=user, subject=user.email, ip_address=ip_address)
    return codes


@transaction.atomic
def recovery_codes_renew(*, user: User, ip_address: str | None) -> list[str]:
    """A new set of recovery codes (the old ones stop working), to show once."""
    if not has_second_factor(user):
        raise ValidationError("Set up an authenticator app or a passkey first.")
    codes = _new_codes(user)
    _changed(
        user,
        event="mfa.recovery_codes_created",
        what="New recovery codes were made; the old ones no longer work",
        actor=user,
        ip_address=ip_address,
    )
    return codes


@transaction.atomic
def recovery_code_use(*, user: User, code: str, ip_address: str | None) -> bool:
    """Spend one of the person's recovery codes; audited, and the person is told."""
    spent = RecoveryCode.objects.filter(user=user, digest=_code_digest(user, code), used__isnull=True).update(
        used=timezone.now()
    )
    if not spent:
        return False
    left = RecoveryCode.objects.filter(user=user, used__isnull=True).count()
    _changed(
        user,
        event="mfa.recovery_code_used",
        what=f"A recovery code was used to sign in ({left} left)",
        actor=user,
        ip_address=ip_address,
        detail={"left": left},
    )
    return True


# --- Passkeys (WebAuthn) ------------------------------------------------------------------------


def rp_id() -> str:
    """The relying party: the issuer's host name."""
    return urlsplit(settings.CIAM_ISSUER).hostname or "localhost"


def expected_origin() -> str:
    parts = urlsplit(settings.CIAM_ISSUER)
    return f"{parts.scheme}://{parts.netloc}"


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=_b64decode(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in p.transports if t in known] or None,
        )
        for p in Passkey.objects.filter(user=user)
    ]


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def registration_options(user: User) -> tuple[str, bytes]:
    """The browser's options to create a passkey for `user` (JSON), and their challenge."""
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=settings.CIAM_SITE_NAME,
        user_id=user.pk.bytes,
        user_name=user.email,
        user_display_name=user.get_full_name(),
        timeout=CEREMONY_TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(user),
    )
    return options_to_json(options), options.challenge


def authentication_options(user: User | None) -> tuple[str, bytes]:
    """The browser's options to sign in with a passkey: any of this service's (user None, the
    first factor: user verification required), or one of `user`'s (the second factor)."""
    options = generate_authentication_options(
        rp_id=rp_id(),
        timeout=CEREMONY_TIMEOUT_MS,
        allow_credentials=_descriptors(user) if user is not None else [],
        user_verification=UserVerificationRequirement.REQUIRED
        if user is None
        else UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


# py_webauthn's refusals, in words for the person (matched on the start of its message).
_REFUSALS = (
    (
        "Client data challenge was not expected",
        "challenge",
        "This passkey answer belongs to another attempt. Try again.",
    ),
    ("Unexpected client data origin", "origin", "This passkey answer was made for another website."),
    ("Unexpected RP ID hash", "rp_id", "This passkey answer was made for another website."),
    (
        "User verification is required",
        "user_verification",
        "Your device must check it is you (PIN, fingerprint or face).",
    ),
    (
        "Response sign count",
        "sign_count",
        "This passkey's counter went backwards: it may have been copied. Use another way to sign in.",
    ),
    (
        "Could not verify authentication signature",
        "signature",
        "The passkey's signature is not right. Try again.",
    ),
)


# What py_webauthn raises for an answer it refuses, or one too malformed to read.
_REFUSED_ANSWER = (WebAuthnException, ValueError, KeyError, TypeError, binascii.Error)


def _refusal(exc: Exception) -> tuple[str, str]:
    text = str(exc)
    for start, reason, message in _REFUSALS:
        if text.startswith(start):
            return reason, message
    return "invalid", "The passkey's answer could not be verified. Try again."


def _parsed(credential: str) -> dict:
    try:
        data = json.loads(credential)
    except (TypeError, ValueError) as exc:
        raise FactorError("The passkey's answer is not readable. Try again.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise FactorError("The passkey's answer is not readable. Try again.")
    return data


@transaction.atomic
def passkey_register(
    *, user: User, credential: str, challenge: bytes, name: str, ip_address: str | None
) -> tuple[Passkey, list[str]]:
    """Keep the passkey the browser created for the options of `challenge`: (the passkey, new
    recovery codes to show once if the person had none). FactorError says what is wrong."""
    name = (name or "").strip()[:64] or "Passkey"
    data = _parsed(credential)
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            require_user_verification=True,
        )
    except _REFUSED_ANSWER as exc:
        reason, message = _refusal(exc)
        audit_record(
            event="mfa.passkey_refused",
            actor=user,
            subject=user.email,
            ip_address=ip_address,
            detail={"reason": reason},
        )
        raise FactorError(message) from exc
    if Passkey.objects.filter(user=user, name=name).exists():
        raise FactorError(f"You already have a passkey named “{name}”. Choose another name.")
    transports = (data.get("response") or {}).get("transports") or []
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=name,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=[t for t in transports if isinstance(t, str)][:8],
                aaguid=str(verified.aaguid)[:36],
                backup_eligible=verified.credential_device_type == "multi_device",
                backed_up=verified.credential_backed_up,
            )
    except IntegrityError as exc:
        raise FactorError("This passkey is already registered.") from exc
    _changed(
        user,
        event="mfa.passkey_added",
        what=f"A passkey was added: {name}",
        actor=user,
        ip_address=ip_address,
        detail={"passkey": str(passkey.pk), "name": name},
    )
    return passkey, _first_recovery_codes(user, ip_address)


@dataclass(frozen=True)
class PasskeyUse:
    passkey: Passkey
    user_verified: bool

    @property
    def amr(self) -> list[str]:
        """RFC 8176: a key in hardware (bound to one device) or in software (synced), and the
        person checked by it (PIN or biometrics)."""
        return ["swk" if self.passkey.backup_eligible else "hwk"] + (["user"] if self.user_verified else [])


def passkey_check(
    *, credential: str, challenge: bytes, user: User | None, ip_address: str | None
) -> PasskeyUse:
    """Verify a passkey's answer to the options of `challenge`: one of `user`'s (a second
    factor), or anyone's with user verification (user None: a sign-in by the passkey alone).
    FactorError says what is wrong; a refusal for a known person counts against them."""
    data = _parsed(credential)
    passkey = Passkey.objects.select_related("user").filter(credential_id=data["id"][:1400]).first()
    if passkey is None:
        if user is not None:
            refused(user, method="passkey", reason="unknown_passkey", ip_address=ip_address)
        else:
            audit_record(
                event="login.failed",
                actor_label="anonymous",
                ip_address=ip_address,
                detail={"amr": ["hwk"], "reason": "unknown_passkey"},
            )
        raise FactorError("This passkey is not registered here. Sign in with your password instead.")
    owner = passkey.user
    if user is not None and owner.pk != user.pk:
        refused(user, method="passkey", reason="another_account", ip_address=ip_address)
        raise FactorError("This passkey belongs to another account.")
    if wait_before_check(owner):
        raise FactorError("Too many failed attempts. Wait a few minutes and try again.")
    try:
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=user is None,
        )
    except _REFUSED_ANSWER as exc:
        reason, message = _refusal(exc)
        refused(owner, method="passkey", reason=reason, ip_address=ip_address)
        raise FactorError(message) from exc
    Passkey.objects.filter(pk=passkey.pk).update(
        sign_count=verified.new_sign_count, backed_up=verified.credential_backed_up, last_used=timezone.now()
    )
    return PasskeyUse(passkey=passkey, user_verified=verified.user_verified)


# --- Removing factors -----------------------------------------------------------------------------


def _drop_codes_if_alone(user: User) -> None:
    """Recovery codes stand in for a factor: with none left, they go too."""
    if not has_second_factor(user):
        RecoveryCode.objects.filter(user=user).delete()


@transaction.atomic
def totp_remove(*, user: User, actor: Any, ip_address: str | None = None) -> bool:
    removed, _ = TotpFactor.objects.filter(user=user).delete()
    if removed:
        _drop_codes_if_alone(user)
        _changed(
            user,
            event="mfa.totp_removed",
            what="The authenticator app was removed",
            actor=actor,
            ip_address=ip_address,
        )
    return bool(removed)


@transaction.atomic
def passkey_remove(*, user: User, passkey_id: Any, actor: Any, ip_address: str | None = None) -> bool:
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        return False
    passkey.delete()
    _drop_codes_if_alone(user)
    _changed(
        user,
        event="mfa.passkey_removed",
        what=f"A passkey was removed: {passkey.name}",
        actor=actor,
        ip_address=ip_address,
        detail={"passkey": str(passkey_id), "name": passkey.name},
    )
    return True


@transaction.atomic
def passkey_rename(*, user: User, passkey_id: Any, name: str) -> Passkey:
    name = (name or "").strip()[:64]
    if not name:
        raise ValidationError("Give the passkey a name.")
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        raise ValidationError("This passkey no longer exists.")
    if Passkey.objects.filter(user=user, name=name).exclude(pk=passkey.pk).exists():
        raise ValidationError(f"You already have a passkey named “{name}”.")
    passkey.name = name
    passkey.save(update_fields=["name"])
    audit_record(
        event="mfa.passkey_renamed", actor=user, subject=user.email, detail={"passkey": str(passkey.pk)}
    )
    return passkey


# --- The administrator's view (the console, GET/DELETE /admin/identities/{id}/credentials/{type}) --


def _moment(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def credentials_of(user: User, kind: str) -> list[dict]:
    """What an administrator may see of the person's credentials of `kind`: never a secret."""
    if kind == "totp":
        return [
            {"id": str(row.pk), "created_at": _moment(row.confirmed), "last_used_at": _moment(row.last_used)}
            for row in TotpFactor.objects.filter(user=user, confirmed__isnull=False)
        ]
    if kind == "passkey":
        return [
            {
                "id": str(p.pk),
                "name": p.name,
                "created_at": _moment(p.created),
                "last_used_at": _moment(p.last_used),
                "backup_eligible": p.backup_eligible,
                "backed_up": p.backed_up,
                "sign_count": p.sign_count,
            }
            for p in Passkey.objects.filter(user=user).order_by("created")
        ]
    if kind == "lookup_secret":
        factors = factors_of(user)
        total = RecoveryCode.objects.filter(user=user).count()
        if not total:
            return []
        return [
            {
                "created_at": _moment(factors.recovery_codes_created),
                "remaining": factors.recovery_codes_left,
                "total": total,
            }
        ]
    raise KeyError(kind)


@transaction.atomic
def credentials_reset(*, user: User, kind: str, actor: Any) -> int:
    """An administrator removes the person's credentials of `kind` (audited; the person is told)."""
    if kind == "totp":
        removed, _ = TotpFactor.objects.filter(user=user).delete()
        what = "The authenticator app was removed by an administrator"
    elif kind == "passkey":
        removed, _ = Passkey.objects.filter(user=user).delete()
        what = "Every passkey was removed by an administrator"
    elif kind == "lookup_secret":
        removed, _ = RecoveryCode.objects.filter(user=user).delete()
        what = "The recovery codes were removed by an administrator"
    else:
        raise KeyError(kind)
    if kind != "lookup_secret":
        _drop_codes_if_alone(user)
    if removed:
        _changed(
            user,
            event="mfa.reset",
            what=what,
            actor=actor,
            ip_address=None,
            detail={"type": kind, "removed": removed},
        )
    return removed

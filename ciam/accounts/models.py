import uuid
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

# The session model lives beside its store (Django's documented pattern for a custom session
# engine); importing it here registers it with this app.
from ciam.accounts.sessions import Session  # noqa: F401


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        # E-mail addresses are stored lower-cased; logins are case-insensitive.
        return self.get(email=(username or "").strip().lower())


class User(AbstractBaseUser, PermissionsMixin):
    """An identity: the person who signs in. The e-mail address is the login.

    The primary key is a random UUID, used as the OpenID Connect `sub`: it reveals nothing
    about how many users exist or when this one signed up. An identity a login and consent app
    signed in (Hydra's login provider API) has that app's `subject` as its `sub` instead, and a
    placeholder address under `.invalid` (RFC 2606), never released as a claim.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("e-mail address", max_length=254, unique=True)
    email_verified = models.BooleanField(default=False)
    name = models.CharField(max_length=200, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    # The rest of OpenID Connect's profile claims (Core §5.1).
    picture = models.URLField(max_length=2048, blank=True)
    locale = models.CharField(max_length=35, blank=True)  # BCP 47, e.g. en-GB
    zoneinfo = models.CharField(max_length=64, blank=True)  # IANA time zone, e.g. Europe/Paris
    # The subject a login app asserted (Hydra's login accept `subject`), for an identity that
    # signs in elsewhere: then the OpenID Connect `sub`; None for people who sign in here.
    subject = models.CharField(max_length=255, unique=True, null=True, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Staff users may sign in to the admin console.")
    is_active = models.BooleanField(default=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def oidc_subject(self) -> str:
        """The `sub` of this identity's tokens: the asserted subject, else the random UUID."""
        return self.subject or str(self.pk)

    def get_full_name(self) -> str:
        return self.name or " ".join(p for p in (self.given_name, self.family_name) if p) or self.email

    def get_short_name(self) -> str:
        return self.given_name or self.email

    def is_locked(self, now=None) -> bool:
        """Locked by an administrator (until unlocked) or until a moment."""
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))


class FailedAttempt(models.Model):
    """One refused attempt, counted to throttle guessing (ciam.accounts.throttle).

    The one mechanism behind every throttle: wrong passwords (per e-mail and per address),
    registrations for a taken address (per address), refused admin API credentials (per
    address), refused client authentication (per client and address) and wrong device codes
    (per person). In the database, so every app process sees the
    same counts. No part of the secret that was tried is kept; the e-mail of a failed sign-in is
    kept whether or not an account exists, so a lockout reveals nothing.
    """

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Wrong password"
        REGISTRATION = "registration", "Registration for a taken address"
        ADMIN_CREDENTIAL = "admin_credential", "Refused admin API credential"
        DEVICE_CODE = "device_code", "Wrong device code"
        CLIENT_SECRET = "client_secret", "Refused client authentication"
        MAIL_REQUEST = "mail_request", "Recovery or verification e-mail asked for"
        WRONG_CODE = "wrong_code", "Wrong e-mailed code"
        SECOND_FACTOR = "second_factor", "Wrong second factor"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What is being guessed at: the e-mail signed in as, the client authenticating, the person
    # typing device codes; or "".
    key = models.CharField(max_length=254, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "key", "at"], name="failedattempt_key_at_idx"),
            models.Index(fields=["kind", "ip_address", "at"], name="failedattempt_ip_at_idx"),
            models.Index(fields=["at"], name="failedattempt_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.ip_address or 'unknown'} at {self.at:%Y-%m-%d %H:%M:%S}"


class AccountLock(models.Model):
    """An e-mail address locked out from `since` until `until`, after too many wrong passwords
    (whether or not an account exists for it). Failures before `since` are spent: they do not
    count towards the next lock."""

    email = models.CharField(max_length=254, unique=True)
    since = models.DateTimeField(default=timezone.now)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"AccountLock {self.email}"


class EmailCode(models.Model):
    """A link and a 6-digit code sent to an address, to prove the person reads it: verifying the
    address (of an account, or the new one of an e-mail change) or recovering the account.

    Both are single-use and kept only as digests (the code's with this row's id, so that equal
    codes of two people never match each other's row). A code allows a few tries only."""

    class Purpose(models.TextChoices):
        VERIFY = "verify", "Verify the address"
        RECOVER = "recover", "Recover the account"

    MAX_TRIES = 5

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_codes")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    email = models.EmailField(max_length=254)  # where it was sent (a new address, for a change)
    link_digest = models.CharField(max_length=64, unique=True)
    code_digest = models.CharField(max_length=64)
    tries = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    used = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "created"], name="emailcode_user_purpose_idx")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.user_id} ({self.created:%Y-%m-%d %H:%M})"

    @property
    def usable(self) -> bool:
        return self.used is None and self.expires > timezone.now() and self.tries < self.MAX_TRIES


# --- Second factors (ciam.accounts.factors) -------------------------------------------------------


class TotpFactor(models.Model):
    """A person's authenticator app (TOTP, RFC 6238): at most one each.

    The shared key is encrypted at rest (Fernet, a key derived for this purpose). `confirmed` is
    None until the person typed a first code (set-up in progress). `last_step` is the time step
    of the last code accepted: a code is accepted only for a later step, so none is used twice."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp")
    secret = models.TextField()  # Fernet token of the base32 key
    confirmed = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Authenticator app of {self.user_id}"


class RecoveryCode(models.Model):
    """One of a person's single-use recovery codes, kept as a keyed digest only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    created = models.DateTimeField(default=timezone.now)
    used = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="recoverycode_user_digest")]

    def __str__(self) -> str:
        return f"Recovery code of {self.user_id}"


class Passkey(models.Model):
    """A WebAuthn credential of a person: a passkey (discoverable, user-verifying) they can sign
    in with, or use as a second factor. Only its public key is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=64)
    # base64url of the credential ID (at most 1023 bytes, WebAuthn §5.1).
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()  # COSE_Key
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    # Backup eligible: a synced passkey (amr "swk"); otherwise bound to one device ("hwk").
    backup_eligible = models.BooleanField(default=False)
    backed_up = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="passkey_user_name")]

    def __str__(self) -> str:
        return f"Passkey {self.name} of {self.user_id}"

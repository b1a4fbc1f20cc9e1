"""django-oauth-toolkit's models, swapped into our app from the first migration.

Differences from the toolkit's own:
- Authorization codes are stored as a SHA-256 digest only (the toolkit keeps them in clear):
  `Grant.code` holds `token_checksum(code)`, written and looked up only by our validator, which
  replaces every toolkit method that reads codes.
- A redeemed code is kept (marked `redeemed_at`) until it expires, so that a replay is detected
  and revokes the tokens it issued (RFC 6749 §4.1.2).
- Access tokens carry the token family of their grant, so that a replayed code or a reused
  refresh token revokes every access and refresh token of that family at once.
"""

import uuid

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractDeviceGrant,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)


class Grant(AbstractGrant):
    redeemed_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True)
    # How the person signed in (auth_time, amr, acr, sid): copied into the ID tokens.
    auth_context = models.JSONField(default=dict, blank=True)

    class Meta(AbstractGrant.Meta):
        indexes = [models.Index(fields=["expires"], name="oauth_grant_expires_idx")]

    def __str__(self) -> str:
        return f"Grant #{self.pk}"


class AccessToken(AbstractAccessToken):
    token_family = models.UUIDField(null=True, blank=True, db_index=True)
    # Extra claims a consent app gave (session.access_token): introspection's `ext`, and the
    # `ext` claim of a JWT access token.
    # (NULL when there are none, as for nearly every token: nothing to encode on the hot path.)
    ext = models.JSONField(null=True, blank=True)
    # The audience granted for this token (a consent app's grant_access_token_audience, of the
    # client's registered ones); NULL: the client's registered audience.
    granted_audience = models.JSONField(null=True, blank=True)

    class Meta(AbstractAccessToken.Meta):
        indexes = [models.Index(fields=["expires"], name="oauth_at_expires_idx")]

    def __str__(self) -> str:
        return f"AccessToken #{self.pk}"


class RefreshToken(AbstractRefreshToken):
    # The sign-in the family started from, so refreshed ID tokens keep auth_time, amr, acr, sid.
    auth_context = models.JSONField(default=dict, blank=True)

    class Meta(AbstractRefreshToken.Meta):
        pass

    def __str__(self) -> str:
        return f"RefreshToken #{self.pk}"

    @classmethod
    def revoke_family(cls, token_family: uuid.UUID | None) -> None:
        """Revoke every refresh token of the family and delete every access token of it.

        The toolkit's version only reaches access tokens still linked to a refresh token; ours
        also removes those tagged with the family (e.g. from a client with no refresh grant).
        """
        if not token_family:
            return
        with transaction.atomic():
            super().revoke_family(token_family)
            AccessToken.objects.filter(token_family=token_family).delete()


class IDToken(AbstractIDToken):
    class Meta(AbstractIDToken.Meta):
        pass

    def __str__(self) -> str:
        return f"IDToken #{self.pk}"


class DeviceGrant(AbstractDeviceGrant):
    """An RFC 8628 device authorization. `device_code` and `user_code` hold SHA-256 digests only.

    Status moves pending -> authorized | denied, then authorized -> redeemed when the device
    collects its tokens (once); past `expires` it is expired whatever it was.
    """

    REDEEMED = "redeemed"

    auth_context = models.JSONField(default=dict, blank=True)
    # When the device last polled: polling faster than `interval` is answered with slow_down.
    last_polled = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractDeviceGrant.Meta):
        indexes = [models.Index(fields=["user_code"], name="oauth_devicegrant_ucode_idx")]

    def __str__(self) -> str:
        return f"DeviceGrant #{self.pk}"


class SigningKey(models.Model):
    """A key that signs ID tokens and JWT access tokens.

    The private part is encrypted at rest (ciam.oauth.keys). The newest key without
    `retired_at` signs; a retired key stays published in the JWKS until `publish_until`, by which
    time every token it signed has expired.
    """

    class Algorithm(models.TextChoices):
        RS256 = "RS256", "RS256 (RSA-2048)"
        ES256 = "ES256", "ES256 (P-256)"

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8, choices=Algorithm.choices)
    public_jwk = models.JSONField()
    private_jwk_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    publish_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm})"

    @property
    def status(self) -> str:
        if self.retired_at is None:
            return "active"
        if self.publish_until and self.publish_until > timezone.now():
            return "retired (published)"
        return "expired"


class TokenIssuance(models.Model):
    """Access tokens issued per hour (for the dashboard), in a few shards per hour so that
    concurrent token requests do not queue on one row."""

    hour = models.DateTimeField()
    shard = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "shard"], name="token_issuance_hour_shard")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 #{self.shard}: {self.count}"


class Scope(models.Model):
    """One entry of the scope catalogue: a name clients may be given, what it means to a person
    (the consent page shows `description`), and the claims it releases in ID tokens and userinfo.

    Built-in scopes (ciam.oauth.scopes.BUILTIN) are kept by a migration and cannot be deleted.
    Any other valid scope token may be given to a client (as in Hydra); one first seen on a
    client is added here without a description, for an administrator to describe.
    """

    name = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=300, blank=True)
    claims = models.JSONField(default=list, blank=True)
    builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-builtin", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def privileged(self) -> bool:
        """`ciam:` scopes grant power over this server: never to dynamically registered clients."""
        return self.name.startswith("ciam:")


class AuthorizationFlow(models.Model):
    """An authorization request waiting for a person: handed to a login and consent app (Hydra
    v2's login and consent provider API, ciam.oauth.provider), from its login challenge to its
    consent verifier, or waiting on this server's own consent page (the same consent challenge,
    answered by the page instead of the API).

    Challenges and verifiers are random, single-use, stored as digests, and bound to the browser
    that started the flow (a secret kept in its session, stored here as a digest). The request
    itself is kept as it was validated, so nothing the browser or the app sends back changes its
    client, redirect URI, scopes or PKCE challenge.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Unknown until a device's user code is accepted (a device flow starts without a client).
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, null=True, on_delete=models.CASCADE
    )
    # The authorization request's path and query (without any verifier), as validated; for a
    # device flow, the device verification page's path.
    request_path = models.TextField()
    # A device flow (RFC 8628 through the apps): the user code's step comes first.
    device_grant = models.ForeignKey("oauth.DeviceGrant", null=True, on_delete=models.CASCADE)
    device_challenge = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 (unique: NULLs)
    device_handled_at = models.DateTimeField(null=True)
    device_verifier = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 (unique: NULLs)
    device_verified_at = models.DateTimeField(null=True)
    requested_scope = models.JSONField(default=list)
    requested_audience = models.JSONField(default=list)
    oidc_context = models.JSONField(default=dict)
    # The validated request's values the code is issued from (ciam.oauth.flows._KEPT).
    credentials = models.JSONField(default=dict)
    browser = models.CharField(max_length=64)
    # Login: challenge, what the app decided, the verifier the browser brings back.
    login_challenge = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 (unique: NULLs)
    login_skip = models.BooleanField(default=False)
    login_subject = models.CharField(max_length=255, blank=True)  # the signed-in subject, if any
    login_session_id = models.CharField(max_length=64, blank=True)
    login_handled_at = models.DateTimeField(null=True)
    login_result = models.JSONField(null=True)  # the accept body, or {"error": ...} for a reject
    login_verifier = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 (unique: NULLs)
    login_verified_at = models.DateTimeField(null=True)
    # Consent: the same, for the consent step.
    consent_challenge = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 (unique: NULLs)
    consent_skip = models.BooleanField(default=False)
    consent_subject = models.CharField(max_length=255, blank=True)
    consent_context = models.JSONField(default=dict)  # acr, amr, context of the login
    consent_handled_at = models.DateTimeField(null=True)
    consent_result = models.JSONField(null=True)
    consent_verifier = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 (unique: NULLs)
    consent_verified_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="oauth_flow_expires_idx")]

    def __str__(self) -> str:
        return f"AuthorizationFlow {self.pk}"


class LogoutFlow(models.Model):
    """An RP-initiated logout handed to the deployment's logout app (CIAM_LOGOUT_URL), Hydra v2's
    logout provider flow: a challenge for the app, a verifier the browser brings back once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, null=True, on_delete=models.CASCADE
    )
    request_path = models.TextField()
    subject = models.CharField(max_length=255, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    # Validated against the client's registered list before the flow started.
    post_logout_redirect_uri = models.TextField(blank=True)
    state = models.TextField(blank=True)
    browser = models.CharField(max_length=64)
    challenge = models.CharField(max_length=64, unique=True)
    handled_at = models.DateTimeField(null=True)
    accepted = models.BooleanField(default=False)
    verifier = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 (unique: NULLs)
    verified_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"LogoutFlow {self.pk}"

import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AbstractApplication, ApplicationManager

from ciam.lib.crypto import token_checksum

# An http URI on a loopback IP literal (RFC 8252 §7.3): the host, an optional port, the rest.
_LOOPBACK_URI = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?([/?][^#]*)?")


def _without_loopback_port(uri: str) -> str | None:
    """`uri` with its port removed, if it is an http URI on 127.0.0.1 or [::1] with a valid
    port (or none); else None."""
    match = _LOOPBACK_URI.fullmatch(uri)
    if match is None or (match[2] is not None and not 0 < int(match[2]) < 65536):
        return None
    return f"http://{match[1]}{match[3] or ''}"


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Exact, case-sensitive string comparison (RFC 9700 §2.1), except that a registered
    loopback URI (http on 127.0.0.1 or [::1]) matches on any port: a native app listens on
    whichever port the system gives it (RFC 8252 §7.3). Only the port may differ: scheme, IP
    literal, path and query stay exact; `localhost` gets no such latitude (RFC 8252 §8.3)."""
    if registered == presented:
        return True
    portless = _without_loopback_port(registered)
    return portless is not None and portless == _without_loopback_port(presented)


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code"
    REFRESH_TOKEN = "refresh_token", "Refresh token"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code", "Device code"


class ResponseType(models.TextChoices):
    CODE = "code", "code"


class TokenEndpointAuthMethod(models.TextChoices):
    NONE = "none", "None (public client)"
    CLIENT_SECRET_BASIC = "client_secret_basic", "HTTP Basic (client_secret_basic)"
    CLIENT_SECRET_POST = "client_secret_post", "Form body (client_secret_post)"


class AccessTokenStrategy(models.TextChoices):
    OPAQUE = "opaque", "Opaque"
    JWT = "jwt", "JWT (RFC 9068)"


class SecretKind(models.TextChoices):
    NONE = "", "No secret"
    GENERATED = "generated", "Generated (≥256 bits, keyed hash)"
    SUPPLIED = "supplied", "Supplied (slow password hash)"


# django-oauth-toolkit keeps one legacy grant name per application; we keep it filled with the
# "main" grant so DOT code that still reads it (RP logout, admin filters) behaves.
_DOT_GRANT_NAMES = {
    GrantType.AUTHORIZATION_CODE: AbstractApplication.GRANT_AUTHORIZATION_CODE,
    GrantType.DEVICE_CODE: AbstractApplication.GRANT_DEVICE_CODE,
    GrantType.CLIENT_CREDENTIALS: AbstractApplication.GRANT_CLIENT_CREDENTIALS,
}


class ClientQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # Any bulk change is a new revision of each client it touches: processes keeping a
        # client (ciam.oauth.client_lookup) read it again.
        kwargs.setdefault("revision", models.F("revision") + 1)
        return super().update(**kwargs)


class ClientManager(ApplicationManager.from_queryset(ClientQuerySet)):  # type: ignore[misc]
    pass


class Client(AbstractApplication):
    """An OAuth2 client, shaped like Ory Hydra v2's OAuth2Client; the toolkit's application model
    (OAUTH2_PROVIDER_APPLICATION_MODEL), through which the protocol engine reads it.

    Inherited from django-oauth-toolkit: client_id, name (client_name), client_type, client_secret
    (always stored hashed), redirect_uris / post_logout_redirect_uris / allowed_origins (space
    separated), skip_authorization (skip_consent), created / updated. Every write goes through
    clients.services, which enforces the rules between these fields.
    """

    grant_types = models.JSONField(default=list, blank=True)
    response_types = models.JSONField(default=list, blank=True)
    scope = models.TextField(blank=True, default="", help_text="Allowed scopes, space separated.")
    token_endpoint_auth_method = models.CharField(
        max_length=32,
        choices=TokenEndpointAuthMethod.choices,
        default=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
    )
    audience = models.JSONField(default=list, blank=True)
    pkce_required = models.BooleanField(default=True)
    # Every sign-in for this client needs a second factor (acr "2"; ciam.oauth.authorize).
    require_mfa = models.BooleanField(default=False)
    access_token_strategy = models.CharField(
        max_length=16, choices=AccessTokenStrategy.choices, default=AccessTokenStrategy.OPAQUE
    )
    owner = models.CharField(max_length=255, blank=True, default="", db_index=True)
    contacts = models.JSONField(default=list, blank=True)
    client_uri = models.CharField(max_length=2048, blank=True, default="")
    logo_uri = models.CharField(max_length=2048, blank=True, default="")
    policy_uri = models.CharField(max_length=2048, blank=True, default="")
    tos_uri = models.CharField(max_length=2048, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    access_token_lifespan = models.PositiveIntegerField(null=True, blank=True)
    refresh_token_lifespan = models.PositiveIntegerField(null=True, blank=True)
    id_token_lifespan = models.PositiveIntegerField(null=True, blank=True)
    secret_kind = models.CharField(max_length=16, choices=SecretKind.choices, blank=True, default="")
    is_active = models.BooleanField(default=True, help_text="A disabled client can get no token.")
    # RFC 7592: keyed hash of the registration access token of a dynamically registered client.
    registration_token_hash = models.CharField(max_length=128, blank=True, default="", db_index=True)
    # Bumped by every write, whoever makes it (save(), the queryset's update()): processes that
    # keep a client re-read it, and writers detect a concurrent change (optimistic locking).
    revision = models.PositiveIntegerField(default=1)

    objects = ClientManager()

    class Meta(AbstractApplication.Meta):
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["name"], name="clients_client_name_idx")]

    def __str__(self) -> str:
        return f"{self.name or '(unnamed)'} ({self.client_id})"

    def save(self, *args, **kwargs):
        self.authorization_grant_type = self._dot_grant_name()
        self.algorithm = self.RS256_ALGORITHM
        changing = not self._state.adding
        if changing:
            self.revision = models.F("revision") + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "revision"}
        super().save(*args, **kwargs)
        if changing:
            self.refresh_from_db(fields=["revision"])

    def clean(self) -> None:
        # The rules live in clients.services (one place for console, API and CLI); DOT's clean()
        # knows only one grant type per client.
        return None

    # --- Predicates -----------------------------------------------------------------------

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == TokenEndpointAuthMethod.NONE

    @property
    def skip_consent(self) -> bool:
        return self.skip_authorization

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    @property
    def post_logout_redirect_uri_list(self) -> list[str]:
        return self.post_logout_redirect_uris.split()

    @property
    def allowed_cors_origins(self) -> list[str]:
        return self.allowed_origins.split()

    def allows_grant_type(self, *grant_types: str) -> bool:
        """True if any of the given grant types (RFC names or DOT's names) is allowed."""
        allowed = set(self.grant_types)
        allowed |= {_DOT_GRANT_NAMES[g] for g in self.grant_types if g in _DOT_GRANT_NAMES}
        return bool(allowed & set(grant_types))

    def requires_pkce(self) -> bool:
        """PKCE is required for every public client and for any client marked so."""
        return self.is_public or self.pkce_required

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Against the registered list: exact, or a loopback URI on another port
        (redirect_uri_matches); or the console's callback of a Try it run in progress (TryRun)."""
        if not uri:
            return False
        if any(redirect_uri_matches(registered, uri) for registered in self.redirect_uri_list):
            return True
        return TryRun.allows(self, uri)

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        return bool(uri) and uri in self.post_logout_redirect_uri_list

    def origin_allowed(self, origin: str) -> bool:
        return bool(origin) and origin in self.allowed_cors_origins

    def get_allowed_schemes(self) -> list[str]:
        # Registration already validated every URI (http only for loopback, custom schemes for
        # native apps); a redirect may use any scheme that one of them uses.
        return sorted(
            {urlsplit(u).scheme for u in self.redirect_uri_list + self.post_logout_redirect_uri_list}
            | {"https"}
        )

    def is_usable(self, request) -> bool:
        return self.is_active

    def remembered_consent_covers(self, user, scopes: list[str]) -> bool:
        """Whether `user` allowed this client `scopes` and asked to be remembered: the
        authorization endpoint then skips the consent page (consent.models.Consent)."""
        consent = self.consents.filter(user=user).first()
        return consent is not None and consent.covers(scopes)

    def _dot_grant_name(self) -> str:
        for grant in (GrantType.AUTHORIZATION_CODE, GrantType.DEVICE_CODE, GrantType.CLIENT_CREDENTIALS):
            if grant in self.grant_types:
                return _DOT_GRANT_NAMES[grant]
        return AbstractApplication.GRANT_AUTHORIZATION_CODE


class TryRun(models.Model):
    """One run of the console's *Try it*, started by an administrator: for it alone, and until
    the browser comes back or ten minutes pass, the console's callback for this run is an allowed
    redirect URI of the client (the client's registered URIs never change). The digests of the
    tokens the run obtained are kept so that they can be revoked when the administrator is done.

    The run's key (in the callback's path) is a name, not a credential: the callback also needs
    the administrator's session, and the PKCE verifier and state kept there. Only its digest is
    stored, like every token's."""

    LIFESPAN = timedelta(minutes=10)

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="try_runs")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key_digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    returned = models.DateTimeField(null=True, blank=True)  # the browser came back: allowance over
    token_digests = models.JSONField(default=list, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client", "started_by", "revoked"])]

    def __str__(self) -> str:
        return f"Try it run of {self.client_id} at {self.created:%Y-%m-%d %H:%M}"

    @staticmethod
    def callback_uri(client_id: str, key: str) -> str:
        return settings.CIAM_ISSUER + reverse("clients:try-callback", args=[client_id, key])

    @classmethod
    def allows(cls, client: Client, uri: str) -> bool:
        """Whether `uri` is the callback of a run of `client` still waiting for the browser."""
        prefix, _, suffix = cls.callback_uri(client.client_id, "KEY").rpartition("KEY")
        if not (uri.startswith(prefix) and uri.endswith(suffix)) or len(uri) > len(prefix + suffix) + 128:
            return False
        key = uri[len(prefix) : len(uri) - len(suffix)]
        return (
            bool(key)
            and "/" not in key
            and cls.objects.filter(
                client=client,
                key_digest=token_checksum(key),
                expires__gt=timezone.now(),
                returned__isnull=True,
            ).exists()
        )

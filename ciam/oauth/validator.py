"""Our OAuth2Validator: django-oauth-toolkit's, with its traps closed.

- Several grant types and response types per client (the toolkit allows one).
- Client authentication honours the registered `token_endpoint_auth_method`; generated secrets
  verify with one HMAC (ciam.oauth.hashers), never with a slow hash; nothing falls back to a
  plaintext comparison.
- Authorization codes: prefixed, stored as digests, claimed atomically on first use; a replay
  revokes every token the code issued (RFC 6749 §4.1.2); a verifier sent for a code that had
  no challenge is refused (PKCE downgrade).
- Refresh tokens only for clients allowed the `refresh_token` grant; rotation under a row lock
  so that two concurrent uses of one refresh token cannot both succeed.
- ID tokens signed with the database key (its `kid` in the header), lifetimes per client.
- `prompt=none` no longer raises (the view decides login_required / consent_required).
"""

import base64
import json
import uuid
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.utils import timezone
from jwcrypto import jws, jwt
from jwcrypto.common import JWException
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from ciam.oauth import clientcache, fastsql
from ciam.oauth.clientcache import get_client
from ciam.oauth.compiled import CompiledLookup
from ciam.oauth.crypto import token_checksum
from ciam.oauth.hashers import GeneratedSecretHasher
from ciam.oauth.keys import current_signing_key, verification_key
from ciam.oauth.models import AccessToken, Grant, IDToken, RefreshToken
from ciam.oauth.stats import record_issuance
from ciam.oauth.tokens import new_authorization_code

_CACHED_GRANT = "_ciam_grant"


_GENERATED = GeneratedSecretHasher()
_ACCESS_TOKEN_WITH_CLIENT_AND_USER = CompiledLookup(
    lambda checksum: (
        AccessToken.objects.select_related("application", "user")
        .filter(token_checksum=checksum)
        .order_by("pk")[:1]
    )
)
# The code exchange's grant with its user, compiled once per connection as above. It takes the
# code's digest (`code__exact` is not translated by GrantQuerySet, which turns `code=` into one).
_GRANT_WITH_USER = CompiledLookup(
    lambda digest: Grant.objects.select_related("user").filter(code__exact=digest).order_by("pk")[:1]
)
_GENERATED_PREFIX = GeneratedSecretHasher.algorithm + "$"


class RefreshTokenReused(errors.InvalidGrantError):
    """A refresh token presented again after it was rotated (the family must be revoked)."""

    def __init__(self, token_family, request):
        super().__init__(description="The refresh token has already been used.", request=request)
        self.token_family = token_family


class ClientChanged(Exception):
    """The client-credentials fast path trusted a kept client that has since changed."""


class CiamValidator(OAuth2Validator):
    # Claim -> the scope that releases it (copied, never mutating the toolkit's class dict).
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "email": "email",
        "email_verified": "email",
        "name": "profile",
        "given_name": "profile",
        "family_name": "profile",
        "updated_at": "profile",
    }

    def _load_access_token(self, token):
        # The toolkit's own lookup (token, client and user in one statement), compiled once per
        # connection instead of on every request: see ciam/oauth/compiled.py. Every check on the
        # token (expiry, scopes, audience, a disabled client) stays the toolkit's.
        return _ACCESS_TOKEN_WITH_CLIENT_AND_USER.get(token_checksum(token))

    # --- Client authentication ------------------------------------------------------------

    def _load_application(self, client_id, request):
        """The client, from the per-process cache validated against the database (clientcache)."""
        current = request.client
        if current is not None and getattr(current, "client_id", None) == client_id and current.is_active:
            return current
        if getattr(request, "ciam_optimistic", False):
            # The client-credentials fast path: the kept client, proved unchanged by the INSERT.
            kept = clientcache.cached(client_id)
            if kept is not None and kept.is_active:
                request.client = request.ciam_client_unverified = kept
                return kept
        client = get_client(client_id)
        request.client = client if client is not None and client.is_usable(request) else None
        return request.client

    def _extract_basic_auth(self, request):
        auth = super()._extract_basic_auth(request)
        if auth is not None and not auth.isascii():
            # base64 is ASCII; anything else is malformed credentials, which must fail as such
            # (the toolkit's decoder would raise ValueError, a 500). "!" decodes to no credentials.
            return "!"
        return auth

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        # Stored secrets are always hashes. An empty or unknown-format value never matches:
        # no plaintext comparison (the toolkit falls back to one).
        if not provided_secret or not stored_secret:
            return False
        if stored_secret.startswith(_GENERATED_PREFIX):
            # A generated secret: its own hasher directly, as check_password would pick it.
            return _GENERATED.verify(provided_secret, stored_secret)
        return check_password(provided_secret, stored_secret)

    def _basic_auth_has_secret(self, request) -> bool:
        auth = self._extract_basic_auth(request)
        if not auth:
            return False
        try:
            decoded = base64.b64decode(auth, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return True  # malformed credentials: authentication must run (and fail)
        _, _, secret = decoded.partition(":")
        return bool(unquote_plus(secret))

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        if self._basic_auth_has_secret(request) or getattr(request, "client_secret", None):
            return True
        client_id = request.client_id
        if not client_id and self._extract_basic_auth(request):
            # "Basic base64(client_id:)": a public client identifying itself (RFC 6749 §2.3.1).
            return True
        if client_id and self._load_application(client_id, request) is not None:
            return not request.client.is_public
        return True

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        basic = self._extract_basic_auth(request)
        body_secret = getattr(request, "client_secret", None)
        if basic and body_secret:
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            return False
        if basic:
            if not self._basic_auth_has_secret(request):
                return self._authenticate_public_basic(request)
            if not self._authenticate_basic_auth(request):
                return False
            used = "client_secret_basic"
        else:
            if not self._authenticate_request_body(request):
                return False
            used = "client_secret_post"
        return request.client.token_endpoint_auth_method == used

    def _authenticate_public_basic(self, request) -> bool:
        try:
            decoded = base64.b64decode(self._extract_basic_auth(request), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        client_id = unquote_plus(decoded.partition(":")[0])
        if request.client_id and request.client_id != client_id:
            return False
        if self._load_application(client_id, request) is None or not request.client.is_public:
            return False
        request.client_id = client_id
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        if self._load_application(client_id, request) is None:
            return False
        return request.client.is_public

    # --- Per-client policy ----------------------------------------------------------------

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        return client.allows_grant_type(grant_type) and grant_type in {
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        }

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs) -> bool:
        # Only the authorization code flow: implicit and hybrid are refused (RFC 9700 §2.1.2).
        return (
            response_type == "code"
            and "code" in client.response_types
            and client.allows_grant_type("authorization_code")
        )

    def is_pkce_required(self, client_id, request) -> bool:
        client = request.client
        return True if client is None else client.requires_pkce()

    def validate_silent_login(self, request) -> bool:
        # The authorization view answers prompt=none itself (login_required, consent_required)
        # before oauthlib is asked to issue anything; the toolkit raises NotImplementedError here.
        return True

    def validate_silent_authorization(self, request) -> bool:
        return True

    def rotate_refresh_token(self, request) -> bool:
        return True

    # --- Authorization codes --------------------------------------------------------------

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        # oauthlib generated an unprefixed code; replace it in the same dict it will put in the
        # redirect, so the client receives exactly the value whose digest we store.
        code["code"] = new_authorization_code()
        self._create_authorization_code(request, code)

    def _create_authorization_code(self, request, code, expires=None) -> Grant:
        lifespan = timedelta(seconds=settings.CIAM_AUTHORIZATION_CODE_LIFESPAN)
        # One INSERT built once per connection (fastsql), so the digest is taken here, as
        # Grant.save() would take it: only the code's digest is ever written.
        return fastsql.insert(
            Grant(
                application=request.client,
                user=request.user,
                code=token_checksum(code["code"]),
                expires=expires or timezone.now() + lifespan,
                redirect_uri=request.redirect_uri,
                scope=" ".join(request.scopes),
                code_challenge=request.code_challenge or "",
                code_challenge_method=request.code_challenge_method or "",
                nonce=request.nonce or "",
                claims=json.dumps(request.claims or {}),
                resource=[],
                auth_context=getattr(request, "ciam_auth_context", None) or {},
            )
        )

    def _grant(self, code, request) -> Grant | None:
        cached = getattr(request, _CACHED_GRANT, None)
        if cached is not None and cached[0] == code:
            return cached[1]
        grant = _GRANT_WITH_USER.get(token_checksum(code)) if code and isinstance(code, str) else None
        setattr(request, _CACHED_GRANT, (code, grant))
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        grant = self._grant(code, request)
        if grant is None or grant.application_id != client.pk:
            return False
        family = uuid.uuid4()
        claimed = Grant.objects.filter(pk=grant.pk, redeemed_at__isnull=True).update(
            redeemed_at=timezone.now(), token_family=family
        )
        if not claimed:
            # A replayed code: revoke everything it issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
            grant.refresh_from_db(fields=["token_family"])
            RefreshToken.revoke_family(grant.token_family)
            request.ciam_code_replayed = True
            return False
        if grant.is_expired():
            return False
        if not grant.code_challenge and getattr(request, "code_verifier", None):
            # A verifier for a code issued without a challenge: a PKCE downgrade attempt.
            return False
        request.ciam_token_family = family
        request.ciam_auth_context = grant.auth_context
        request.scopes = grant.scope.split()
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request=None, *args, **kwargs):
        grant = self._grant(code, request) if request is not None else Grant.objects.filter(code=code).first()
        return (
            grant is not None
            and grant.application_id == client.pk
            and grant.redirect_uri_allowed(redirect_uri)
        )

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        # Already claimed atomically in validate_code; the row stays (redeemed) until it expires
        # so that a replay can be recognised and answered by revoking the tokens.
        return None

    def get_code_challenge(self, code, request):
        grant = self._grant(code, request)
        return (grant.code_challenge or None) if grant else None

    def get_code_challenge_method(self, code, request):
        grant = self._grant(code, request)
        return (grant.code_challenge_method or None) if grant else None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return grant.scope.split() if grant else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return (grant.nonce or None) if grant else None

    def _check_and_set_request_resource(self, request):
        # Resource indicators (RFC 8707) are not offered: audiences come from the client.
        request.resource = []

    # --- Device codes (RFC 8628) ----------------------------------------------------------

    def validate_device_code(self, client_id, code, request, *args, **kwargs):
        from ciam.oauth.device import poll

        return poll(request.client.client_id if request.client else client_id, code, request)

    # --- Refresh tokens -------------------------------------------------------------------

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        rt = request.refresh_token_instance
        request.ciam_auth_context = rt.auth_context
        lifespan = client.refresh_token_lifespan
        return not (lifespan and rt.access_token.expires + timedelta(seconds=lifespan) <= timezone.now())

    # --- Persistence ----------------------------------------------------------------------

    def save_bearer_token(self, token, request, *args, **kwargs):
        if request.grant_type == "client_credentials":
            # One INSERT, atomic by itself: no BEGIN/COMMIT round trips on the busiest grant.
            return self._save_bearer_token(token, request, *args, **kwargs)
        try:
            return super().save_bearer_token(token, request, *args, **kwargs)
        except RefreshTokenReused as exc:
            # Another request rotated this refresh token while this one was validating it: that
            # is reuse too. The failed transaction rolled back, so revoke the family now.
            RefreshToken.revoke_family(exc.token_family)
            raise

    def _save_bearer_token(self, token, request, *args, **kwargs):
        if "refresh_token" in token and not request.client.allows_grant_type("refresh_token"):
            # oauthlib always mints one with a code; only clients allowed the grant get it.
            del token["refresh_token"]
        previous = getattr(request, "refresh_token_instance", None)
        if request.grant_type == "refresh_token" and previous is not None:
            # Lock the row: of concurrent uses of one refresh token, exactly one rotates it.
            live = RefreshToken.objects.select_for_update().filter(pk=previous.pk, revoked__isnull=True)
            if not live.exists():
                raise RefreshTokenReused(previous.token_family, request)
            request.ciam_token_family = previous.token_family
        saved = super()._save_bearer_token(token, request, *args, **kwargs)
        record_issuance()
        return saved

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        id_token = getattr(request, "id_token", None) if token.get("id_token") else None
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token if isinstance(id_token, IDToken) else None,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=[],
            token_family=getattr(request, "ciam_token_family", None),
        )
        self._set_token_value(access_token, token["access_token"])
        unverified = getattr(request, "ciam_client_unverified", None)
        # A client-credentials token may be lost if the database crashes right after: see fastsql.
        asynchronous = request.grant_type == "client_credentials" and settings.CIAM_CC_TOKEN_ASYNC_COMMIT
        # Guarded by the kept client, the INSERT writes nothing (None) if it has changed since.
        saved = fastsql.insert(access_token, unchanged_client=unverified, asynchronous_commit=asynchronous)
        if saved is None:
            raise ClientChanged(unverified.client_id)
        return saved

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        family = (
            (previous_refresh_token.token_family if previous_refresh_token else None)
            or getattr(request, "ciam_token_family", None)
            or uuid.uuid4()
        )
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=family,
            resource=[],
            auth_context=getattr(request, "ciam_auth_context", None) or {},
        )
        self._set_token_value(refresh_token, refresh_token_code)
        return fastsql.insert(refresh_token)

    # --- OpenID Connect -------------------------------------------------------------------

    def get_oidc_issuer_endpoint(self, request) -> str:
        return settings.CIAM_ISSUER

    def get_additional_claims(self, request) -> dict:
        user = request.user
        return {
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.get_full_name(),
            "given_name": user.given_name,
            "family_name": user.family_name,
            "updated_at": int(user.updated_at.timestamp()),
        }

    @staticmethod
    def _id_token_lifespan(request) -> int:
        return getattr(request.client, "id_token_lifespan", None) or settings.CIAM_ID_TOKEN_LIFESPAN

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, _ = super().get_id_token_dictionary(token, token_handler, request)
        expiration_time = timezone.now() + timedelta(seconds=self._id_token_lifespan(request))
        claims["exp"] = int(expiration_time.timestamp())
        # How the person signed in (OIDC Core §2), recorded with the code or refresh token.
        context = getattr(request, "ciam_auth_context", None) or {}
        if context.get("auth_time"):
            claims["auth_time"] = int(context["auth_time"])
        for claim in ("amr", "acr", "sid"):
            if context.get(claim):
                claims[claim] = context[claim]
        return claims, expiration_time

    def finalize_id_token(self, id_token, token, token_handler, request) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if isinstance(id_token.get("iat"), int):
            # exp from the same instant as iat: the lifetime is exact, whatever the clock did.
            id_token["exp"] = id_token["iat"] + self._id_token_lifespan(request)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = current_signing_key()
        signed = jwt.JWT(
            header={"typ": "JWT", "alg": key.algorithm, "kid": key.kid},
            claims=json.dumps(id_token, default=str),
        )
        signed.make_signed_token(key.jwk)
        record = self._save_id_token(id_token["jti"], request, expiration_time)  # one INSERT
        request.access_token = record
        request.id_token = record
        return signed.serialize()

    def _get_key_for_token(self, token):
        """The published key named by the token's `kid` header (survives rotations)."""
        try:
            unverified = jws.JWS()
            unverified.deserialize(token)
            header = unverified.jose_header
        except (JWException, ValueError, TypeError):
            return None
        kid = header.get("kid") if isinstance(header, dict) else None
        loaded = verification_key(kid)
        return loaded.jwk if loaded else None

    def validate_user_match(self, id_token_hint, scopes, claims, request) -> bool:
        # Checked by the authorization view, which knows the signed-in user.
        return True

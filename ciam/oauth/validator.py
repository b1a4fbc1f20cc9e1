"""Our OAuth2Validator: django-oauth-toolkit's, with its traps closed.

- Several grant types and response types per client (the toolkit allows one).
- Client authentication honours the registered `token_endpoint_auth_method` and RFC 6749 §2.3
  (one method per request); generated secrets verify with one HMAC
  (ciam.accounts.hashers.GeneratedSecretHasher), never with a slow hash; nothing falls back to a
  plaintext comparison. Clients come from ciam.oauth.client_lookup (revision-checked).
- Authorization codes: prefixed, stored as digests, claimed atomically on first use; a replay
  revokes every token the code issued (RFC 6749 §4.1.2); a verifier sent for a code that had
  no challenge is refused (PKCE downgrade).
- Tokens: stored as digests with their family (a replayed code or a reused refresh token
  revokes the family); refresh tokens only for clients allowed the `refresh_token` grant;
  rotation by a conditional UPDATE, so that two concurrent uses of one refresh token cannot both
  succeed; a client's own refresh lifetime honoured.
- ID tokens signed with the database key (its `kid` in the header), lifetimes per client.
- `prompt=none` no longer raises (the authorization decision answers login_required and
  consent_required, ciam.oauth.authorize).
- Every refusal says why: where oauthlib would raise its error without a description (an
  unknown, used or expired code, a wrong verifier or redirect URI, a scope or grant the client
  is not allowed, a refresh token that is not live), the hook raises that same error with one.
  Raising oauthlib's errors from a validator hook is how oauthlib's own validators refuse.

Only public methods of the toolkit's validator (and of oauthlib's RequestValidator) are
overridden, and no private method of the toolkit is called: the toolkit's private helpers
(`_load_application`, `_authenticate_basic_auth`, `_save_bearer_token`, `_create_access_token`,
`_save_id_token`, `_get_key_for_token`...) are reached only from the public methods replaced
here. tests/oauth/test_toolkit_hooks.py fails when the installed toolkit's signature of any
overridden method changes, and when an override of a private method appears.
"""

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.models import set_token_value
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from ciam.accounts.hashers import GeneratedSecretHasher
from ciam.lib.crypto import token_checksum
from ciam.oauth import device
from ciam.oauth.client_lookup import get_client
from ciam.oauth.keys import current_signing_key
from ciam.oauth.models import AccessToken, Grant, IDToken, RefreshToken
from ciam.oauth.scopes import released_claims
from ciam.oauth.stats import record_issuance
from ciam.oauth.tokens import new_authorization_code

# The grant types this server implements (and discovery lists, in this order).
GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
)
_GENERATED = GeneratedSecretHasher()
_GENERATED_PREFIX = GeneratedSecretHasher.algorithm + "$"
_MALFORMED = ("", "")  # Basic credentials that cannot be decoded: authentication must fail
# ID token claims a consent app's session.id_token cannot override (OIDC Core §2).
PROTECTED_ID_TOKEN_CLAIMS = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "at_hash",
        "c_hash",
        "sid",
    }
)


class RefreshTokenReused(errors.InvalidGrantError):
    """A refresh token presented again after it was rotated (the family must be revoked)."""

    def __init__(self, token_family, request):
        super().__init__(description="The refresh token has already been used.", request=request)
        self.token_family = token_family


# --- Client authentication helpers -------------------------------------------------------------


def basic_credentials(request) -> tuple[str, str] | None:
    """(client_id, secret) from an `Authorization: Basic` header, form-decoded (RFC 6749
    §2.3.1); None without one; _MALFORMED for credentials that cannot be decoded."""
    header = request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return _MALFORMED
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        return _MALFORMED
    return unquote_plus(client_id), unquote_plus(secret)


def _usable_client(client_id, request):
    """The enabled client with this ID, kept on the request for the rest of its validation."""
    current = request.client
    if current is not None and getattr(current, "client_id", None) == client_id and current.is_active:
        return current
    client = get_client(client_id)
    request.client = client if client is not None and client.is_usable(request) else None
    return request.client


def _verifier_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6 with S256, the only method accepted (oauthlib checks it again)."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


def _secret_matches(provided: str, stored: str) -> bool:
    # Stored secrets are always hashes; an empty or unknown-format value never matches.
    if not provided or not stored:
        return False
    if stored.startswith(_GENERATED_PREFIX):
        # A generated secret: its own hasher directly; never a slow hash on the token path.
        return _GENERATED.verify(provided, stored)
    return check_password(provided, stored)


# --- Token persistence helpers ------------------------------------------------------------------


def _access_token(token: dict, request, expires, *, family=None, source=None) -> AccessToken:
    id_token = getattr(request, "id_token", None) if token.get("id_token") else None
    context = getattr(request, "ciam_auth_context", None) or {}
    access = AccessToken(
        user=request.user,
        ext=context.get("access_token_claims") or None,
        granted_audience=context.get("audience") or None,
        scope=token["scope"],
        expires=expires,
        id_token=id_token if isinstance(id_token, IDToken) else None,
        application=request.client,
        source_refresh_token=source,
        resource=[],
        token_family=family,
    )
    set_token_value(access, token["access_token"])
    return access


def _save_client_credentials_token(token: dict, request, expires) -> None:
    access = _access_token(token, request, expires)
    if (
        settings.CIAM_CC_TOKEN_ASYNC_COMMIT
        and connection.vendor == "postgresql"
        and transaction.get_autocommit()
    ):
        # The operator's choice (README): this token's commit does not wait for the disk, for this
        # transaction only. If PostgreSQL itself crashes in the fraction of a second before the
        # WAL writer flushes, the token is lost and answers inactive; its client asks again.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            access.save()
    else:
        access.save()


@transaction.atomic
def _save_person_tokens(token: dict, request, expires) -> None:
    family = getattr(request, "ciam_token_family", None)
    previous = getattr(request, "refresh_token_instance", None)
    if request.grant_type == "refresh_token" and previous is not None:
        # Rotation: the presented refresh token is revoked by one conditional UPDATE, so of
        # concurrent uses of one token exactly one rotates it (the others find it revoked).
        rotated = RefreshToken.objects.filter(pk=previous.pk, revoked__isnull=True).update(
            revoked=timezone.now(), access_token=None
        )
        if not rotated:
            raise RefreshTokenReused(previous.token_family, request)
        family = previous.token_family
        if previous.access_token_id is not None:
            AccessToken.objects.filter(pk=previous.access_token_id).delete()
    else:
        previous = None
    access = _access_token(token, request, expires, family=family, source=previous)
    access.save()
    if "refresh_token" in token:
        refresh = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access,
            token_family=family or uuid.uuid4(),
            resource=[],
            auth_context=getattr(request, "ciam_auth_context", None) or {},
        )
        set_token_value(refresh, token["refresh_token"])
        refresh.save()


class CiamValidator(OAuth2Validator):
    # --- Client authentication ------------------------------------------------------------

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        basic = basic_credentials(request)
        if basic is not None and (basic is _MALFORMED or basic[1]):
            return True  # a secret (or garbage) in the header: authentication must run
        if getattr(request, "client_secret", None):
            return True
        client_id = request.client_id
        if not client_id and basic is not None:
            # "Basic base64(client_id:)": a public client identifying itself (RFC 6749 §2.3.1).
            return True
        if client_id and _usable_client(client_id, request) is not None:
            return not request.client.is_public
        return True

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        basic = basic_credentials(request)
        body_secret = getattr(request, "client_secret", None)
        if basic is _MALFORMED or (basic is not None and body_secret):
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            return False
        if basic is not None:
            client_id, secret = basic
            if request.client_id and request.client_id != client_id:
                return False
            client = _usable_client(client_id, request)
            if client is None:
                return False
            request.client_id = client_id
            if not secret:
                return client.is_public  # a public client identifying itself
            used = "client_secret_basic"
        else:
            client = _usable_client(request.client_id, request)
            if client is None:
                return False
            secret, used = body_secret or "", "client_secret_post"
        return (
            not client.is_public
            and _secret_matches(secret, client.client_secret)
            and client.token_endpoint_auth_method == used
        )

    def authenticate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        client = _usable_client(client_id, request)
        return client is not None and client.is_public

    def validate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        return _usable_client(client_id, request) is not None

    # --- Per-client policy ----------------------------------------------------------------

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        if grant_type in GRANT_TYPES and not client.allows_grant_type(grant_type):
            raise errors.UnauthorizedClientError(
                description=f"This client is not allowed the {grant_type} grant.", request=request
            )
        return grant_type in GRANT_TYPES

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        refused = sorted(set(scopes) - set(client.scopes))
        if refused:
            raise errors.InvalidScopeError(
                description=f"Not allowed for this client: {' '.join(refused)}.", request=request
            )
        return True

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
        # The authorization decision answers prompt=none itself (login_required, consent_required)
        # before oauthlib is asked to issue anything; the toolkit raises NotImplementedError here.
        return True

    def validate_silent_authorization(self, request) -> bool:
        return True

    def validate_user_match(self, id_token_hint, scopes, claims, request) -> bool:
        # Checked by the authorization decision, which knows the signed-in person.
        return True

    def rotate_refresh_token(self, request) -> bool:
        return True

    # --- Authorization codes --------------------------------------------------------------

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        # oauthlib generated an unprefixed code; replace it in the same dict it will put in the
        # redirect, so the client receives exactly the value whose digest is stored.
        code["code"] = new_authorization_code()
        Grant.objects.create(
            application=request.client,
            user=request.user,
            code=token_checksum(code["code"]),
            expires=timezone.now() + timedelta(seconds=settings.CIAM_AUTHORIZATION_CODE_LIFESPAN),
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
            nonce=request.nonce or "",
            claims=json.dumps(request.claims or {}),
            resource=[],
            auth_context=getattr(request, "ciam_auth_context", None) or {},
        )

    @staticmethod
    def _grant(code, request) -> Grant | None:
        """The code's row with its user, read once per request."""
        cached = getattr(request, "ciam_grant", None)
        if cached is not None and cached[0] == code:
            return cached[1]
        grant = None
        if code and isinstance(code, str):
            grant = Grant.objects.select_related("user").filter(code=token_checksum(code)).first()
        request.ciam_grant = (code, grant)
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        grant = self._grant(code, request)
        if grant is None or grant.application_id != client.pk:
            # Another client's code is an unknown code to this one (nothing to learn from it).
            raise errors.InvalidGrantError(
                description="The authorization code is not valid for this client.", request=request
            )
        family = uuid.uuid4()
        claimed = Grant.objects.filter(pk=grant.pk, redeemed_at__isnull=True).update(
            redeemed_at=timezone.now(), token_family=family
        )
        if not claimed:
            # A replayed code: revoke everything it issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
            grant.refresh_from_db(fields=["token_family"])
            RefreshToken.revoke_family(grant.token_family)
            raise errors.InvalidGrantError(
                description="The authorization code has already been used; the tokens it issued are revoked.",
                request=request,
            )
        if grant.is_expired():
            raise errors.InvalidGrantError(description="The authorization code has expired.", request=request)
        verifier = getattr(request, "code_verifier", None)
        if not grant.code_challenge and verifier:
            raise errors.InvalidGrantError(
                description="A code_verifier was sent for a code issued without a code_challenge.",
                request=request,
            )
        if grant.code_challenge and verifier and not _verifier_matches(verifier, grant.code_challenge):
            raise errors.InvalidGrantError(
                description="The code_verifier does not match the code_challenge (RFC 7636 §4.6).",
                request=request,
            )
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
        grant = self._grant(code, request) if request is not None else None
        if grant is not None and not grant.redirect_uri_allowed(redirect_uri):
            # RFC 6749 §5.2: invalid_grant (oauthlib's own error for this says invalid_request).
            raise errors.InvalidGrantError(
                description="redirect_uri is not the one the authorization request used (RFC 6749 §4.1.3).",
                request=request,
            )
        return grant is not None and grant.application_id == client.pk

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

    # --- Device codes (RFC 8628) ----------------------------------------------------------

    def validate_device_code(self, client_id, code, request, *args, **kwargs):
        return device.poll(request.client.client_id if request.client else client_id, code, request)

    # --- Refresh tokens -------------------------------------------------------------------

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        """The presented refresh token: live, this client's, within its idle lifetime (the
        client's own, else the deployment's, after its last access token expired).

        One presented again after it was rotated or revoked is refused, and its whole family is
        revoked (RFC 9700 §4.14.2: reuse means it leaked); there is no grace period.
        """

        def refuse(description: str) -> errors.InvalidGrantError:
            return errors.InvalidGrantError(description=description, request=request)

        if not isinstance(refresh_token, str) or not refresh_token:
            raise refuse("The refresh token is missing.")
        rt = (
            RefreshToken.objects.select_related("access_token", "user")
            .filter(token_checksum=token_checksum(refresh_token))
            .order_by(F("revoked").desc(nulls_first=True))  # a live row first, if any
            .first()
        )
        if rt is None:
            raise refuse("The refresh token is not valid for this client.")
        if rt.revoked is not None:
            RefreshToken.revoke_family(rt.token_family)
            raise refuse("The refresh token was already used or revoked; its whole family is now revoked.")
        if rt.application_id != client.pk:
            raise refuse("The refresh token is not valid for this client.")
        if rt.access_token is None:
            raise refuse("The refresh token is no longer valid.")  # its access token was deleted
        lifespan = client.refresh_token_lifespan or settings.CIAM_REFRESH_TOKEN_LIFESPAN
        if rt.access_token.expires + timedelta(seconds=lifespan) <= timezone.now():
            raise refuse("The refresh token has expired.")
        request.user = rt.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = rt
        request.ciam_auth_context = rt.auth_context
        return True

    # --- Persistence ----------------------------------------------------------------------

    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        """Store an issued token response: only the tokens' digests, with their family."""
        if "refresh_token" in token and not request.client.allows_grant_type("refresh_token"):
            # oauthlib always mints one with a code; only clients allowed the grant get it.
            del token["refresh_token"]
        expires = timezone.now() + timedelta(seconds=token["expires_in"])
        if request.grant_type == "client_credentials":
            request.user = None
            _save_client_credentials_token(token, request, expires)
        else:
            try:
                _save_person_tokens(token, request, expires)
            except RefreshTokenReused as exc:
                # Another request rotated this refresh token while this one was validating it:
                # that is reuse too. The failed transaction rolled back, so revoke the family now.
                RefreshToken.revoke_family(exc.token_family)
                raise
        record_issuance()

    # --- OpenID Connect -------------------------------------------------------------------

    def get_oidc_issuer_endpoint(self, request) -> str:
        return settings.CIAM_ISSUER

    def get_additional_claims(self, request) -> dict:
        """The person's claims (released by scope, get_oidc_claims); an empty one is left out
        (OIDC Core §5.1: a claim without a value is not sent, rather than sent empty)."""
        user = request.user
        if user.subject:
            # Signed in by a login app: its subject; its placeholder address is never a claim
            # (the app gives claims through the consent's session.id_token instead).
            return {"sub": user.subject}
        claims = {
            "sub": user.oidc_subject,
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.get_full_name(),
            "given_name": user.given_name,
            "family_name": user.family_name,
            "picture": user.picture,
            "locale": user.locale,
            "zoneinfo": user.zoneinfo,
            "updated_at": int(user.updated_at.timestamp()),
        }
        return {claim: value for claim, value in claims.items() if value not in ("", None)}

    def get_oidc_claims(self, token, token_handler, request) -> dict:
        """The person's claims that the granted scopes release, as the scope catalogue says
        (ciam.oauth.scopes), for the ID token and userinfo alike; `sub` always."""
        released = released_claims(request.scopes) | {"sub"}
        return {
            claim: value(request) if callable(value) else value
            for claim, value in self.get_claim_dict(request).items()
            if claim in released
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
        # Claims a login and consent app added on consent accept (session.id_token); never the
        # ones this server sets itself.
        for claim, value in (context.get("id_token_claims") or {}).items():
            if claim not in PROTECTED_ID_TOKEN_CLAIMS:
                claims[claim] = value
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
        record = IDToken.objects.create(
            user=request.user,
            scope=request.scope or " ".join(request.scopes),
            expires=expiration_time,
            jti=id_token["jti"],
            application=request.client,
        )
        request.access_token = record
        request.id_token = record
        return signed.serialize()

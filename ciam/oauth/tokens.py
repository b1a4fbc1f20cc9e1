"""Token formats.

Opaque tokens are 256 random bits behind a readable prefix, so secret scanners can spot leaked
ones: `ciam_at_` (access), `ciam_rt_` (refresh), `ciam_ac_` (authorization code). Clients with
`access_token_strategy = jwt` get RFC 9068 JWT access tokens signed with the current key.
Only digests of any of them are stored (ciam.lib.crypto.token_checksum).
"""

import json
import secrets
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.models import revoke_access_token

from ciam.audit.services import audit_record
from ciam.lib.crypto import token_checksum
from ciam.oauth.keys import current_signing_key
from ciam.oauth.models import AccessToken, Grant, RefreshToken

ACCESS_TOKEN_PREFIX = "ciam_at_"
REFRESH_TOKEN_PREFIX = "ciam_rt_"
AUTHORIZATION_CODE_PREFIX = "ciam_ac_"


def _opaque(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_authorization_code() -> str:
    return _opaque(AUTHORIZATION_CODE_PREFIX)


def generate_refresh_token(request) -> str:
    return _opaque(REFRESH_TOKEN_PREFIX)


def access_token_lifespan(request) -> int:
    """Seconds an access token lives: the client's own setting, else the deployment's."""
    client = getattr(request, "client", None)
    return getattr(client, "access_token_lifespan", None) or settings.CIAM_ACCESS_TOKEN_LIFESPAN


def token_subject(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "pk", None) is not None:
        return user.oidc_subject
    return request.client.client_id


def audience(registered: list[str], client_id: str) -> list[str]:
    """A token's `aud`: the client's registered audience, else the client itself."""
    return list(registered) or [client_id]


def token_audience(client) -> list[str]:
    return audience(client.audience, client.client_id)


def generate_access_token(request) -> str:
    client = request.client
    if getattr(client, "access_token_strategy", "opaque") != "jwt":
        return _opaque(ACCESS_TOKEN_PREFIX)
    return sign_jwt_access_token(request)


def sign_jwt_access_token(request) -> str:
    """An RFC 9068 access token: header typ `at+jwt`, claims iss sub aud exp iat nbf jti ..."""
    key = current_signing_key()
    now = int(time.time())
    claims = {
        "iss": settings.CIAM_ISSUER,
        "sub": token_subject(request),
        "aud": (getattr(request, "ciam_auth_context", None) or {}).get("audience")
        or token_audience(request.client),
        "client_id": request.client.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + int(request.expires_in),
        "jti": str(uuid.uuid4()),
        "scope": " ".join(request.scopes or []),
    }
    ext = (getattr(request, "ciam_auth_context", None) or {}).get("access_token_claims")
    if ext:
        claims["ext"] = ext  # a consent app's session.access_token, as Hydra puts it
    token = jwt.JWT(
        header={"typ": "at+jwt", "alg": key.algorithm, "kid": key.kid},
        claims=json.dumps(claims),
    )
    token.make_signed_token(key.jwk)
    return token.serialize()


# --- Revocation ---------------------------------------------------------------------------------


@transaction.atomic
def tokens_revoke(*, user=None, client=None) -> dict[str, int]:
    """Revoke every token and pending code of `user` (at every client), of `client` (for every
    person), or of `user` at `client`: refresh tokens are marked revoked (a reused one is then
    recognised), access tokens, codes and device authorizations are deleted.

    The one home of "these tokens end now": a consent withdrawn, a client's tokens revoked or
    deleted, a person locked, deactivated or deleted.
    """
    if user is None and client is None:
        raise ValueError("tokens_revoke needs a user, a client or both.")
    scope = {}
    if user is not None:
        scope["user"] = user
    if client is not None:
        scope["application"] = client
    refreshed = RefreshToken.objects.filter(revoked__isnull=True, **scope).update(
        revoked=timezone.now(), access_token=None
    )
    access, _ = AccessToken.objects.filter(**scope).delete()
    Grant.objects.filter(**scope).delete()
    return {"access_tokens": access, "refresh_tokens": refreshed}


def token_revoke_by_value(*, actor: Any, token: str) -> bool:
    """Revoke an access or refresh token given its value. False if no live token has it."""
    return token_revoke_by_digest(actor=actor, digest=token_checksum(token))


@transaction.atomic
def token_revoke_by_digest(*, actor: Any, digest: str) -> bool:
    """Revoke the access or refresh token whose digest (token_checksum) is `digest`; False if no
    live token has it."""
    access = AccessToken.objects.select_related("application").filter(token_checksum=digest).first()
    if access is not None:
        client_id = access.application.client_id if access.application else ""
        revoke_access_token(access)
        audit_record(
            event="token.revoked", actor=actor, client_id=client_id, detail={"token_use": "access_token"}
        )
        return True
    refresh = (
        RefreshToken.objects.select_related("application")
        .filter(token_checksum=digest, revoked__isnull=True)
        .first()
    )
    if refresh is not None:
        refresh.revoke()
        audit_record(
            event="token.revoked",
            actor=actor,
            client_id=refresh.application.client_id,
            detail={"token_use": "refresh_token"},
        )
        return True
    return False


@transaction.atomic
def access_token_revoke(*, actor: Any, token: AccessToken) -> None:
    client_id = token.application.client_id if token.application else ""
    revoke_access_token(token)
    audit_record(
        event="token.revoked",
        actor=actor,
        client_id=client_id,
        subject=token.user.email if token.user else "",
        detail={"token_use": "access_token"},
    )

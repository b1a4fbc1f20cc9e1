"""Token formats.

Opaque tokens are 256 random bits behind a readable prefix, so secret scanners can spot leaked
ones: `ciam_at_` (access), `ciam_rt_` (refresh), `ciam_ac_` (authorization code). Clients with
`access_token_strategy = jwt` get RFC 9068 JWT access tokens signed with the current key.
Only digests of any of them are stored (ciam.oauth.crypto.token_checksum).
"""

import json
import secrets
import time
import uuid

from django.conf import settings
from jwcrypto import jwt

from ciam.oauth.keys import current_signing_key

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
        return str(user.pk)
    return request.client.client_id


def token_audience(client) -> list[str]:
    return list(client.audience) or [client.client_id]


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
        "aud": token_audience(request.client),
        "client_id": request.client.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + int(request.expires_in),
        "jti": str(uuid.uuid4()),
        "scope": " ".join(request.scopes or []),
    }
    token = jwt.JWT(
        header={"typ": "at+jwt", "alg": key.algorithm, "kid": key.kid},
        claims=json.dumps(claims),
    )
    token.make_signed_token(key.jwk)
    return token.serialize()

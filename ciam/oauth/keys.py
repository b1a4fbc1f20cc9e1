"""Signing keys: creation, rotation, the current key, the published JWKS.

Keys live in the database so that every app process signs with, and publishes, the same keys.
A parsed private key is cached per process by `kid` (a key never changes once written), so no
request parses a key; the question "which kid is current" is one indexed query.
"""

import json
import time
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException
from oauth2_provider.models import get_application_model

from ciam.audit.services import audit_record
from ciam.lib.crypto import fernet
from ciam.oauth.models import SigningKey

# kid -> parsed private key. Keys are immutable once stored, so this never goes stale.
_PARSED: dict[str, jwk.JWK] = {}
# The key that signs, remembered briefly: after a rotation elsewhere this process signs with the
# previous key for at most this long, which is harmless (it stays published in the JWKS).
CURRENT_KEY_TTL = 5.0
_current: tuple[float, "LoadedKey"] | None = None


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    algorithm: str
    jwk: jwk.JWK


def _encryption():
    return fernet("signing-key-encryption", settings.CIAM_KEY_ENCRYPTION_SECRET)


def encrypt_private(data: str) -> str:
    """Encrypt a private key (JSON) for storage; authenticated encryption (Fernet)."""
    return _encryption().encrypt(data.encode()).decode()


def decrypt_private(token: str) -> str:
    try:
        return _encryption().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError(
            "A signing key cannot be decrypted: CIAM_KEY_ENCRYPTION_SECRET (or SECRET_KEY) differs "
            "from the one the key was encrypted with."
        ) from exc


def _generate(algorithm: str) -> jwk.JWK:
    if algorithm == SigningKey.Algorithm.ES256:
        return jwk.JWK.generate(kty="EC", crv="P-256")
    # RSA-2048: an RSA-4096 signature costs ~15x more per token for no gain within key lifetimes.
    return jwk.JWK.generate(kty="RSA", size=2048)


def _max_signed_token_lifespan() -> int:
    """The longest a token signed by a key may live: ID tokens and JWT access tokens."""
    longest_client = get_application_model().objects.aggregate(
        at=Max("access_token_lifespan"), it=Max("id_token_lifespan")
    )
    return max(
        settings.CIAM_ID_TOKEN_LIFESPAN,
        settings.CIAM_ACCESS_TOKEN_LIFESPAN,
        longest_client["at"] or 0,
        longest_client["it"] or 0,
    )


def create_signing_key(*, algorithm: str | None = None) -> SigningKey:
    """Generate a key and store it (private part encrypted). The newest active key signs."""
    algorithm = algorithm or settings.CIAM_SIGNING_ALGORITHM
    if algorithm not in SigningKey.Algorithm.values:
        raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use RS256 or ES256")
    key = _generate(algorithm)
    kid = key.thumbprint()
    public = json.loads(key.export_public())
    public.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return SigningKey.objects.create(
        kid=kid,
        algorithm=algorithm,
        public_jwk=public,
        private_jwk_encrypted=encrypt_private(key.export_private()),
    )


@transaction.atomic
def rotate_signing_keys(*, algorithm: str | None = None) -> SigningKey:
    """Publish and start signing with a new key; retire the others.

    Retired keys stay in the JWKS until every token they may have signed has expired (the
    longest ID-token or JWT access-token lifespan, plus a minute of clock skew).
    """
    now = timezone.now()
    publish_until = now + timedelta(seconds=_max_signed_token_lifespan() + 60)
    new_key = create_signing_key(algorithm=algorithm)
    SigningKey.objects.filter(retired_at__isnull=True).exclude(pk=new_key.pk).update(
        retired_at=now, publish_until=publish_until
    )
    forget_current_key()
    return new_key


@transaction.atomic
def signing_key_rotate(*, actor, algorithm: str | None = None) -> SigningKey:
    """Rotate the signing keys (rotate_signing_keys), audited."""
    key = rotate_signing_keys(algorithm=algorithm)
    audit_record(
        event="signing_key.rotated", actor=actor, detail={"kid": key.kid, "algorithm": key.algorithm}
    )
    return key


def _load(record: SigningKey) -> LoadedKey:
    parsed = _PARSED.get(record.kid)
    if parsed is None:
        parsed = jwk.JWK.from_json(decrypt_private(record.private_jwk_encrypted))
        _PARSED[record.kid] = parsed
    return LoadedKey(kid=record.kid, algorithm=record.algorithm, jwk=parsed)


def current_signing_key() -> LoadedKey:
    """The key that signs now; created on first use if the deployment has none yet."""
    global _current
    now = time.monotonic()
    if _current is not None and now - _current[0] < CURRENT_KEY_TTL:
        return _current[1]
    record = (
        SigningKey.objects.filter(retired_at__isnull=True)
        .only("kid", "algorithm", "private_jwk_encrypted")
        .order_by("-created_at", "-id")
        .first()
    )
    if record is None:
        record = create_signing_key()
    loaded = _load(record)
    _current = (now, loaded)
    return loaded


def forget_current_key() -> None:
    """Drop this process's memory of the signing key (after a rotation made here)."""
    global _current
    _current = None


def verification_key(kid: str) -> LoadedKey | None:
    """A published key by kid (current or retired but still published), or None."""
    if not isinstance(kid, str) or not kid:
        return None
    record = published_keys().filter(kid=kid).first()
    return _load(record) if record else None


def published_keys():
    now = timezone.now()
    return SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(publish_until__gt=now))


def jwks() -> dict:
    """The public JWKS: the current key and every retired key still within its window."""
    keys = list(published_keys().order_by("-created_at", "-id").values_list("public_jwk", flat=True))
    if not keys:
        current_signing_key()
        keys = list(published_keys().values_list("public_jwk", flat=True))
    return {"keys": keys}


def id_token_claims(token: str) -> dict | None:
    """The claims of an ID token this server signed (with a key it still publishes), expired or
    not (OIDC Core §3.1.2.1: an expired id_token_hint still names the person); None for anything
    else."""
    try:
        unverified = jws.JWS()
        unverified.deserialize(token)
        header = unverified.jose_header
    except (JWException, ValueError, TypeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    key = verification_key(kid) if isinstance(kid, str) else None
    if key is None:
        return None
    try:
        claims = json.loads(jwt.JWT(key=key.jwk, jwt=token, check_claims={}).claims)
    except (JWException, ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("iss") != settings.CIAM_ISSUER:
        return None
    return claims

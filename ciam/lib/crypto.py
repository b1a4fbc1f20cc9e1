"""Keys derived from the deployment's secrets, and digests of credentials.

One place decides how a secret becomes a key (HKDF-SHA256 with a purpose label), so that keys
made for different purposes are independent of each other even when all come from SECRET_KEY.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256(secret) for one purpose; the same inputs always give the same key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"ciam-v1", info=purpose.encode()).derive(
        secret.encode()
    )


@lru_cache(maxsize=16)
def _fernet(secret: str, purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, purpose)))


def fernet(purpose: str, secret: str | None = None) -> Fernet:
    """Authenticated encryption (Fernet) with a key for `purpose`, derived from `secret`
    (SECRET_KEY unless given)."""
    return _fernet(secret if secret is not None else settings.SECRET_KEY, purpose)


def keyed_digest(value: str, purpose: str) -> str:
    """HMAC-SHA256 of a high-entropy credential (admin tokens, registration access tokens), keyed
    with a key for `purpose` derived from CIAM_CLIENT_SECRET_PEPPER.

    Such credentials carry 256 random bits: a keyed fast hash is as strong as any slow one, and
    a dump of the database without the pepper cannot even be checked against a guess."""
    key = derive_key(settings.CIAM_CLIENT_SECRET_PEPPER, purpose)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def token_checksum(value: str) -> str:
    """SHA-256 of a token, the only form in which tokens and codes are stored.

    Unsalted on purpose: tokens carry 256 random bits, so the digest can be indexed and looked
    up in one query, and a database dump still yields nothing usable.
    """
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()

"""Keys derived from the deployment's secrets, and token digests.

One place decides how a secret becomes a key (HKDF-SHA256 with a purpose label), so that the
client-secret pepper and the signing-key encryption key are independent of each other even when
both come from SECRET_KEY.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256(secret) for one purpose; the same inputs always give the same key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"ciam-v1", info=purpose.encode()).derive(
        secret.encode()
    )


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, "signing-key-encryption")))


def encrypt_private(data: str) -> str:
    """Encrypt a private key (JSON) for storage; authenticated encryption (Fernet)."""
    return _fernet(settings.CIAM_KEY_ENCRYPTION_SECRET).encrypt(data.encode()).decode()


def decrypt_private(token: str) -> str:
    try:
        return _fernet(settings.CIAM_KEY_ENCRYPTION_SECRET).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError(
            "A signing key cannot be decrypted: CIAM_KEY_ENCRYPTION_SECRET (or SECRET_KEY) differs "
            "from the one the key was encrypted with."
        ) from exc


def token_checksum(value: str) -> str:
    """SHA-256 of a token, the only form in which tokens and codes are stored.

    Unsalted on purpose: tokens carry 256 random bits, so the digest can be indexed and looked
    up in one query, and a database dump still yields nothing usable.
    """
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()

"""Password hashers: Argon2id for what a person chose, one keyed hash for generated secrets.

- `PasswordArgon2Hasher`: people's passwords (and client secrets a person chose), Argon2id
  through libsodium (PyNaCl), which picks the fastest code the CPU runs (AVX-512, AVX2, SSSE3 or
  portable) when it loads. Its hashes are the standard `$argon2id$` strings behind Django's
  `argon2` prefix, the same as Django's own Argon2 hasher writes (argon2-cffi), so hashes made by
  either verify with the other.
- `GeneratedSecretHasher`: server-generated client secrets. Such a secret carries 256 random
  bits: no amount of hashing makes a brute force of it more infeasible than it already is, so one
  HMAC-SHA256 with a server-side pepper is enough, and a token request never pays for a slow
  password hash. It is never the default for anything: it is chosen by name.
"""

import base64
import hashlib
import hmac
import re
import secrets
from functools import lru_cache

import nacl.exceptions
import nacl.pwhash
from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare

from ciam.lib.crypto import derive_key

_PHC = re.compile(r"^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


class PasswordArgon2Hasher(BasePasswordHasher):
    """Argon2id at m=7 MiB, t=5, p=1.

    One of the settings OWASP's Password Storage Cheat Sheet lists as equal in strength to its
    minimum (m=19 MiB, t=2), and Keycloak's default. With the same work it touches less memory,
    which stays in the CPU's cache. Django's default (m=100 MiB, t=2, p=8) costs several times
    more per sign-in for no required gain. Hashes made with other parameters still verify, and are
    upgraded when their owner next signs in (`must_update`).
    """

    algorithm = "argon2"
    time_cost = 5
    memory_cost = 7168  # KiB
    parallelism = 1  # libsodium computes one lane; hashes with more still verify

    def salt(self) -> str:
        # libsodium's Argon2 takes a salt of exactly crypto_pwhash_SALTBYTES (16) bytes.
        return _b64(secrets.token_bytes(nacl.pwhash.argon2id.SALTBYTES))

    def encode(self, password: str, salt: str) -> str:
        raw_salt = _unb64(salt)
        if len(raw_salt) != nacl.pwhash.argon2id.SALTBYTES:
            raise ValueError("An Argon2id salt here is 16 bytes, base64-encoded (see salt()).")
        digest = nacl.pwhash.argon2id.kdf(
            32,
            password.encode(),
            raw_salt,
            opslimit=self.time_cost,
            memlimit=self.memory_cost * 1024,
        )
        return (
            f"{self.algorithm}$argon2id$v=19$m={self.memory_cost},t={self.time_cost},"
            f"p={self.parallelism}${_b64(raw_salt)}${_b64(digest)}"
        )

    def decode(self, encoded: str) -> dict:
        algorithm, _, phc = encoded.partition("$")
        match = _PHC.match("$" + phc)
        if algorithm != self.algorithm or match is None:
            raise ValueError("Not an Argon2id hash.")
        version, memory, time, lanes, salt, digest = match.groups()
        return {
            "algorithm": algorithm,
            "version": int(version),
            "memory_cost": int(memory),
            "time_cost": int(time),
            "parallelism": int(lanes),
            "salt": salt,
            "hash": digest,
        }

    def verify(self, password: str, encoded: str) -> bool:
        phc = "$" + encoded.partition("$")[2]
        try:
            return nacl.pwhash.argon2id.verify(phc.encode(), password.encode())
        except (nacl.exceptions.InvalidkeyError, nacl.exceptions.CryptoError, ValueError):
            return False

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "version": decoded["version"],
            "memory cost": decoded["memory_cost"],
            "time cost": decoded["time_cost"],
            "parallelism": decoded["parallelism"],
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return (decoded["memory_cost"], decoded["time_cost"], decoded["parallelism"]) != (
            self.memory_cost,
            self.time_cost,
            self.parallelism,
        )

    def harden_runtime(self, password: str, encoded: str) -> None:
        # Hashes with other parameters are upgraded at the next sign-in (must_update).
        return None


@lru_cache(maxsize=4)
def _pepper(secret: str) -> bytes:
    return derive_key(secret, "client-secret-pepper")


class GeneratedSecretHasher(BasePasswordHasher):
    algorithm = "ciam_hmac_sha256"

    def salt(self) -> str:
        # High-entropy inputs need no salt; the pepper keys the hash to this deployment.
        return ""

    def encode(self, password: str, salt: str) -> str:
        digest = hmac.new(
            _pepper(settings.CIAM_CLIENT_SECRET_PEPPER), password.encode(), hashlib.sha256
        ).hexdigest()
        return f"{self.algorithm}$${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, salt, digest = encoded.split("$", 2)
        if algorithm != self.algorithm:
            raise ValueError("Not a generated-secret hash.")
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        return constant_time_compare(self.encode(password, ""), encoded)

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "hash": mask_hash(decoded["hash"])}

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None

"""A fast keyed hash for server-generated client secrets.

A generated secret carries 256 random bits: no amount of hashing makes a brute force of it more
infeasible than it already is, so one HMAC-SHA256 with a server-side pepper is enough, and a
token request never pays for a slow password hash (django-oauth-toolkit's default PBKDF2 costs
~225 ms per request). Secrets a person typed (accepted for migrations) are hashed with Argon2 by
clients.services instead. This hasher is never the default for anything: it is chosen by name.
"""

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare

from ciam.oauth.crypto import derive_key


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
        assert algorithm == self.algorithm
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


class PasswordArgon2Hasher(Argon2PasswordHasher):
    """Argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1) for people's passwords.

    Django's default (m=100 MiB, t=2, p=8) costs several times more per sign-in on a small server
    for no required gain; the OWASP setting keeps a sign-in well under 50 ms of one core. Hashes
    made with other parameters are upgraded when their owner next signs in.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19456
    parallelism = 1

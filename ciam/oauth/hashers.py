"""A fast keyed hash for server-generated client secrets.

A generated secret carries 256 random bits: no amount of hashing makes a brute force of it more
infeasible than it already is, so one HMAC-SHA256 with a server-side pepper is enough, and a
token request never pays for a slow password hash (django-oauth-toolkit's default PBKDF2 costs
~225 ms per request). Secrets a person typed (accepted for migrations) are hashed with Argon2 by
clients.services instead. This hasher is never the default for anything: it is chosen by name.
"""

import hashlib
import hmac
import platform
import re
import signal
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, mask_hash
from django.core.exceptions import ImproperlyConfigured
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
    """Argon2id for people's passwords: m=7 MiB, t=5, p=1.

    One of the settings OWASP's Password Storage Cheat Sheet lists as equal in strength to its
    minimum (m=19 MiB, t=2), and Keycloak's default. With the same work it touches less memory,
    which stays in the CPU's cache: about a quarter faster per check than m=19 MiB here, and
    about half again with the build compiled for the CPU (`deploy/argon2-native.sh`). Django's
    default (m=100 MiB, t=2, p=8) costs several times more per sign-in for no required gain.
    Hashes made with other parameters are upgraded when their owner next signs in.
    """

    algorithm = "argon2"
    time_cost = 5
    memory_cost = 7168
    parallelism = 1


_PROBE = "import argon2.low_level as a; a.hash_secret_raw(b'probe', b'probe-salt', 1, 64, 1, 16, a.Type.ID)"


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """The CPU's feature flags on x86-64 Linux, None where they cannot be read."""
    if cpuinfo is None:
        if platform.machine().lower() not in ("x86_64", "amd64"):
            return None
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.MULTILINE)
    return None if flags is None else set(flags.group(1).split())


def argon2_build_features() -> set[str]:
    """The CPU features the installed Argon2 may have been compiled for: what
    `deploy/argon2-native.sh` left beside the package, else AVX2 on x86-64 (a build from before
    the script noted it; PyPI's portable wheel passes the probe that this then runs)."""
    from importlib.util import find_spec

    spec = find_spec("_argon2_cffi_bindings")
    if spec is not None and spec.origin is not None:
        try:
            return set((Path(spec.origin).parent / "ciam-cpu-features.txt").read_text().split())
        except OSError:
            pass
    return {"avx2"} if platform.machine().lower() in ("x86_64", "amd64") else set()


def check_argon2_runs_here(probe: str = _PROBE) -> None:
    """Refuse to start where the installed Argon2 cannot run.

    `deploy/argon2-native.sh` compiles Argon2 for the CPU it runs on (AVX-512 or AVX2) and notes
    which features that build needs. A virtualenv or image moved to a CPU without them would have
    every sign-in kill its worker (SIGILL); say so at start-up instead. Where the CPU has every
    feature the build needs, or the build needs none, nothing is run.
    """
    needed = argon2_build_features()
    flags = cpu_flags()
    if not needed or (flags is not None and needed <= flags):
        return
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120, check=False)
    if ran.returncode == -signal.SIGILL:
        missing = " ".join(sorted(needed - (flags or set())))
        raise ImproperlyConfigured(
            f"The installed Argon2 (argon2-cffi-bindings) was compiled for CPUs with "
            f"{' '.join(sorted(needed))} and this CPU lacks {missing or 'some of them'}: every "
            "password check would crash. Rebuild it here with `deploy/argon2-native.sh "
            "$(which python)`, or reinstall the portable build: `pip install --force-reinstall "
            "--no-deps argon2-cffi-bindings` (or build the image with --build-arg ARGON2_NATIVE=off)."
        )

"""People's passwords: Argon2id at an OWASP setting, the same hashes from the build compiled for
the CPU (AVX-512 or AVX2) as from the portable one, old hashes upgraded at sign-in, and a clear
refusal where the build cannot run."""

import argon2.low_level
import pytest
from django.core.exceptions import ImproperlyConfigured

from ciam.accounts.models import User
from ciam.oauth import hashers

pytestmark = pytest.mark.django_db

PASSWORD = "a long password 1"
SALT, SALT64 = b"ciam-known-salt!", "Y2lhbS1rbm93bi1zYWx0IQ"  # SALT in the PHC string


@pytest.fixture
def production_hashers(settings):
    from ciam.settings import PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = PASSWORD_HASHERS  # the production list, not the tests' fast one


def test_passwords_are_hashed_with_argon2id_at_an_owasp_setting(production_hashers):
    # OWASP's Password Storage Cheat Sheet lists m=7 MiB, t=5, p=1 as equal to its minimum
    # (m=19 MiB, t=2); it is also Keycloak's default.
    user = User.objects.create_user(email="c@example.com", password=PASSWORD)
    assert user.password.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "x")


@pytest.mark.parametrize(
    ("time_cost", "memory_cost", "expected"),
    [
        # Computed once with PyPI's portable wheel of argon2-cffi-bindings.
        (5, 7168, "$argon2id$v=19$m=7168,t=5,p=1$" + SALT64 + "$pBzk7ZCd3QFtwcLmfokM87bajmY+VnaSZYHqNg3s3jk"),
        (
            2,
            19456,
            "$argon2id$v=19$m=19456,t=2,p=1$" + SALT64 + "$OQjY2Jbih580cJfdc8o/eG5p6T7CDnuC1I1GocuqcK0",
        ),
    ],
)
def test_the_installed_argon2_build_computes_the_reference_hashes(time_cost, memory_cost, expected):
    # deploy/argon2-native.sh may have compiled it with AVX-512 or AVX2: the hashes must not change, or no
    # stored password would verify.
    computed = argon2.low_level.hash_secret(
        b"correct horse battery staple", SALT, time_cost, memory_cost, 1, 32, argon2.low_level.Type.ID
    )
    assert computed.decode() == expected


def test_a_hash_with_the_earlier_parameters_still_signs_in_and_is_upgraded(production_hashers, client):
    user = User.objects.create_user(email="old@example.com", password="placeholder")
    # A hash made with the earlier setting (m=19 MiB, t=2), as stored before this release.
    old = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)
    user.password = "argon2" + old
    user.save(update_fields=["password"])

    response = client.post("/login", {"email": "old@example.com", "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
    assert user.check_password(PASSWORD)


def test_the_cpu_check_reads_the_cpu_flags():
    flags = hashers.cpu_flags("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 bmi2 avx512f avx512vl\n")
    assert {"avx2", "avx512f", "avx512vl"} <= flags
    assert "avx2" not in hashers.cpu_flags("processor\t: 0\nflags\t\t: fpu sse2 avx\n")
    assert hashers.cpu_flags("Features\t: fp asimd\n") is None


def test_the_build_notes_the_cpu_features_it_needs():
    # deploy/argon2-native.sh writes them beside the package it compiled (`make install` ran it).
    needed = hashers.argon2_build_features()
    assert needed, "an x86-64 build needs at least what AVX2 gives, or the note names more"
    assert needed <= {"avx2", "avx512f", "avx512vl"}


@pytest.mark.parametrize("needed", [{"avx2"}, {"avx2", "avx512f", "avx512vl"}])
def test_start_up_refuses_a_build_this_cpu_cannot_run(monkeypatch, needed):
    monkeypatch.setattr(hashers, "argon2_build_features", lambda: needed)
    monkeypatch.setattr(hashers, "cpu_flags", lambda: {"sse2", "avx", "avx2"})
    # What running code for missing instructions does to the probe process.
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGILL)"
    if needed == {"avx2"}:
        hashers.check_argon2_runs_here(probe=crash)  # the CPU has it all: no probe is run
        return
    with pytest.raises(ImproperlyConfigured, match="this CPU lacks avx512f avx512vl"):
        hashers.check_argon2_runs_here(probe=crash)
    # A build that runs (the one installed here) passes the same check.
    hashers.check_argon2_runs_here()


def test_start_up_runs_no_probe_where_the_cpu_has_what_the_build_needs(monkeypatch):
    monkeypatch.setattr(hashers, "argon2_build_features", lambda: {"avx2", "avx512f"})
    monkeypatch.setattr(hashers, "cpu_flags", lambda: {"avx2", "avx512f", "avx512vl"})

    def no_probe(*args, **kwargs):
        raise AssertionError("no probe process on a CPU with the build's features")

    monkeypatch.setattr(hashers.subprocess, "run", no_probe)
    hashers.check_argon2_runs_here()

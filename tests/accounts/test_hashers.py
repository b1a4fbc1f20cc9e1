"""ciam.accounts.hashers: people's passwords in Argon2id through libsodium (the standard
`$argon2id$` strings, so hashes made by Django's own Argon2 hasher verify and the other way
round), old parameters upgraded at sign-in; generated client secrets in one keyed hash."""

import argon2
import argon2.low_level
import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from ciam.accounts.hashers import GeneratedSecretHasher, PasswordArgon2Hasher
from ciam.accounts.models import User
from ciam.settings import PASSWORD_HASHERS

pytestmark = pytest.mark.django_db

PASSWORD = "a long password 1"
SALT = b"ciam-known-salt!"  # 16 bytes, as libsodium takes


@pytest.fixture
def production_hashers(settings):

    settings.PASSWORD_HASHERS = PASSWORD_HASHERS  # the production list, not the tests' fast one


def test_passwords_are_hashed_with_argon2id_at_an_owasp_setting(production_hashers):
    # OWASP's Password Storage Cheat Sheet lists m=7 MiB, t=5, p=1 as equal to its minimum
    # (m=19 MiB, t=2); it is also Keycloak's default.
    user = User.objects.create_user(email="c@example.com", password=PASSWORD)
    assert user.password.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
    assert isinstance(identify_hasher(user.password), PasswordArgon2Hasher)
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "x")


@pytest.mark.parametrize(
    ("time_cost", "memory_cost"),
    [(5, 7168), (2, 19456)],
)
def test_it_computes_the_hashes_argon2_cffi_computes(time_cost, memory_cost):
    # The reference implementation Django's own Argon2 hasher uses: the same salt and parameters
    # give the same hash, whichever CPU code libsodium picked.
    hasher = PasswordArgon2Hasher()
    hasher.time_cost, hasher.memory_cost = time_cost, memory_cost
    ours = hasher.encode(PASSWORD, "Y2lhbS1rbm93bi1zYWx0IQ")  # SALT, base64
    reference = argon2.low_level.hash_secret(
        PASSWORD.encode(), SALT, time_cost, memory_cost, 1, 32, argon2.low_level.Type.ID
    )
    assert ours == "argon2" + reference.decode()


def test_hashes_of_django_s_own_argon2_hasher_verify(production_hashers):
    # Written by argon2-cffi with Django's salts (22 characters) and its default parallelism (8):
    # every password stored before this hasher still signs in.
    for parallelism in (1, 8):
        stored = "argon2" + argon2.PasswordHasher(
            time_cost=2, memory_cost=19456, parallelism=parallelism
        ).hash(PASSWORD)
        assert check_password(PASSWORD, stored)
        assert not check_password("wrong", stored)


def test_our_hashes_verify_with_argon2_cffi():
    stored = make_password(PASSWORD, hasher="argon2")
    assert argon2.PasswordHasher().verify(stored.removeprefix("argon2"), PASSWORD)


def test_a_hash_with_the_earlier_parameters_still_signs_in_and_is_upgraded(production_hashers, client):
    user = User.objects.create_user(email="old@example.com", password="placeholder")
    # A hash made with the earlier setting (m=19 MiB, t=2), as stored before this release.
    user.password = "argon2" + argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(
        PASSWORD
    )
    user.save(update_fields=["password"])

    response = client.post("/login", {"email": "old@example.com", "password": PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize("garbage", ["argon2$argon2id$v=19$m=1,t=1,p=1$!!$!!", "argon2$", "argon2$nothing"])
def test_a_damaged_hash_never_matches(garbage):
    assert not PasswordArgon2Hasher().verify(PASSWORD, garbage)


def test_a_salt_is_what_libsodium_takes():
    hasher = PasswordArgon2Hasher()
    assert hasher.encode(PASSWORD, hasher.salt()) != hasher.encode(PASSWORD, hasher.salt())
    with pytest.raises(ValueError, match="16 bytes"):
        hasher.encode(PASSWORD, "c2hvcnQ")  # "short"


def test_the_summary_masks_the_salt_and_the_hash():
    encoded = make_password(PASSWORD, hasher="argon2")
    summary = PasswordArgon2Hasher().safe_summary(encoded)
    assert summary["memory cost"] == 7168 and summary["time cost"] == 5
    assert PasswordArgon2Hasher().decode(encoded)["hash"] not in str(summary)


def test_a_generated_secret_is_one_keyed_hash(settings):
    secret = "ciam_cs_" + "s" * 43
    encoded = make_password(secret, hasher="ciam_hmac_sha256")
    assert encoded.startswith("ciam_hmac_sha256$$") and secret not in encoded
    assert check_password(secret, encoded) and not check_password(secret + "x", encoded)
    settings.CIAM_CLIENT_SECRET_PEPPER = "another deployment's pepper"
    assert not check_password(secret, encoded)  # keyed to this deployment
    assert not GeneratedSecretHasher().must_update(encoded)

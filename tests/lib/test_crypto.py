"""ciam.lib.crypto: one derivation of keys per purpose, digests of credentials."""

import pytest
from cryptography.fernet import InvalidToken

from ciam.lib.crypto import derive_key, fernet, keyed_digest, token_checksum


def test_keys_of_different_purposes_are_independent():
    assert derive_key("secret", "a") != derive_key("secret", "b")
    assert derive_key("secret", "a") == derive_key("secret", "a") and len(derive_key("secret", "a")) == 32


def test_what_one_purpose_encrypts_another_cannot_read():
    sealed = fernet("console-one-time-secrets").encrypt(b"s3cret")
    assert fernet("console-one-time-secrets").decrypt(sealed) == b"s3cret"
    with pytest.raises(InvalidToken):
        fernet("api-page-token").decrypt(sealed)
    with pytest.raises(InvalidToken):
        fernet("console-one-time-secrets", "another deployment's secret").decrypt(sealed)


def test_a_keyed_digest_depends_on_the_pepper_and_the_purpose(settings):
    digest = keyed_digest("ciam_pat_x", "admin-token")
    assert digest != keyed_digest("ciam_pat_x", "registration-access-token")
    settings.CIAM_CLIENT_SECRET_PEPPER = "another pepper"
    assert keyed_digest("ciam_pat_x", "admin-token") != digest


def test_a_token_is_stored_as_its_sha256():
    assert token_checksum("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

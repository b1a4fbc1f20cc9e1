"""ciam.oauth.keys: signing keys encrypted at rest, rotation, publication windows."""

import json

import pytest
from django.core.management import call_command
from django.test import Client as DjangoClient
from django.utils import timezone
from jwcrypto import jwt

from ciam.oauth.keys import current_signing_key, decrypt_private
from ciam.oauth.models import SigningKey
from tests.helpers import jwks_set, tokens_for

pytestmark = pytest.mark.django_db


def test_the_private_key_is_encrypted_at_rest():
    current_signing_key()
    record = SigningKey.objects.get()
    assert '"d"' not in record.private_jwk_encrypted
    assert '"d"' in decrypt_private(record.private_jwk_encrypted)


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(flow, public_client):
    old = current_signing_key().kid
    call_command("rotate_keys")
    new = current_signing_key().kid
    assert new != old
    kids = [k["kid"] for k in DjangoClient().get("/.well-known/jwks.json").json()["keys"]]
    assert kids[0] == new and old in kids

    body = tokens_for(flow, public_client.client)
    header = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set(), expected_type="JWS").header)
    assert header["kid"] == new

    retired = SigningKey.objects.get(kid=old)
    assert retired.status == "retired (published)"


def test_a_retired_key_leaves_the_jwks_when_its_tokens_have_expired():

    old = current_signing_key().kid
    call_command("rotate_keys")
    SigningKey.objects.filter(kid=old).update(publish_until=timezone.now())
    kids = [k["kid"] for k in DjangoClient().get("/.well-known/jwks.json").json()["keys"]]
    assert old not in kids


def test_rotate_keys_if_missing_creates_only_one(capsys):
    call_command("rotate_keys", "--if-missing")
    call_command("rotate_keys", "--if-missing")
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


def test_es256_keys_are_supported(flow, public_client):
    call_command("rotate_keys", "--algorithm", "ES256")
    body = tokens_for(flow, public_client.client)
    header = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set(), expected_type="JWS").header)
    assert header["alg"] == "ES256"

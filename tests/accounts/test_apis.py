"""The admin API for identities (ciam.accounts.apis)."""

import json

import pytest
from django.test import Client as DjangoClient
from jwcrypto import jwt

from ciam.accounts.models import User
from tests.helpers import PASSWORD, Flow, call, jwks_set, signed_in, tokens_for

pytestmark = pytest.mark.django_db


def test_identities_crud_never_returns_a_password_or_hash(api):
    created = call(
        api,
        "post",
        "/admin/identities",
        {"email": "Ivy@Example.com", "password": "a long password 77", "name": "Ivy"},
    )
    assert created.status_code == 201
    body = created.json()
    text = json.dumps(body)
    assert (
        body["email"] == "ivy@example.com"
        and "password" not in text
        and "argon2" not in text
        and "md5" not in text
    )
    identity = f"/admin/identities/{body['id']}"
    assert api.get(identity).json()["name"] == "Ivy"
    patched = call(api, "patch", identity, {"name": "Ivy L.", "state": "inactive", "locked": True}).json()
    assert patched["name"] == "Ivy L." and patched["state"] == "inactive" and patched["locked"] is True
    assert call(api, "patch", identity, {"password": "short"}).status_code == 400
    assert call(api, "patch", identity, {"email": "other@example.com"}).status_code == 400
    assert call(api, "patch", identity, {"unknown": 1}).status_code == 400
    listed = api.get("/admin/identities", {"credentials_identifier": "ivy@example.com"}).json()
    assert [i["id"] for i in listed] == [body["id"]] and all("password" not in json.dumps(i) for i in listed)
    assert call(api, "post", "/admin/identities", {"email": "ivy@example.com"}).status_code == 400
    assert call(api, "post", "/admin/identities", {"email": "not-an-email"}).status_code == 400
    assert api.delete(identity).status_code == 204
    assert api.get(identity).status_code == 404
    assert api.get("/admin/identities/not-a-uuid").status_code == 404


def _id_token_and_userinfo(person, public_client) -> tuple[dict, dict]:
    body = tokens_for(Flow(signed_in(person)), public_client.client, scope="openid profile email")
    claims = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set()).claims)
    userinfo = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    return claims, userinfo


@pytest.mark.security("profile-claims-dropped")
def test_given_and_family_names_given_on_create_reach_the_id_token_and_userinfo(api, public_client):
    created = call(
        api,
        "post",
        "/admin/identities",
        {"email": "gf@example.com", "password": PASSWORD, "given_name": "Grace", "family_name": "Hopper"},
    ).json()
    assert (created["given_name"], created["family_name"]) == ("Grace", "Hopper")
    person = User.objects.get(pk=created["id"])
    for claims in _id_token_and_userinfo(person, public_client):
        assert claims["given_name"] == "Grace" and claims["family_name"] == "Hopper"
        assert claims["name"] == "Grace Hopper"


@pytest.mark.security("profile-claims-dropped")
def test_empty_claims_are_left_out_rather_than_sent_empty(api, public_client):
    created = call(
        api, "post", "/admin/identities", {"email": "plain@example.com", "password": PASSWORD}
    ).json()
    person = User.objects.get(pk=created["id"])
    for claims in _id_token_and_userinfo(person, public_client):
        assert "given_name" not in claims and "family_name" not in claims
        assert all(value != "" for value in claims.values()), claims


@pytest.mark.security("patch-silently-ignored")
def test_an_identity_patch_of_a_read_only_field_is_a_400_naming_it(api, user):
    path = f"/admin/identities/{user.pk}"
    current = api.get(path).json()
    refused = call(api, "patch", path, {"created_at": "2001-01-01T00:00:00Z"})
    assert refused.status_code == 400 and "created_at" in refused.json()["error_description"]
    # Echoed back unchanged (a read, edited, sent back), it is accepted.
    assert call(api, "patch", path, {**current, "name": "Alice L."}).json()["name"] == "Alice L."

"""Dynamic client registration (RFC 7591) and management (RFC 7592): clients.registration."""

import json

import pytest
from django.test import Client as DjangoClient

from clients.models import Client
from tests.helpers import cc

pytestmark = pytest.mark.django_db


def register(body, **extra):
    return DjangoClient().post("/oauth2/register", json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def enabled(settings):
    settings.CIAM_DCR_ENABLED = True


def test_registration_is_off_by_default(db):
    response = register({"client_name": "x"})
    assert response.status_code == 404
    assert "registration_endpoint" not in DjangoClient().get("/.well-known/openid-configuration").json()


def test_a_confidential_client_registers_and_gets_a_working_secret_and_a_registration_token(
    enabled, settings
):
    response = register({"client_name": "dyn", "grant_types": ["client_credentials"], "scope": "email"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["client_secret"].startswith("ciam_cs_") and body["registration_access_token"].startswith(
        "ciam_rat_"
    )
    assert body["registration_client_uri"] == f"{settings.CIAM_ISSUER}/oauth2/register/{body['client_id']}"
    assert body["client_secret_expires_at"] == 0 and body["client_id_issued_at"] > 0
    assert cc(body["client_id"], body["client_secret"], scope="email").status_code == 200
    stored = Client.objects.get(client_id=body["client_id"])
    assert body["registration_access_token"] not in stored.registration_token_hash
    assert "registration_endpoint" in DjangoClient().get("/.well-known/openid-configuration").json()


def test_a_registration_is_read_replaced_and_deleted_with_its_token(enabled):
    body = register(
        {
            "client_name": "native",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["com.example.app:/cb"],
            "scope": "openid",
        }
    ).json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {body['registration_access_token']}"}
    uri = f"/oauth2/register/{body['client_id']}"
    read = DjangoClient().get(uri, **auth)
    assert (
        read.status_code == 200
        and read.json()["client_name"] == "native"
        and "client_secret" not in read.json()
    )
    replaced = DjangoClient().put(
        uri,
        json.dumps(
            {
                "client_id": body["client_id"],
                "client_name": "renamed",
                "redirect_uris": ["com.example.app:/cb2"],
                "scope": "openid",
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert replaced.status_code == 200 and replaced.json()["redirect_uris"] == ["com.example.app:/cb2"]
    assert replaced.json()["token_endpoint_auth_method"] == "none"
    assert DjangoClient().delete(uri, **auth).status_code == 204
    assert not Client.objects.filter(client_id=body["client_id"]).exists()


def test_the_registration_token_is_required_and_is_per_client(enabled):
    one = register({"grant_types": ["client_credentials"]}).json()
    two = register({"grant_types": ["client_credentials"]}).json()
    uri = f"/oauth2/register/{one['client_id']}"
    assert DjangoClient().get(uri).status_code == 401
    assert (
        DjangoClient().get(uri, HTTP_AUTHORIZATION=f"Bearer {two['registration_access_token']}").status_code
        == 401
    )
    unknown = DjangoClient().get("/oauth2/register/c-nope", HTTP_AUTHORIZATION="Bearer whatever")
    assert unknown.status_code == 401 and unknown["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "body, error",
    [
        ({"skip_consent": True}, "invalid_client_metadata"),
        ({"metadata": {"a": 1}}, "invalid_client_metadata"),
        ({"scope": "ciam:admin", "grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"scope": "ciam:introspect", "grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"grant_types": ["implicit"], "redirect_uris": ["https://a.example/cb"]}, "invalid_client_metadata"),
        ([1, 2], "invalid_client_metadata"),
    ],
)
def test_privileges_and_bad_metadata_are_refused(enabled, body, error):
    before = Client.objects.count()
    response = register(body)
    assert response.status_code == 400 and response.json()["error"] == error
    assert Client.objects.count() == before


def test_bad_bodies_are_refused(enabled):
    assert (
        DjangoClient().post("/oauth2/register", "{nope", content_type="application/json").status_code == 400
    )
    assert (
        DjangoClient()
        .post("/oauth2/register", "a=b", content_type="application/x-www-form-urlencoded")
        .status_code
        == 400
    )
    assert DjangoClient().get("/oauth2/register").status_code == 405

"""The admin API's own endpoints (ciam.api.apis), and what every admin endpoint shares:
authentication, bad input."""

import json

import pytest
from django.test import Client as DjangoClient

from ciam.accounts.models import User
from clients.models import Client
from tests.helpers import admin_endpoints, call, cc, form_post

pytestmark = pytest.mark.django_db


def test_admin_introspection_needs_an_admin_token(admin_bearer, m2m_client):
    token = cc(m2m_client.client.client_id, m2m_client.client_secret).json()["access_token"]
    anonymous = form_post(DjangoClient(), "/admin/oauth2/introspect", {"token": token})
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    wrong = form_post(
        DjangoClient(), "/admin/oauth2/introspect", {"token": token}, HTTP_AUTHORIZATION="Bearer nope"
    )
    assert wrong.status_code == 401
    ok = form_post(
        DjangoClient(), "/admin/oauth2/introspect", {"token": token}, HTTP_AUTHORIZATION=admin_bearer
    )
    assert ok.status_code == 200
    assert ok.json()["active"] is True


def test_admin_introspection_checks_required_scopes(admin_bearer, m2m_client):
    token = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email").json()["access_token"]
    auth = {"HTTP_AUTHORIZATION": admin_bearer}
    assert (
        form_post(
            DjangoClient(), "/admin/oauth2/introspect", {"token": token, "scope": "email"}, **auth
        ).json()["active"]
        is True
    )
    assert form_post(
        DjangoClient(), "/admin/oauth2/introspect", {"token": token, "scope": "profile"}, **auth
    ).json() == {"active": False}
    assert form_post(DjangoClient(), "/admin/oauth2/introspect", {}, **auth).status_code == 400


def test_every_admin_endpoint_answers_401_without_a_token(m2m_client):
    before = (Client.objects.count(), User.objects.count())
    for method, path in admin_endpoints(m2m_client.client.client_id):
        response = call(DjangoClient(), method, path, {})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response["WWW-Authenticate"].startswith("Bearer"), (method, path)
        assert response.json()["error"] == "unauthorized"
    assert (Client.objects.count(), User.objects.count()) == before


@pytest.mark.parametrize(
    "raw, content_type, status",
    [
        ("{not json", "application/json", 400),
        ("[1, 2, 3]", "application/json", 400),
        ('"a string"', "application/json", 400),
        ("client_name=x", "application/x-www-form-urlencoded", 415),
        ("<xml/>", "application/xml", 415),
    ],
)
def test_bad_bodies_are_4xx(api, raw, content_type, status):
    response = api.post("/admin/clients", raw, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]


def test_a_huge_body_is_413(api):
    response = api.post(
        "/admin/clients", json.dumps({"client_name": "x" * 2_000_000}), content_type="application/json"
    )
    assert response.status_code == 413


def test_keys_show_public_parts_only_and_unknown_sets_are_404(api):
    keys = api.get("/admin/keys/hydra.openid.id-token").json()["keys"]
    assert keys and all("d" not in k for k in keys)
    assert api.get("/admin/keys/unknown-set").status_code == 404
    assert call(api, "post", "/admin/keys/hydra.openid.id-token", {"alg": "HS256"}).status_code == 400
    assert (
        call(api, "post", "/admin/keys/hydra.openid.id-token", {"alg": "RS256", "use": "enc"}).status_code
        == 400
    )


def test_the_version_is_public_at_slash_version_and_protected_under_admin():
    assert DjangoClient().get("/version").json()["version"].startswith("v")
    assert DjangoClient().get("/admin/version").status_code == 401


def test_admin_introspection_over_the_api_takes_a_form(api, m2m_client):
    token = cc(m2m_client.client.client_id, m2m_client.client_secret).json()["access_token"]
    assert form_post(api, "/admin/oauth2/introspect", {"token": token}).json()["active"] is True
    assert call(api, "post", "/admin/oauth2/introspect", {"token": token}).status_code == 415
    assert form_post(api, "/admin/oauth2/introspect", {}).status_code == 400

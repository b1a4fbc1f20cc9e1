"""/userinfo (ciam.oauth.views.userinfo): the claims of the granted scopes."""

import pytest
from django.test import Client as DjangoClient

from tests.helpers import cc, form_post, tokens_for

pytestmark = pytest.mark.django_db


def test_userinfo_releases_only_the_claims_of_granted_scopes(flow, public_client, user):
    body = tokens_for(flow, public_client.client, scope="openid email")
    response = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"] == str(user.pk)
    assert claims["email"] == "alice@example.com"
    assert "name" not in claims and "given_name" not in claims

    full = tokens_for(flow, public_client.client, scope="openid profile email")

    claims = form_post(
        DjangoClient(), "/userinfo", {}, HTTP_AUTHORIZATION=f"Bearer {full['access_token']}"
    ).json()
    assert claims["name"] == "Alice Liddell" and claims["family_name"] == "Liddell"


def test_userinfo_needs_a_valid_token_with_openid(m2m_client):
    anonymous = DjangoClient().get("/userinfo")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_token"
    assert "Bearer" in anonymous["WWW-Authenticate"]
    garbage = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION="Bearer garbage")
    assert garbage.status_code == 401
    m2m = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email").json()["access_token"]
    no_openid = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {m2m}")
    assert no_openid.status_code == 403
    assert no_openid.json()["error"] == "insufficient_scope"

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


@pytest.mark.security("bearer-challenge")
def test_userinfo_needs_a_valid_token_with_openid(m2m_client):
    # RFC 6750 §3.1: no credentials at all is the scheme, without an error code.
    anonymous = DjangoClient().get("/userinfo")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Bearer"
    assert "error" not in anonymous.json()
    garbage = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION="Bearer garbage")
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage["WWW-Authenticate"]
    m2m = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email").json()["access_token"]
    no_openid = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {m2m}")
    assert no_openid.status_code == 403
    assert no_openid.json()["error"] == "insufficient_scope"


@pytest.mark.security("token-in-query-string")
def test_an_access_token_in_the_query_string_is_refused(flow, public_client):
    """RFC 9700 §4.3.2 and OAuth 2.1: a token in a URL ends up in logs, history and Referer."""
    token = tokens_for(flow, public_client.client, scope="openid email")["access_token"]
    for response in (
        DjangoClient().get("/userinfo", {"access_token": token}),
        form_post(DjangoClient(), f"/userinfo?access_token={token}", {}),
    ):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
        assert "query string" in response.json()["error_description"]
        assert token not in response.content.decode()
    # The header and the form body still work, one at a time.
    assert DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert form_post(DjangoClient(), "/userinfo", {"access_token": token}).status_code == 200
    both = form_post(
        DjangoClient(), "/userinfo", {"access_token": token}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert both.status_code == 400 and "one way" in both.json()["error_description"]

"""/oauth2/token and /oauth2/revoke (ciam.oauth.views.token)."""

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.oauth.models import AccessToken
from clients.services import client_update
from tests.helpers import basic, cc, form_post, introspect, tokens_for

pytestmark = pytest.mark.django_db


def test_client_credentials_issues_an_opaque_prefixed_access_token(m2m_client):
    response = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].startswith("ciam_at_")
    assert len(body["access_token"]) >= len("ciam_at_") + 43  # 256 random bits
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "email"
    assert "refresh_token" not in body
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_client_credentials_without_scope_grants_no_scope(m2m_client):
    body = cc(m2m_client.client.client_id, m2m_client.client_secret).json()
    assert body.get("scope", "") == ""
    token = AccessToken.objects.get(application=m2m_client.client)
    assert token.scope == ""


def test_client_credentials_refuses_a_scope_the_client_is_not_allowed(m2m_client):
    response = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email profile")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_a_client_without_the_grant_is_unauthorized_client(confidential_client):
    response = cc(confidential_client.client.client_id, confidential_client.client_secret, via="post")
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


def test_a_disabled_client_gets_no_token(m2m_client):
    type(m2m_client.client).objects.filter(pk=m2m_client.client.pk).update(is_active=False)
    response = cc(m2m_client.client.client_id, m2m_client.client_secret)
    assert response.status_code == 401


def test_per_client_access_token_lifespan(m2m_client):
    client_update(client=m2m_client.client, access_token_lifespan=300)
    body = cc(m2m_client.client.client_id, m2m_client.client_secret).json()
    assert body["expires_in"] == 300
    token = AccessToken.objects.get(application=m2m_client.client)
    remaining = (token.expires - timezone.now()).total_seconds()
    assert 290 < remaining <= 300


def test_revoking_an_access_token_makes_it_inactive(resource_server, m2m_client):
    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret
    token = cc(client_id, secret).json()["access_token"]
    response = form_post(
        DjangoClient(), "/oauth2/revoke", {"token": token}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )
    assert response.status_code == 200
    assert introspect(resource_server, token).json() == {"active": False}


def test_revoking_a_refresh_token_also_ends_its_access_token(flow, public_client, resource_server):
    body = tokens_for(flow, public_client.client)
    response = form_post(
        DjangoClient(),
        "/oauth2/revoke",
        {
            "token": body["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": public_client.client.client_id,
        },
    )
    assert response.status_code == 200
    assert introspect(resource_server, body["refresh_token"]).json() == {"active": False}
    assert introspect(resource_server, body["access_token"]).json() == {"active": False}


def test_a_client_cannot_revoke_another_clients_token(m2m_client, make_client, resource_server):
    other = make_client(client_name="other", grant_types=["client_credentials"])
    token = cc(m2m_client.client.client_id, m2m_client.client_secret).json()["access_token"]
    response = form_post(
        DjangoClient(),
        "/oauth2/revoke",
        {"token": token},
        HTTP_AUTHORIZATION=basic(other.client.client_id, other.client_secret),
    )
    assert response.status_code == 200  # RFC 7009 §2.2: no disclosure
    assert introspect(resource_server, token).json()["active"] is True


def test_revocation_needs_client_authentication(m2m_client):
    token = cc(m2m_client.client.client_id, m2m_client.client_secret).json()["access_token"]
    response = form_post(DjangoClient(), "/oauth2/revoke", {"token": token})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_revoking_an_unknown_token_answers_200(m2m_client):
    response = form_post(
        DjangoClient(),
        "/oauth2/revoke",
        {"token": "unknown"},
        HTTP_AUTHORIZATION=basic(m2m_client.client.client_id, m2m_client.client_secret),
    )
    assert response.status_code == 200

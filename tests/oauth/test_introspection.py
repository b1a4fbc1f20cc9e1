"""ciam.oauth.introspection and /oauth2/introspect: Hydra's fields, who may see what."""

from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.oauth.models import AccessToken
from tests.helpers import basic, cc, form_post, introspect, tokens_for

pytestmark = pytest.mark.django_db


HYDRA_FIELDS = {
    "active",
    "client_id",
    "scope",
    "sub",
    "exp",
    "iat",
    "nbf",
    "iss",
    "aud",
    "token_type",
    "token_use",
}


def test_a_resource_server_introspects_any_live_token_with_hydras_fields(
    resource_server, m2m_client, settings
):
    token = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email").json()["access_token"]
    response = introspect(resource_server, token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == HYDRA_FIELDS
    assert body["active"] is True
    assert body["client_id"] == m2m_client.client.client_id
    assert body["scope"] == "email"
    assert body["sub"] == m2m_client.client.client_id
    assert body["iss"] == settings.CIAM_ISSUER
    assert body["token_type"] == "Bearer"
    assert body["token_use"] == "access_token"
    assert body["aud"] == [m2m_client.client.client_id]
    assert 3599 <= body["exp"] - body["iat"] <= 3600  # stored at different instants of one request
    assert response["Cache-Control"] == "no-store"


def test_a_user_token_introspects_with_the_user_as_subject(resource_server, flow, public_client, user):
    body = tokens_for(flow, public_client.client)
    answer = introspect(resource_server, body["access_token"]).json()
    assert answer["sub"] == str(user.pk)
    refresh_answer = introspect(
        resource_server, body["refresh_token"], token_type_hint="refresh_token"
    ).json()
    assert refresh_answer["active"] is True
    assert refresh_answer["token_use"] == "refresh_token"
    assert refresh_answer["sub"] == str(user.pk)


def test_an_ordinary_client_may_introspect_only_its_own_tokens(m2m_client, make_client):
    other = make_client(client_name="other", grant_types=["client_credentials"], scope="email")
    mine = cc(m2m_client.client.client_id, m2m_client.client_secret).json()["access_token"]
    theirs = cc(other.client.client_id, other.client_secret).json()["access_token"]
    assert introspect(m2m_client, mine).json()["active"] is True
    assert introspect(m2m_client, theirs).json() == {"active": False}


def test_a_public_client_cannot_introspect(public_client):
    response = form_post(
        DjangoClient(), "/oauth2/introspect", {"token": "x", "client_id": public_client.client.client_id}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_introspection_requires_client_authentication(m2m_client):
    assert form_post(DjangoClient(), "/oauth2/introspect", {"token": "x"}).status_code == 401
    wrong = form_post(
        DjangoClient(),
        "/oauth2/introspect",
        {"token": "x"},
        HTTP_AUTHORIZATION=basic(m2m_client.client.client_id, "nope"),
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize("garbage", ["garbage", "ciam_at_" + "A" * 43, "x" * 9000, "é☃"])
def test_garbage_is_inactive(resource_server, garbage):
    assert introspect(resource_server, garbage).json() == {"active": False}


def test_a_nul_byte_is_invalid_request(resource_server):
    response = introspect(resource_server, "abc\u0000def")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_expired_revoked_and_disabled_client_tokens_are_inactive(resource_server, m2m_client):
    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret
    expired = cc(client_id, secret).json()["access_token"]
    AccessToken.objects.filter(application=m2m_client.client).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert introspect(resource_server, expired).json() == {"active": False}

    revoked = cc(client_id, secret).json()["access_token"]
    form_post(
        DjangoClient(), "/oauth2/revoke", {"token": revoked}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )
    assert introspect(resource_server, revoked).json() == {"active": False}

    live = cc(client_id, secret).json()["access_token"]
    type(m2m_client.client).objects.filter(pk=m2m_client.client.pk).update(is_active=False)
    assert introspect(resource_server, live).json() == {"active": False}


def test_the_token_parameter_is_required(resource_server):
    response = form_post(
        DjangoClient(),
        "/oauth2/introspect",
        {},
        HTTP_AUTHORIZATION=basic(resource_server.client.client_id, resource_server.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"

"""/oauth2/introspect, /admin/oauth2/introspect and /oauth2/revoke."""

from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.oauth.models import AccessToken
from tests.helpers import basic, cc, form_post, tokens_for

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


def introspect(client_result, token, **extra):
    return form_post(
        DjangoClient(),
        "/oauth2/introspect",
        {"token": token, **extra},
        HTTP_AUTHORIZATION=basic(client_result.client.client_id, client_result.client_secret),
    )


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


# --- Admin introspection --------------------------------------------------------------------------


@pytest.fixture
def admin_bearer(db):
    from ciam.api.services import admin_token_create

    _, token = admin_token_create(actor=None, name="tests")
    return f"Bearer {token}"


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


# --- Revocation -------------------------------------------------------------------------------------


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

"""Checklist: what a disabled or deleted client holds is dead everywhere.

Its access tokens (opaque, of a person and of the client itself), refresh tokens and unredeemed
codes stop working at every endpoint that accepts them, and a client registered later under the
same client_id does not bring them back.
"""

import pytest
from django.test import Client as DjangoClient

from clients.services import client_delete, client_set_active
from tests.helpers import basic, cc, confidential_tokens, exchange, form_post, pkce_pair, refresh

pytestmark = [pytest.mark.django_db, pytest.mark.security("deleted-or-disabled-client")]


@pytest.fixture
def resource_server_auth(resource_server):
    return basic(resource_server.client.client_id, resource_server.client_secret)


def _holdings(flow, confidential_client):
    """Everything a client may hold: a person's tokens, its own token, and a code not yet redeemed."""
    client = confidential_client.client
    type(client).objects.filter(pk=client.pk).update(grant_types=client.grant_types + ["client_credentials"])
    client.refresh_from_db()
    person = confidential_tokens(flow, confidential_client)
    own = cc(client.client_id, confidential_client.client_secret, via="post").json()
    verifier, challenge = pkce_pair()
    code = flow.code(client.client_id, challenge=challenge, redirect_uri="https://app.example.com/callback")
    return {"person": person, "own": own["access_token"], "code": (code, verifier)}


def _assert_all_dead(held, client_id, secret, resource_server_auth):
    for token in (held["person"]["access_token"], held["own"], held["person"]["refresh_token"]):
        answer = form_post(
            DjangoClient(), "/oauth2/introspect", {"token": token}, HTTP_AUTHORIZATION=resource_server_auth
        )
        assert answer.json() == {"active": False}
    userinfo = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {held['person']['access_token']}")
    assert userinfo.status_code == 401
    refreshed = refresh(client_id, held["person"]["refresh_token"], client_secret=secret)
    assert refreshed.status_code in (400, 401) and "access_token" not in refreshed.json()
    code, verifier = held["code"]
    redeemed = exchange(
        DjangoClient(),
        client_id,
        code,
        verifier,
        redirect_uri="https://app.example.com/callback",
        client_secret=secret,
    )
    assert redeemed.status_code in (400, 401) and "access_token" not in redeemed.json()
    assert cc(client_id, secret, via="post").status_code == 401


def test_a_disabled_clients_tokens_and_codes_are_dead_everywhere(
    flow, confidential_client, resource_server_auth
):
    held = _holdings(flow, confidential_client)
    client = confidential_client.client
    client_set_active(client=client, active=False, actor_label="tests")
    _assert_all_dead(held, client.client_id, confidential_client.client_secret, resource_server_auth)
    authorize = flow.web.get("/oauth2/auth", {"client_id": client.client_id, "response_type": "code"})
    assert authorize.status_code == 400 and "Location" not in authorize


def test_a_deleted_clients_tokens_stay_dead_even_if_its_client_id_is_registered_again(
    flow, confidential_client, make_client, resource_server_auth
):
    held = _holdings(flow, confidential_client)
    client = confidential_client.client
    client_delete(client=client, actor_label="tests")
    _assert_all_dead(held, client.client_id, confidential_client.client_secret, resource_server_auth)

    # Someone registers the same client_id (and even the same secret) afterwards.
    again = make_client(
        client_id=client.client_id,
        client_secret=confidential_client.client_secret,
        client_name="Impostor",
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        scope=client.scope,
        redirect_uris=client.redirect_uri_list,
        token_endpoint_auth_method="client_secret_post",
    )
    assert again.client.pk != client.pk
    for token in (held["person"]["access_token"], held["own"], held["person"]["refresh_token"]):
        answer = form_post(
            DjangoClient(), "/oauth2/introspect", {"token": token}, HTTP_AUTHORIZATION=resource_server_auth
        )
        assert answer.json() == {"active": False}
    assert (
        refresh(
            client.client_id, held["person"]["refresh_token"], client_secret=again.client_secret
        ).status_code
        == 400
    )

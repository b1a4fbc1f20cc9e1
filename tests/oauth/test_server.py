"""ciam.oauth.server: what the composed oauthlib server accepts: the code flow only, PKCE S256 with
RFC 7636's syntax."""

import pytest
from django.test import Client as DjangoClient

from tests.helpers import exchange, pkce_pair, query_of

pytestmark = pytest.mark.django_db


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_the_plain_challenge_method_before_consent(flow, public_client):
    response = flow.authorize(
        public_client.client.client_id, extra={"code_challenge": "a" * 43, "code_challenge_method": "plain"}
    )
    params = query_of(response["Location"])
    assert params["error"] == "invalid_request"
    assert "S256" in params["error_description"]


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_a_challenge_without_method_as_plain(flow, public_client):
    response = flow.authorize(public_client.client.client_id, extra={"code_challenge": "a" * 43})
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_it_refuses_a_malformed_s256_challenge(flow, public_client):
    response = flow.authorize(
        public_client.client.client_id, extra={"code_challenge": "short", "code_challenge_method": "S256"}
    )
    assert query_of(response["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("verifier", ["x" * 42, "x" * 129, "a" * 42 + "!"])
def test_it_refuses_a_verifier_of_the_wrong_shape(flow, public_client, verifier):
    _, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), public_client.client.client_id, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "43 to 128" in response.json()["error_description"]


def test_implicit_response_types_are_refused(flow, public_client):
    response = flow.authorize(public_client.client.client_id, extra={"response_type": "token"})
    assert query_of(response["Location"])["error"] == "unsupported_response_type"

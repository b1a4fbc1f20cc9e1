"""A sign-in whose `next` is an authorization request answers as /oauth2/auth would, in the same
response (one round trip less); anything else (an error, a request for another sign-in) is left
to /oauth2/auth, with the person still signed in and nothing changed."""

import json
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from jwcrypto import jwt

from ciam.oauth.models import Grant
from ciam.oauth.validator import CiamValidator
from consent.models import Consent
from tests.helpers import CALLBACK, PASSWORD, authorization_query, exchange, jwks_set, pkce_pair, query_of

pytestmark = pytest.mark.django_db


def authorize_url(client_id: str, challenge: str, **params) -> str:
    return f"/oauth2/auth?{urlencode(authorization_query(client_id, challenge, nonce='n1', **params))}"


def sign_in(web, user, next_url, **extra):
    return web.post("/login", {"email": user.email, "password": PASSWORD, "next": next_url, **extra})


def remember(user, client, scopes=("openid", "email")):
    Consent.objects.create(user=user, client=client, scopes=list(scopes), remember=True)


def test_with_a_remembered_consent_the_sign_in_redirects_to_the_client_with_a_code(user, public_client):
    app = public_client.client
    remember(user, app)
    verifier, challenge = pkce_pair()
    web = DjangoClient()
    to_login = web.get(authorize_url(app.client_id, challenge))
    next_url = query_of(to_login["Location"])["next"]
    before = int(time.time())

    response = sign_in(web, user, next_url)

    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK + "?")
    answer = query_of(response["Location"])
    assert answer["state"] == "s1" and answer["iss"] == settings.CIAM_ISSUER
    tokens = exchange(DjangoClient(), app.client_id, answer["code"], verifier)
    assert tokens.status_code == 200, tokens.content
    claims = json.loads(jwt.JWT(key=jwks_set(), jwt=tokens.json()["id_token"]).claims)
    # The ID token carries this sign-in: its time, its method, the nonce of the resumed request.
    assert claims["sub"] == str(user.pk) and claims["nonce"] == "n1"
    assert before <= claims["auth_time"] <= int(time.time()) and claims["amr"] == ["pwd"]
    # The session the browser now holds is the signed-in one: the next request is served silently.
    _, challenge = pkce_pair()
    again = web.get(authorize_url(app.client_id, challenge, prompt="none"))
    assert "code" in query_of(again["Location"])


def test_without_a_consent_the_sign_in_goes_straight_to_the_consent_page(user, public_client):
    _, challenge = pkce_pair()
    web = DjangoClient()
    response = sign_in(web, user, authorize_url(public_client.client.client_id, challenge))
    assert response["Location"].startswith("/consent?consent_challenge=")
    page = web.get(response["Location"])
    assert page.status_code == 200 and "Public CLI" in page.content.decode()


def test_registration_completes_the_request_the_same_way(db, make_client):
    app = make_client(
        client_name="First party",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[CALLBACK],
        skip_consent=True,
    ).client
    _, challenge = pkce_pair()
    response = DjangoClient().post(
        "/registration",
        {
            "email": "new@example.com",
            "password": "a sturdy passphrase 9",
            "password_confirm": "a sturdy passphrase 9",
            "next": authorize_url(app.client_id, challenge),
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK) and "code" in query_of(response["Location"])


def test_max_age_zero_is_satisfied_by_the_sign_in_it_asked_for(user, public_client):
    remember(user, public_client.client)
    _, challenge = pkce_pair()
    web = DjangoClient()
    to_login = web.get(authorize_url(public_client.client.client_id, challenge, max_age="0"))
    assert to_login["Location"].startswith("/login?")
    time.sleep(1.1)  # a sign-in a second old is "older than 0 seconds" on a later request
    response = sign_in(web, user, query_of(to_login["Location"])["next"])
    assert response["Location"].startswith(CALLBACK) and "code" in query_of(response["Location"])


@pytest.mark.parametrize(
    "extra",
    [
        {"prompt": "login"},  # asks for another sign-in: /oauth2/auth handles it, no sign-out here
        {"prompt": "none"},
        {"prompt": "bogus"},
        {"max_age": "-1"},
        {"id_token_hint": "not-a-token"},
        {"redirect_uri": "https://evil.example/callback"},
        {"code_challenge_method": "plain"},
    ],
)
def test_anything_but_a_plain_request_is_left_to_the_authorization_endpoint(user, public_client, extra):
    remember(user, public_client.client)
    _, challenge = pkce_pair()
    next_url = authorize_url(public_client.client.client_id, challenge, **extra)
    web = DjangoClient()
    response = sign_in(web, user, next_url)
    assert response.status_code == 302 and response["Location"] == next_url
    assert not Grant.objects.exists()
    assert web.session["_auth_user_id"] == str(user.pk)  # still signed in


def test_an_unknown_or_disabled_client_is_left_to_the_authorization_endpoint(user, public_client):
    from clients.services import client_set_active

    _, challenge = pkce_pair()
    unknown = authorize_url("no-such-client", challenge)
    assert sign_in(DjangoClient(), user, unknown)["Location"] == unknown
    client_set_active(client=public_client.client, active=False, actor_label="tests")
    disabled = authorize_url(public_client.client.client_id, challenge)
    web = DjangoClient()
    assert sign_in(web, user, disabled)["Location"] == disabled
    assert web.get(disabled).status_code == 400  # the error is shown there, as before


def test_the_form_fields_never_reach_oauthlib(user, public_client, monkeypatch):
    remember(user, public_client.client)
    seen = []
    original = CiamValidator.save_authorization_code

    def spy(self, client_id, code, request, *args, **kwargs):
        seen.append((request.uri, request.body, dict(request.headers)))
        return original(self, client_id, code, request, *args, **kwargs)

    monkeypatch.setattr(CiamValidator, "save_authorization_code", spy)
    _, challenge = pkce_pair()
    sign_in(DjangoClient(), user, authorize_url(public_client.client.client_id, challenge))
    assert len(seen) == 1
    uri, body, headers = seen[0]
    assert PASSWORD not in f"{uri}{body}{headers}" and "csrfmiddlewaretoken" not in f"{uri}{body}"
    assert uri.startswith("/oauth2/auth?response_type=code&") and not body

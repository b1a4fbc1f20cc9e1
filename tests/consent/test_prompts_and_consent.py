"""The authorization request's OIDC parameters and remembered consent (OIDC Core §3.1.2.1)."""

import json

import pytest
from django.test import Client as DjangoClient
from jwcrypto import jwt

from ciam.accounts.authn import SESSION_KEY
from ciam.audit.models import AuditEvent
from consent.models import Consent
from tests.helpers import (
    CALLBACK,
    PASSWORD,
    authorize,
    consent,
    exchange,
    jwks_set,
    pkce_pair,
    query_of,
    signed_in,
)

pytestmark = pytest.mark.django_db


# --- prompt -----------------------------------------------------------------------------------


def test_prompt_login_forces_a_new_sign_in_and_then_resumes(user, public_client):
    web = signed_in(user)
    response = authorize(web, public_client.client.client_id, prompt="login")
    assert response["Location"].startswith("/login?")
    assert "_auth_user_id" not in web.session  # the old sign-in no longer counts
    next_url = query_of(response["Location"])["next"]
    assert "prompt" not in query_of(next_url) and query_of(next_url)["state"] == "s1"
    resumed = web.post("/login", {"email": user.email, "password": PASSWORD, "next": next_url})
    # The sign-in completes the resumed request itself: the consent page, no second sign-in.
    assert resumed["Location"].startswith("/consent?")
    assert web.get(resumed["Location"]).status_code == 200


def test_prompt_consent_shows_the_page_even_when_remembered(user, public_client):
    web = signed_in(user)
    first = authorize(web, public_client.client.client_id)
    consent(web, first["Location"], scopes=["email"])
    assert "code" in query_of(authorize(web, public_client.client.client_id)["Location"])
    forced = authorize(web, public_client.client.client_id, prompt="consent")
    assert forced["Location"].startswith("/consent?")


def test_prompt_none_answers_interaction_required_for_another_account(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"])
    response = authorize(web, public_client.client.client_id, prompt="none", login_hint="bob@example.com")
    assert query_of(response["Location"])["error"] == "interaction_required"
    ok = authorize(web, public_client.client.client_id, prompt="none", login_hint="alice@example.com")
    assert "code" in query_of(ok["Location"])


def test_prompt_none_with_remembered_consent_issues_a_code_silently(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"])
    response = authorize(web, public_client.client.client_id, prompt="none")
    assert response["Location"].startswith(CALLBACK)
    assert "code" in query_of(response["Location"])


@pytest.mark.parametrize("prompt", ["none login", "none consent", "bogus"])
def test_invalid_prompt_combinations_are_invalid_request(user, public_client, prompt):
    response = authorize(signed_in(user), public_client.client.client_id, prompt=prompt)
    assert query_of(response["Location"])["error"] == "invalid_request"


# --- max_age ---------------------------------------------------------------------------------


def test_max_age_within_the_limit_keeps_the_session(user, public_client):
    web = signed_in(user, auth_age=30)
    response = authorize(web, public_client.client.client_id, max_age="600")
    assert response["Location"].startswith("/consent?")


def test_max_age_exceeded_forces_a_new_sign_in(user, public_client):
    web = signed_in(user, auth_age=700)
    response = authorize(web, public_client.client.client_id, max_age="600")
    assert response["Location"].startswith("/login?")


def test_max_age_exceeded_with_prompt_none_is_login_required(user, public_client):
    web = signed_in(user, auth_age=700)
    response = authorize(web, public_client.client.client_id, max_age="600", prompt="none")
    assert query_of(response["Location"])["error"] == "login_required"


@pytest.mark.parametrize("value", ["-1", "soon", "1e9x"])
def test_a_malformed_max_age_is_invalid_request(user, public_client, value):
    response = authorize(signed_in(user), public_client.client.client_id, max_age=value)
    assert query_of(response["Location"])["error"] == "invalid_request"


# --- login_hint / id_token_hint --------------------------------------------------------------


def test_login_hint_reaches_the_login_page(public_client):
    response = authorize(DjangoClient(), public_client.client.client_id, login_hint="carol@example.com")
    page = DjangoClient().get(response["Location"])
    assert 'value="carol@example.com"' in page.content.decode()


def test_an_id_token_hint_for_someone_else_forces_sign_in(user, public_client, django_user_model):
    bob = django_user_model.objects.create_user(email="bob@example.com", password=PASSWORD)
    bob_web = signed_in(bob)
    verifier, challenge = pkce_pair()
    location = authorize(bob_web, public_client.client.client_id, code_challenge=challenge)["Location"]
    code = query_of(consent(bob_web, location, scopes=["email"])["Location"])["code"]
    bobs_id_token = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()[
        "id_token"
    ]

    alice_web = signed_in(user)
    silent = authorize(alice_web, public_client.client.client_id, prompt="none", id_token_hint=bobs_id_token)
    assert query_of(silent["Location"])["error"] == "login_required"
    loud = authorize(alice_web, public_client.client.client_id, id_token_hint=bobs_id_token)
    assert loud["Location"].startswith("/login?")


def test_a_forged_id_token_hint_is_invalid_request(user, public_client):
    response = authorize(
        signed_in(user), public_client.client.client_id, id_token_hint="eyJhbGciOiJub25lIn0.e30."
    )
    assert query_of(response["Location"])["error"] == "invalid_request"


# --- Consent ----------------------------------------------------------------------------------


def test_a_remembered_consent_skips_the_page_for_the_same_scopes(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"])
    again = authorize(web, public_client.client.client_id)
    assert again["Location"].startswith(CALLBACK)
    stored = Consent.objects.get(user=user, client=public_client.client)
    assert stored.remember and set(stored.scopes) == {"openid", "email"}


def test_a_request_for_a_new_scope_shows_the_page_again(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"])
    wider = authorize(web, public_client.client.client_id, scope="openid email profile")
    assert wider["Location"].startswith("/consent?")
    page = web.get(wider["Location"]).content.decode()
    assert "See your name and basic profile" in page


def test_an_unticked_scope_is_not_remembered_as_granted(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=[])
    assert set(Consent.objects.get(user=user).scopes) == {"openid"}
    assert authorize(web, public_client.client.client_id)["Location"].startswith("/consent?")


def test_a_consent_not_remembered_asks_again(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"], remember=False)
    assert authorize(web, public_client.client.client_id)["Location"].startswith("/consent?")


def test_consent_is_per_user(user, public_client, django_user_model):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"])
    bob = django_user_model.objects.create_user(email="bob@example.com", password=PASSWORD)
    assert authorize(signed_in(bob), public_client.client.client_id)["Location"].startswith("/consent?")


def test_granting_nothing_when_only_optional_scopes_were_asked_is_refused(user, make_client):
    client = make_client(
        client_name="api", token_endpoint_auth_method="none", redirect_uris=[CALLBACK], scope="email profile"
    ).client
    web = signed_in(user)
    location = authorize(web, client.client_id, scope="email profile")["Location"]
    refused = consent(web, location, scopes=[])
    assert refused.status_code == 400
    assert "Choose at least one permission" in refused.content.decode()
    granted = consent(web, location, scopes=["profile"])
    assert "code" in query_of(granted["Location"])


def test_consent_decisions_are_audited(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"], remember=False)
    consent(web, authorize(web, public_client.client.client_id)["Location"], deny=True)
    events = set(
        AuditEvent.objects.filter(client_id=public_client.client.client_id).values_list("event", flat=True)
    )
    assert {"consent.granted", "consent.denied"} <= events


def test_the_consent_page_carries_the_clients_branding(user, make_client):
    client = make_client(
        client_name="Acme Notes",
        token_endpoint_auth_method="none",
        redirect_uris=[CALLBACK],
        scope="openid email",
        logo_uri="https://acme.example/logo.png",
        client_uri="https://acme.example",
        policy_uri="https://acme.example/privacy",
        tos_uri="https://acme.example/terms",
    ).client
    web = signed_in(user)
    page = web.get(authorize(web, client.client_id)["Location"]).content.decode()
    for expected in (
        "Acme Notes",
        "https://acme.example/logo.png",
        "https://acme.example/privacy",
        "https://acme.example/terms",
        'name="remember"',
        "Allow access",
        "Deny",
    ):
        assert expected in page


# --- The sign-in in the ID token ---------------------------------------------------------------


def test_auth_time_amr_acr_and_sid_reach_the_id_token_and_survive_refresh(user, public_client):
    web = signed_in(user, auth_age=120)
    session_auth = web.session[SESSION_KEY]
    verifier, challenge = pkce_pair()
    location = authorize(web, public_client.client.client_id, code_challenge=challenge)["Location"]
    code = query_of(consent(web, location, scopes=["email"])["Location"])["code"]
    tokens = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()
    claims = json.loads(jwt.JWT(jwt=tokens["id_token"], key=jwks_set(), expected_type="JWS").claims)
    assert claims["auth_time"] == session_auth["auth_time"]
    assert claims["amr"] == ["pwd"] and claims["acr"] == "1" and claims["sid"] == session_auth["sid"]

    from tests.helpers import form_post

    refreshed = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public_client.client.client_id,
        },
    ).json()
    claims = json.loads(jwt.JWT(jwt=refreshed["id_token"], key=jwks_set(), expected_type="JWS").claims)
    assert claims["auth_time"] == session_auth["auth_time"] and claims["sid"] == session_auth["sid"]

"""The authorization code grant with PKCE, at the HTTP level (Django's test client)."""

import json

import pytest
from django.test import Client as DjangoClient

from ciam.lib.crypto import token_checksum
from ciam.oauth.models import AccessToken, Grant, RefreshToken
from tests.helpers import CALLBACK, authorize_params, exchange, form_post, pkce_pair, query_of

pytestmark = pytest.mark.django_db


def test_it_issues_tokens_for_a_public_client_with_pkce(flow, public_client):
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, scope="openid profile email")
    assert code.startswith("ciam_ac_")

    response = exchange(DjangoClient(), public_client.client.client_id, code, verifier)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].startswith("ciam_at_")
    assert body["refresh_token"].startswith("ciam_rt_")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    assert body["id_token"].count(".") == 2
    assert response["Cache-Control"] == "no-store"


def test_it_returns_state_and_iss_with_the_code(flow, public_client, settings):
    _, challenge = pkce_pair()
    response = flow.authorize(public_client.client.client_id, challenge=challenge, state="xyz")
    location = response["Location"]
    if location.startswith("/consent"):
        challenge_id = query_of(location)["consent_challenge"]
        location = flow.web.post("/consent", {"consent_challenge": challenge_id, "allow": "1"})["Location"]
    params = query_of(location)
    assert params["state"] == "xyz"
    assert params["iss"] == settings.CIAM_ISSUER
    assert location.startswith(CALLBACK + "?")


def test_it_requires_pkce_for_public_clients(flow, public_client):
    response = flow.authorize(public_client.client.client_id, challenge=None)
    params = query_of(response["Location"])
    assert response["Location"].startswith(CALLBACK)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"


def test_it_requires_pkce_for_confidential_clients_marked_so(browser, make_client):
    client = make_client(client_name="c", redirect_uris=[CALLBACK], scope="openid", pkce_required=True).client
    response = browser.get(
        "/oauth2/auth",
        {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK, "scope": "openid"},
    )
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_it_allows_a_confidential_client_without_pkce_when_not_required(flow, make_client):
    result = make_client(
        client_name="c",
        redirect_uris=[CALLBACK],
        scope="openid",
        pkce_required=False,
        token_endpoint_auth_method="client_secret_post",
    )
    code = flow.code(result.client.client_id, challenge=None)
    response = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": result.client.client_id,
            "client_secret": result.client_secret,
        },
    )
    assert response.status_code == 200, response.content


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


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_the_verifier_of_another_flow(flow, public_client):
    client_id = public_client.client.client_id
    _, challenge = pkce_pair()
    code = flow.code(client_id, challenge=challenge)
    other_verifier, other_challenge = pkce_pair()
    other_code = flow.code(client_id, challenge=other_challenge)  # a live flow of the same client
    response = exchange(DjangoClient(), client_id, code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert exchange(DjangoClient(), client_id, other_code, other_verifier).status_code == 200


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_a_missing_verifier(flow, public_client):
    _, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), public_client.client.client_id, code, None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("verifier", ["x" * 42, "x" * 129, "a" * 42 + "!"])
def test_it_refuses_a_verifier_of_the_wrong_shape(flow, public_client, verifier):
    _, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), public_client.client.client_id, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "43 to 128" in response.json()["error_description"]


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_a_verifier_for_a_code_issued_without_challenge(flow, make_client):
    # PKCE downgrade: the code had no challenge; a verifier must not be accepted as if it had.
    result = make_client(
        client_name="c",
        redirect_uris=[CALLBACK],
        scope="openid",
        pkce_required=False,
        token_endpoint_auth_method="client_secret_post",
    )
    code = flow.code(result.client.client_id, challenge=None)
    verifier, _ = pkce_pair()
    response = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": result.client.client_id,
            "client_secret": result.client_secret,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_replayed_code_fails_and_revokes_what_it_issued(flow, public_client):
    verifier, challenge = pkce_pair()
    client_id = public_client.client.client_id
    code = flow.code(client_id, challenge=challenge)
    first = exchange(DjangoClient(), client_id, code, verifier).json()
    assert AccessToken.objects.filter(application=public_client.client).count() == 1

    replay = exchange(DjangoClient(), client_id, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.filter(application=public_client.client).exists()
    assert not RefreshToken.objects.filter(application=public_client.client, revoked__isnull=True).exists()
    introspected = json.loads(
        DjangoClient()
        .get(  # userinfo with the revoked token
            "/userinfo", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}"
        )
        .content
        or b"{}"
    )
    assert introspected.get("error") == "invalid_token"


@pytest.mark.security("code-injection")
def test_a_code_issued_to_one_client_cannot_be_redeemed_by_another(flow, public_client, make_client):
    other = make_client(
        client_name="other", token_endpoint_auth_method="none", redirect_uris=[CALLBACK], scope="openid"
    ).client
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), other.client_id, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(flow, public_client):
    from datetime import timedelta

    from django.utils import timezone

    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    Grant.objects.filter(code=token_checksum(code)).update(expires=timezone.now() - timedelta(seconds=1))
    response = exchange(DjangoClient(), public_client.client.client_id, code, verifier)
    assert response.json()["error"] == "invalid_grant"


def test_the_token_request_must_repeat_the_redirect_uri_exactly(flow, make_client):
    second = "http://127.0.0.1:8765/other"
    client = make_client(
        client_name="c", token_endpoint_auth_method="none", redirect_uris=[CALLBACK, second], scope="openid"
    ).client
    verifier, challenge = pkce_pair()
    code = flow.code(client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), client.client_id, code, verifier, redirect_uri=second)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}


def test_codes_live_at_most_ten_minutes(settings):
    from oauth2_provider.settings import oauth2_settings

    assert oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS <= 600


def test_an_unknown_client_gets_the_error_page(browser):
    response = browser.get(
        "/oauth2/auth",
        {"response_type": "code", "client_id": "c-nope", "redirect_uri": CALLBACK, "scope": "openid"},
    )
    assert response.status_code == 400
    assert "Location" not in response


def test_a_disabled_client_gets_the_error_page(browser, public_client):
    from clients.services import client_update

    client_update(client=public_client.client)  # noop update is allowed
    public_client.client.__class__.objects.filter(pk=public_client.client.pk).update(is_active=False)
    _, challenge = pkce_pair()
    response = browser.get(
        "/oauth2/auth",
        authorize_params(public_client.client.client_id, challenge=challenge),
    )
    assert response.status_code == 400


def test_an_unallowed_scope_is_invalid_scope(flow, public_client):
    _, challenge = pkce_pair()
    response = flow.authorize(
        public_client.client.client_id, challenge=challenge, scope="openid offline_access"
    )
    assert query_of(response["Location"])["error"] == "invalid_scope"


def test_a_client_without_the_code_grant_is_refused(browser, make_client):
    client = make_client(client_name="m2m", grant_types=["client_credentials"], scope="email").client
    response = browser.get(
        "/oauth2/auth",
        {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK, "scope": "email"},
    )
    # No redirect URI is registered, so nothing may be redirected to.
    assert response.status_code == 400


def test_implicit_response_types_are_refused(flow, public_client):
    response = flow.authorize(public_client.client.client_id, extra={"response_type": "token"})
    assert query_of(response["Location"])["error"] == "unsupported_response_type"


def test_an_anonymous_visitor_is_sent_to_login_with_the_request_kept(public_client):
    _, challenge = pkce_pair()
    web = DjangoClient()
    response = web.get(
        "/oauth2/auth",
        authorize_params(public_client.client.client_id, challenge=challenge, state="keep-me"),
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    next_url = query_of(response["Location"])["next"]
    assert next_url.startswith("/oauth2/auth?")
    assert query_of(next_url)["state"] == "keep-me"
    assert query_of(next_url)["code_challenge"] == challenge


def test_prompt_none_without_a_session_answers_login_required(public_client):
    _, challenge = pkce_pair()
    response = DjangoClient().get(
        "/oauth2/auth",
        authorize_params(public_client.client.client_id, challenge=challenge, state="s", prompt="none"),
    )
    params = query_of(response["Location"])
    assert params["error"] == "login_required"
    assert params["state"] == "s"


def test_prompt_none_with_a_session_but_no_consent_answers_consent_required(flow, public_client):
    _, challenge = pkce_pair()
    response = flow.authorize(public_client.client.client_id, challenge=challenge, extra={"prompt": "none"})
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "consent_required"


def test_prompt_none_for_a_first_party_client_issues_a_code_without_a_page(flow, make_client):
    client = make_client(
        client_name="first",
        token_endpoint_auth_method="none",
        redirect_uris=[CALLBACK],
        scope="openid",
        skip_consent=True,
    ).client
    _, challenge = pkce_pair()
    response = flow.authorize(client.client_id, challenge=challenge, extra={"prompt": "none"})
    assert "code" in query_of(response["Location"])


def test_skip_consent_clients_never_show_the_consent_page(flow, make_client):
    client = make_client(
        client_name="first",
        token_endpoint_auth_method="none",
        redirect_uris=[CALLBACK],
        scope="openid",
        skip_consent=True,
    ).client
    _, challenge = pkce_pair()
    response = flow.authorize(client.client_id, challenge=challenge)
    assert response["Location"].startswith(CALLBACK)
    assert "code" in query_of(response["Location"])


def test_denying_consent_returns_access_denied_with_state(flow, public_client):
    _, challenge = pkce_pair()
    response = flow.authorize(public_client.client.client_id, challenge=challenge, state="deny-state")
    challenge_id = query_of(response["Location"])["consent_challenge"]
    denied = flow.web.post("/consent", {"consent_challenge": challenge_id, "deny": "1"})
    params = query_of(denied["Location"])
    assert denied["Location"].startswith(CALLBACK)
    assert params["error"] == "access_denied"
    assert params["state"] == "deny-state"


def test_unticking_an_optional_scope_narrows_the_grant(flow, public_client):
    verifier, challenge = pkce_pair()
    response = flow.authorize(
        public_client.client.client_id, challenge=challenge, scope="openid profile email"
    )
    challenge_id = query_of(response["Location"])["consent_challenge"]
    granted = flow.web.post(
        "/consent",
        {"consent_challenge": challenge_id, "allow": "1", "grant_scope": ["email", "not-requested"]},
    )
    code = query_of(granted["Location"])["code"]
    token = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()
    assert set(token["scope"].split()) == {"openid", "email"}


def test_a_consent_challenge_cannot_be_used_twice(flow, public_client):
    _, challenge = pkce_pair()
    response = flow.authorize(public_client.client.client_id, challenge=challenge)
    challenge_id = query_of(response["Location"])["consent_challenge"]
    first = flow.web.post("/consent", {"consent_challenge": challenge_id, "allow": "1"})
    assert first.status_code == 302
    second = flow.web.post("/consent", {"consent_challenge": challenge_id, "allow": "1"})
    assert second.status_code == 400


@pytest.mark.security("consent-csrf")
def test_a_consent_challenge_is_bound_to_the_session_that_made_it(flow, public_client, make_client):
    from ciam.accounts.models import User

    _, challenge = pkce_pair()
    response = flow.authorize(public_client.client.client_id, challenge=challenge)
    challenge_id = query_of(response["Location"])["consent_challenge"]
    mallory = DjangoClient()
    mallory.force_login(User.objects.create_user(email="mallory@example.com", password="x" * 12))
    stolen = mallory.post("/consent", {"consent_challenge": challenge_id, "allow": "1"})
    assert stolen.status_code == 400


@pytest.mark.security("consent-csrf")
def test_consent_requires_the_csrf_token(public_client, user):
    web = DjangoClient(enforce_csrf_checks=True)
    web.force_login(user)
    _, challenge = pkce_pair()
    response = web.get(
        "/oauth2/auth",
        authorize_params(public_client.client.client_id, challenge=challenge),
    )
    challenge_id = query_of(response["Location"])["consent_challenge"]
    forged = web.post("/consent", {"consent_challenge": challenge_id, "allow": "1"})
    assert forged.status_code == 403


def test_the_consent_page_shows_the_client_and_scopes_in_plain_words(flow, public_client):
    _, challenge = pkce_pair()
    response = flow.authorize(public_client.client.client_id, challenge=challenge, scope="openid email")
    page = flow.web.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Public CLI" in text
    assert "See your e-mail address" in text
    assert 'name="grant_scope"' in text
    assert "Allow access" in text and "Deny" in text
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]


def test_the_authorization_request_may_be_posted(public_client, user):
    web = DjangoClient(enforce_csrf_checks=True)
    web.force_login(user)
    _, challenge = pkce_pair()
    response = form_post(
        web,
        "/oauth2/auth",
        authorize_params(public_client.client.client_id, challenge=challenge, state="posted"),
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/consent?consent_challenge=")

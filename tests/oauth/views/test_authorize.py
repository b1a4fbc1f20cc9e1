"""/oauth2/auth (ciam.oauth.views.authorize): the decision mapped to responses, OIDC's parameters
(OIDC Core §3.1.2.1), and the sign-in that completes the request it interrupted."""

import json
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from jwcrypto import jwt

from ciam.lib.crypto import token_checksum
from ciam.oauth.models import AuthorizationFlow, Grant
from ciam.oauth.validator import CiamValidator
from clients.services import client_set_active, client_update
from consent.models import Consent
from tests.helpers import (
    CALLBACK,
    PASSWORD,
    authorization_query,
    authorize,
    authorize_params,
    consent,
    exchange,
    form_post,
    jwks_set,
    pkce_pair,
    query_of,
    register_verified,
    signed_in,
)

pytestmark = pytest.mark.django_db


def authorize_url(client_id: str, challenge: str, **params) -> str:
    return f"/oauth2/auth?{urlencode(authorization_query(client_id, challenge, nonce='n1', **params))}"


def sign_in(web, user, next_url, **extra):
    return web.post("/login", {"email": user.email, "password": PASSWORD, "next": next_url, **extra})


def sign_in_at(web, user, login_location: str, password: str = PASSWORD):
    """Sign in on the page an authorization request sent the browser to (its login challenge)."""
    challenge = query_of(login_location)["login_challenge"]
    return web.post("/login", {"email": user.email, "password": password, "login_challenge": challenge})


def flow_of(login_location: str) -> AuthorizationFlow:
    """The authorization flow the sign-in page's login challenge stands for."""
    return AuthorizationFlow.objects.get(
        login_challenge=token_checksum(query_of(login_location)["login_challenge"])
    )


def remember(user, client, scopes=("openid", "email")):
    Consent.objects.create(user=user, client=client, scopes=list(scopes), remember=True)


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


def test_an_unknown_client_gets_the_error_page(browser):
    response = browser.get(
        "/oauth2/auth",
        {"response_type": "code", "client_id": "c-nope", "redirect_uri": CALLBACK, "scope": "openid"},
    )
    assert response.status_code == 400
    assert "Location" not in response


def test_a_disabled_client_gets_the_error_page(browser, public_client):

    client_update(client=public_client.client)  # noop update is allowed
    public_client.client.__class__.objects.filter(pk=public_client.client.pk).update(is_active=False)
    _, challenge = pkce_pair()
    response = browser.get(
        "/oauth2/auth",
        authorize_params(public_client.client.client_id, challenge=challenge),
    )
    assert response.status_code == 400


def test_an_anonymous_visitor_is_sent_to_login_with_the_request_kept(public_client):
    _, challenge = pkce_pair()
    web = DjangoClient()
    response = web.get(
        "/oauth2/auth",
        authorize_params(public_client.client.client_id, challenge=challenge, state="keep-me"),
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/login?login_challenge=")
    # The request is kept on the server, as validated (the page carries only the challenge).
    next_url = flow_of(response["Location"]).request_path
    assert next_url.startswith("/oauth2/auth?")
    assert query_of(next_url)["state"] == "keep-me"
    assert query_of(next_url)["code_challenge"] == challenge
    # Another browser cannot use the challenge.
    assert DjangoClient().get(response["Location"]).status_code == 400
    assert web.get(response["Location"]).status_code == 200


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


@pytest.fixture
def first_party(make_client):
    """A public first-party client: its people are never asked for consent."""
    return make_client(
        client_name="first",
        token_endpoint_auth_method="none",
        redirect_uris=[CALLBACK],
        scope="openid",
        skip_consent=True,
    ).client


def test_prompt_none_for_a_first_party_client_issues_a_code_without_a_page(flow, first_party):
    client = first_party
    _, challenge = pkce_pair()
    response = flow.authorize(client.client_id, challenge=challenge, extra={"prompt": "none"})
    assert "code" in query_of(response["Location"])


def test_skip_consent_clients_never_show_the_consent_page(flow, first_party):
    client = first_party
    _, challenge = pkce_pair()
    response = flow.authorize(client.client_id, challenge=challenge)
    assert response["Location"].startswith(CALLBACK)
    assert "code" in query_of(response["Location"])


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


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"response_type": "code"},
        {"client_id": "c-unknown", "response_type": "code"},
        {"client_id": "\x00", "response_type": "code", "redirect_uri": "\x00"},
        {"client_id": "x" * 5000, "response_type": "code"},
    ],
)
def test_malformed_authorization_requests_get_the_error_page(browser, params):
    response = browser.get("/oauth2/auth", params)
    assert response.status_code == 400
    assert "Location" not in response


def test_a_repeated_authorization_parameter_is_refused(browser, public_client):
    _, challenge = pkce_pair()
    client_id = public_client.client.client_id
    response = browser.get(
        f"/oauth2/auth?response_type=code&client_id={client_id}&client_id={client_id}"
        f"&redirect_uri=http://127.0.0.1:8765/callback&code_challenge={challenge}"
        "&code_challenge_method=S256&scope=openid"
    )
    assert response.status_code == 400


@pytest.mark.security("forced-sign-out")
@pytest.mark.parametrize("asks", [{"prompt": "login"}, {"max_age": "0"}, {"prompt": "select_account"}])
def test_a_link_asking_for_a_new_sign_in_does_not_sign_the_person_out(user, public_client, asks):
    """Any site can send anyone to /oauth2/auth?prompt=login: that must not end their session."""
    web = signed_in(user, auth_age=5)
    response = authorize(web, public_client.client.client_id, **asks)
    assert response["Location"].startswith("/login?")
    assert web.session["_auth_user_id"] == str(user.pk)  # still signed in
    assert web.get("/account/apps").status_code == 200
    page = web.get(response["Location"]).content.decode()
    assert "You are signed in as" in page and f'value="{user.email}"' in page
    # The request itself is kept, unchanged: the new sign-in cannot be skipped by going back.
    next_url = flow_of(response["Location"]).request_path
    assert query_of(next_url).items() >= asks.items() and query_of(next_url)["state"] == "s1"
    assert web.get(next_url)["Location"].startswith("/login?")
    # A wrong password ends nothing either; the right one completes the request itself.
    wrong = sign_in_at(web, user, response["Location"], password="wrong")
    assert wrong.status_code == 400 and web.session["_auth_user_id"] == str(user.pk)
    resumed = sign_in_at(web, user, response["Location"])
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


def test_login_hint_reaches_the_login_page(public_client):
    web = DjangoClient()
    response = authorize(web, public_client.client.client_id, login_hint="carol@example.com")
    page = web.get(response["Location"])
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
    assert alice_web.session["_auth_user_id"] == str(user.pk)  # not signed out by the hint


def test_a_forged_id_token_hint_is_invalid_request(user, public_client):
    response = authorize(
        signed_in(user), public_client.client.client_id, id_token_hint="eyJhbGciOiJub25lIn0.e30."
    )
    assert query_of(response["Location"])["error"] == "invalid_request"


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


def test_consent_is_per_user(user, public_client, django_user_model):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"])
    bob = django_user_model.objects.create_user(email="bob@example.com", password=PASSWORD)
    assert authorize(signed_in(bob), public_client.client.client_id)["Location"].startswith("/consent?")


def test_with_a_remembered_consent_the_sign_in_redirects_to_the_client_with_a_code(user, public_client):
    app = public_client.client
    remember(user, app)
    verifier, challenge = pkce_pair()
    web = DjangoClient()
    to_login = web.get(authorize_url(app.client_id, challenge))
    before = int(time.time())

    response = sign_in_at(web, user, to_login["Location"])

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
    response = register_verified(
        DjangoClient(), "new@example.com", next=authorize_url(app.client_id, challenge)
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
    response = sign_in_at(web, user, to_login["Location"])
    assert response["Location"].startswith(CALLBACK) and "code" in query_of(response["Location"])


@pytest.mark.parametrize(
    "extra",
    [
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

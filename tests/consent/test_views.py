"""The person's consent page, connected apps and sign-out (consent.views)."""

import pytest
from django.test import Client as DjangoClient

from ciam.accounts.models import User
from ciam.audit.models import AuditEvent
from ciam.oauth.introspection import introspect
from ciam.oauth.models import AccessToken
from consent.models import Consent
from tests.helpers import (
    CALLBACK,
    Flow,
    authorize,
    authorize_params,
    consent,
    exchange,
    form_post,
    pkce_pair,
    query_of,
    signed_in,
    tokens_for,
)

pytestmark = pytest.mark.django_db


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


def test_remember_starts_unticked_unless_the_deployment_says_so(flow, public_client, settings):
    _, challenge = pkce_pair()
    location = flow.authorize(public_client.client.client_id, challenge=challenge)["Location"]
    assert 'name="remember" id="id_remember" value="on">' in flow.web.get(location).content.decode()
    settings.CIAM_CONSENT_REMEMBER_DEFAULT = True
    assert 'name="remember" id="id_remember" value="on" checked>' in flow.web.get(location).content.decode()


def test_not_you_signs_out_and_restarts_the_same_request_without_the_old_hints(user, public_client):
    web = signed_in(user)
    _, challenge = pkce_pair()
    location = authorize(
        web, public_client.client.client_id, code_challenge=challenge, state="keep-me", login_hint=user.email
    )["Location"]
    consent_challenge = query_of(location)["consent_challenge"]
    switched = web.post("/consent", {"consent_challenge": consent_challenge, "switch": "1"})
    assert switched.status_code == 302 and switched["Location"].startswith("/oauth2/auth?")
    again = query_of(switched["Location"])
    assert again["state"] == "keep-me" and again["code_challenge"] == challenge
    assert again["client_id"] == public_client.client.client_id and "login_hint" not in again
    assert "_auth_user_id" not in web.session  # signed out
    assert AuditEvent.objects.filter(event="logout", subject=user.email).exists()
    # The old challenge is closed: it can no longer be answered.
    assert web.post("/consent", {"consent_challenge": consent_challenge, "allow": "1"}).status_code == 400
    # Anyone who signs in next is asked for the same request.
    assert web.get(switched["Location"])["Location"].startswith("/login?")


def test_an_unticked_scope_is_not_remembered_as_granted(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=[])
    assert set(Consent.objects.get(user=user).scopes) == {"openid"}
    assert authorize(web, public_client.client.client_id)["Location"].startswith("/consent?")


def test_a_consent_not_remembered_asks_again(user, public_client):
    web = signed_in(user)
    consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"], remember=False)
    assert authorize(web, public_client.client.client_id)["Location"].startswith("/consent?")


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


def test_connected_apps_lists_grants_and_revoking_one_ends_its_tokens(user, public_client):

    web = signed_in(user)
    verifier, challenge = pkce_pair()
    location = authorize(web, public_client.client.client_id, code_challenge=challenge)["Location"]
    code = query_of(consent(web, location, scopes=["email"])["Location"])["code"]
    tokens = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()

    page = web.get("/account/apps").content.decode()
    assert "Public CLI" in page and "See your e-mail address" in page and "Remove access" in page

    # Asked first, naming the app; nothing changes until the person confirms.
    asked = web.get(f"/account/apps/{public_client.client.client_id}/revoke")
    assert asked.status_code == 200 and "Remove access for Public CLI?" in asked.content.decode()
    assert web.post(f"/account/apps/{public_client.client.client_id}/revoke").status_code == 200
    assert Consent.objects.filter(user=user).exists()
    revoked = web.post(f"/account/apps/{public_client.client.client_id}/revoke", {"confirm": "remove"})
    assert revoked.status_code == 302
    assert not Consent.objects.filter(user=user).exists()
    assert not AccessToken.objects.filter(user=user).exists()
    refresh = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public_client.client.client_id,
        },
    )
    assert refresh.status_code == 400
    assert AuditEvent.objects.filter(event="consent.revoked", actor=user).exists()
    after = web.get("/account/apps").content.decode()
    assert "No connected apps yet" in after and "Access removed for <strong>Public CLI</strong>" in after


def test_connected_apps_needs_sign_in_and_revocation_needs_a_confirmed_post_and_csrf(
    user, public_client, flow
):
    assert DjangoClient().get("/account/apps")["Location"].startswith("/login?next=/account/apps")
    web = signed_in(user)
    # An app the person never allowed is not even named.
    assert web.get(f"/account/apps/{public_client.client.client_id}/revoke").status_code == 404
    tokens_for(flow, public_client.client)
    strict = DjangoClient(enforce_csrf_checks=True)
    strict.force_login(user)
    path = f"/account/apps/{public_client.client.client_id}/revoke"
    assert strict.post(path, {"confirm": "remove"}).status_code == 403
    assert Consent.objects.filter(user=user).exists()


def test_revoking_touches_only_the_persons_own_consent_and_tokens(user, other_user, public_client):
    tokens = {}
    for person in (user, other_user):
        tokens[person] = tokens_for(Flow(signed_in(person)), public_client.client)
    signed_in(user).post(f"/account/apps/{public_client.client.client_id}/revoke", {"confirm": "remove"})
    assert Consent.objects.filter(user=other_user).exists() and not Consent.objects.filter(user=user).exists()
    assert not introspect(tokens[user]["access_token"])["active"]
    assert introspect(tokens[other_user]["access_token"])["active"]
    assert introspect(tokens[other_user]["refresh_token"])["active"]


def test_connected_apps_shows_the_persons_own_apps_only(user, other_user, public_client, make_client):
    theirs = make_client(
        client_name="Bob's Private Diary",
        token_endpoint_auth_method="none",
        redirect_uris=[CALLBACK],
        scope="openid email",
    ).client
    tokens_for(Flow(signed_in(other_user)), theirs, scope="openid email")
    tokens_for(Flow(signed_in(user)), public_client.client)
    page = signed_in(user).get("/account/apps").content.decode()
    assert public_client.client.name in page and theirs.name not in page
    # Nor can the person end another's connection by naming its client.
    assert (
        signed_in(user).post(f"/account/apps/{theirs.client_id}/revoke", {"confirm": "remove"}).status_code
        == 404
    )
    assert Consent.objects.filter(user=other_user, client=theirs).exists()


def test_logout_asks_on_get_and_signs_out_on_post(user):
    web = signed_in(user)
    assert "Sign out?" in web.get("/logout").content.decode()
    assert "_auth_user_id" in web.session
    done = web.post("/logout")
    assert "You have signed out" in done.content.decode()
    assert "_auth_user_id" not in web.session
    assert AuditEvent.objects.filter(event="logout", actor=user).exists()

"""Hydra v2's login and consent provider API (consent.provider_apis, ciam.oauth.provider) against a
live server: `requests` plays the browser and the login and consent app; Authlib exchanges the
code and the ID token is checked."""

import json
from datetime import timedelta

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone
from jwcrypto import jwk, jwt

from ciam.api.services import admin_token_create
from ciam.lib.crypto import token_checksum
from ciam.oauth.models import AuthorizationFlow
from clients.services import client_create
from consent.models import Consent
from tests.helpers import CALLBACK, query_of

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN_APP = "http://127.0.0.1:9/login"
CONSENT_APP = "http://127.0.0.1:9/consent"


@pytest.fixture
def external(live_issuer, settings):
    settings.CIAM_LOGIN_URL = LOGIN_APP
    settings.CIAM_CONSENT_URL = CONSENT_APP
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {admin_token_create(actor=None, name='login app')[1]}"
    client = client_create(
        client_name="Notes",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email offline_access",
        redirect_uris=[CALLBACK],
    ).client
    return live_issuer, admin, client


def start(base, client, browser, scope="openid email offline_access", **extra):
    session = OAuth2Session(
        client.client_id, redirect_uri=CALLBACK, scope=scope, code_challenge_method="S256"
    )
    verifier = "v" * 64
    url, state = session.create_authorization_url(f"{base}/oauth2/auth", code_verifier=verifier, **extra)
    response = browser.get(url, allow_redirects=False, timeout=10)
    return session, verifier, response


def follow(browser, url):
    return browser.get(url, allow_redirects=False, timeout=10)


def test_a_login_and_consent_app_signs_a_person_in_and_its_claims_reach_the_id_token(external):
    base, admin, client = external
    browser = requests.Session()
    session, verifier, response = start(base, client, browser)
    assert response.status_code == 302 and response.headers["Location"].startswith(LOGIN_APP + "?")
    login_challenge = query_of(response.headers["Location"])["login_challenge"]

    login = admin.get(f"{base}/admin/oauth2/auth/requests/login", params={"login_challenge": login_challenge})
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["skip"] is False and body["client"]["client_id"] == client.client_id
    assert "client_secret" not in body["client"] and body["requested_scope"] == [
        "openid",
        "email",
        "offline_access",
    ]
    assert body["request_url"].startswith(f"{base}/oauth2/auth?")
    # The bare `challenge` parameter and the legacy path work too.
    legacy = admin.get(f"{base}/oauth2/auth/requests/login", params={"challenge": login_challenge})
    assert legacy.status_code == 200 and legacy.json()["challenge"] == login_challenge

    accepted = admin.put(
        f"{base}/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": login_challenge},
        json={"subject": "foo@bar.com", "remember": True, "remember_for": 3600, "acr": "0", "amr": ["pwd"]},
    )
    assert accepted.status_code == 200, accepted.text
    # Used: 410 with where to start again, as Hydra.
    again = admin.get(f"{base}/admin/oauth2/auth/requests/login", params={"login_challenge": login_challenge})
    assert again.status_code == 410 and again.json()["redirect_to"] == body["request_url"]

    to_consent = follow(browser, accepted.json()["redirect_to"])
    assert to_consent.status_code == 302 and to_consent.headers["Location"].startswith(CONSENT_APP + "?")
    consent_challenge = query_of(to_consent.headers["Location"])["consent_challenge"]
    consent = admin.get(
        f"{base}/admin/oauth2/auth/requests/consent", params={"consent_challenge": consent_challenge}
    ).json()
    assert consent["subject"] == "foo@bar.com" and consent["acr"] == "0" and consent["amr"] == ["pwd"]
    granted = admin.put(
        f"{base}/admin/oauth2/auth/requests/consent/accept",
        params={"consent_challenge": consent_challenge},
        json={
            "grant_scope": ["openid", "email", "offline_access", None],
            "remember": True,
            "remember_for": 0,
            "session": {
                "id_token": {"email": "foo@bar.com", "team": "blue", "sub": "forged"},
                "access_token": {"tier": "gold"},
            },
        },
    )
    assert granted.status_code == 200, granted.text
    back = follow(browser, granted.json()["redirect_to"])
    assert back.headers["Location"].startswith(CALLBACK + "?")
    # A verifier is used once.
    assert follow(browser, granted.json()["redirect_to"]).status_code == 400
    # An expired challenge is gone too (410, with where to start again).
    _, _, response = start(base, client, requests.Session())
    late = query_of(response.headers["Location"])["login_challenge"]
    AuthorizationFlow.objects.filter(login_challenge=token_checksum(late)).update(expires_at=timezone.now())
    expired = admin.get(f"{base}/admin/oauth2/auth/requests/login", params={"login_challenge": late})
    assert expired.status_code == 410 and expired.json()["redirect_to"].startswith(f"{base}/oauth2/auth?")

    token = session.fetch_token(
        f"{base}/oauth2/token", authorization_response=back.headers["Location"], code_verifier=verifier
    )
    keys = jwk.JWKSet.from_json(requests.get(f"{base}/.well-known/jwks.json", timeout=10).text)
    claims = json.loads(jwt.JWT(jwt=token["id_token"], key=keys).claims)
    assert claims["sub"] == "foo@bar.com" and claims["team"] == "blue" and claims["email"] == "foo@bar.com"
    assert claims["acr"] == "0" and claims["amr"] == ["pwd"]
    userinfo = requests.get(
        f"{base}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    ).json()
    assert userinfo["sub"] == "foo@bar.com"
    introspected = admin.post(f"{base}/admin/oauth2/introspect", data={"token": token["access_token"]}).json()
    assert introspected["sub"] == "foo@bar.com" and introspected["ext"] == {"tier": "gold"}
    # The extra claims outlive a refresh, as the sign-in does.
    refreshed = session.refresh_token(f"{base}/oauth2/token", refresh_token=token["refresh_token"])
    again = admin.post(f"{base}/admin/oauth2/introspect", data={"token": refreshed["access_token"]}).json()
    assert again["ext"] == {"tier": "gold"} and again["sub"] == "foo@bar.com"
    assert Consent.objects.get(client=client).remember is True
    assert Consent.objects.get(client=client).remember_until is None  # remember_for 0: until revoked

    # The next request finds the remembered sign-in: the app is told to skip.
    _, _, response = start(base, client, browser)
    challenge = query_of(response.headers["Location"])["login_challenge"]
    skip = admin.get(f"{base}/admin/oauth2/auth/requests/login", params={"login_challenge": challenge}).json()
    assert skip["skip"] is True and skip["subject"] == "foo@bar.com"


def test_a_reject_sends_the_error_to_the_client(external):
    base, admin, client = external
    browser = requests.Session()
    _, _, response = start(base, client, browser, state="s-77")
    challenge = query_of(response.headers["Location"])["login_challenge"]
    rejected = admin.put(
        f"{base}/admin/oauth2/auth/requests/login/reject",
        params={"login_challenge": challenge},
        json={"error": "access_denied", "error_description": "The resource owner denied the request"},
    )
    answer = query_of(follow(browser, rejected.json()["redirect_to"]).headers["Location"])
    assert answer["error"] == "access_denied" and answer["state"] == "s-77"


def test_challenges_are_bound_to_the_browser_and_junk_is_a_4xx(external):
    base, admin, client = external
    _, _, response = start(base, client, requests.Session())
    challenge = query_of(response.headers["Location"])["login_challenge"]
    accepted = admin.put(
        f"{base}/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": challenge},
        json={"subject": "mallory"},
    ).json()
    # Another browser cannot redeem the verifier.
    assert follow(requests.Session(), accepted["redirect_to"]).status_code == 400
    for method, path, params, body in (
        ("get", "login", {}, None),
        ("get", "login", {"login_challenge": "nope"}, None),
        ("put", "login/accept", {"login_challenge": "nope"}, {"subject": "x"}),
        ("put", "consent/accept", {"consent_challenge": "nope"}, {"grant_scope": [None]}),
    ):
        answer = getattr(admin, method)(f"{base}/admin/oauth2/auth/requests/{path}", params=params, json=body)
        assert answer.status_code in (400, 404), (path, answer.status_code, answer.text)
    _, _, response = start(base, client, requests.Session())
    fresh = query_of(response.headers["Location"])["login_challenge"]
    for body in (
        {},
        {"subject": ""},
        {"subject": 5},
        {"subject": "a", "remember": "yes"},
        [1],
        {"subject": "a", "amr": "x" * 5},
    ):
        answer = admin.put(
            f"{base}/admin/oauth2/auth/requests/login/accept", params={"login_challenge": fresh}, json=body
        )
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 200:
            break
    # Without an admin token (and no trusted network), the provider API is closed.
    assert (
        requests.get(
            f"{base}/admin/oauth2/auth/requests/login", params={"login_challenge": fresh}, timeout=10
        ).status_code
        == 401
    )
    assert AuthorizationFlow.objects.count() == 2


def test_a_logout_app_accepts_or_rejects_an_rp_initiated_logout(external, settings):
    base, admin, client = external
    settings.CIAM_LOGOUT_URL = "http://127.0.0.1:9/logout"
    browser = requests.Session()
    _, _, response = start(base, client, browser)
    challenge = query_of(response.headers["Location"])["login_challenge"]
    accepted = admin.put(
        f"{base}/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": challenge},
        json={"subject": "carol"},
    ).json()
    follow(browser, accepted["redirect_to"])  # signed in as carol (then the consent app)

    def logout_challenge():
        answer = follow(browser, f"{base}/oauth2/sessions/logout?client_id={client.client_id}")
        assert answer.headers["Location"].startswith("http://127.0.0.1:9/logout?")
        return query_of(answer.headers["Location"])["logout_challenge"]

    refused = logout_challenge()
    read = admin.get(f"{base}/admin/oauth2/auth/requests/logout", params={"logout_challenge": refused}).json()
    assert (
        read["subject"] == "carol"
        and read["rp_initiated"] is True
        and read["client"]["client_id"] == client.client_id
    )
    assert (
        admin.put(
            f"{base}/admin/oauth2/auth/requests/logout/reject", params={"logout_challenge": refused}
        ).status_code
        == 204
    )
    assert (
        admin.get(
            f"{base}/admin/oauth2/auth/requests/logout", params={"logout_challenge": refused}
        ).status_code
        == 410
    )

    ended = logout_challenge()
    redirect_to = admin.put(
        f"{base}/admin/oauth2/auth/requests/logout/accept", params={"logout_challenge": ended}
    ).json()["redirect_to"]
    assert follow(requests.Session(), redirect_to).status_code == 400  # another browser: nothing ends
    assert follow(browser, redirect_to).status_code == 200  # signed out
    assert follow(browser, redirect_to).status_code == 400  # once
    _, _, response = start(base, client, browser)
    challenge = query_of(response.headers["Location"])["login_challenge"]
    assert (
        admin.get(f"{base}/admin/oauth2/auth/requests/login", params={"login_challenge": challenge}).json()[
            "skip"
        ]
        is False
    )


def test_a_device_verification_app_accepts_a_user_code_and_wrong_ones_are_refused(external, settings):
    base, admin, _ = external
    settings.CIAM_DEVICE_VERIFICATION_URL = "http://127.0.0.1:9/device/verify"
    tv = client_create(
        client_name="TV",
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
        scope="openid",
    ).client
    started = requests.post(
        f"{base}/oauth2/device/auth", data={"client_id": tv.client_id, "scope": "openid"}, timeout=10
    ).json()
    browser = requests.Session()
    to_app = follow(browser, started["verification_uri_complete"])
    assert to_app.headers["Location"].startswith("http://127.0.0.1:9/device/verify?")
    answer = query_of(to_app.headers["Location"])
    assert answer["user_code"] == started["user_code"]
    url = f"{base}/admin/oauth2/auth/requests/device/accept"
    for wrong in ("", "BCDFGHJK", None):
        refused = admin.put(
            url, params={"device_challenge": answer["device_challenge"]}, json={"user_code": wrong}
        )
        assert refused.status_code == 400 and "user_code" in refused.json()["error_description"]
    accepted = admin.put(
        url, params={"device_challenge": answer["device_challenge"]}, json={"user_code": started["user_code"]}
    )
    assert accepted.status_code == 200
    again = admin.put(
        url, params={"device_challenge": answer["device_challenge"]}, json={"user_code": started["user_code"]}
    )
    assert again.status_code == 410
    to_login = follow(browser, accepted.json()["redirect_to"])
    assert to_login.headers["Location"].startswith(LOGIN_APP + "?")
    login = admin.get(
        f"{base}/admin/oauth2/auth/requests/login",
        params={"login_challenge": query_of(to_login.headers["Location"])["login_challenge"]},
    ).json()
    assert login["client"]["client_id"] == tv.client_id and login["requested_scope"] == ["openid"]


def test_a_consent_remembered_for_a_while_stops_counting_after_it(external):
    base, admin, client = external
    browser = requests.Session()

    def through_login():
        _, _, response = start(base, client, browser)
        challenge = query_of(response.headers["Location"])["login_challenge"]
        accepted = admin.put(
            f"{base}/admin/oauth2/auth/requests/login/accept",
            params={"login_challenge": challenge},
            json={"subject": "dave", "remember": True},
        ).json()
        return follow(browser, accepted["redirect_to"]).headers["Location"]

    consent_at = through_login()
    assert consent_at.startswith(CONSENT_APP)
    granted = admin.put(
        f"{base}/admin/oauth2/auth/requests/consent/accept",
        params={"consent_challenge": query_of(consent_at)["consent_challenge"]},
        json={"grant_scope": ["openid", "email", "offline_access"], "remember": True, "remember_for": 3600},
    ).json()
    follow(browser, granted["redirect_to"])
    remembered = Consent.objects.get(client=client)
    assert remembered.remember_until is not None
    assert through_login().startswith(CALLBACK)  # remembered: no consent app
    Consent.objects.filter(pk=remembered.pk).update(remember_until=timezone.now() - timedelta(seconds=1))
    assert through_login().startswith(CONSENT_APP)  # its time is up: asked again


def test_the_granted_audience_is_the_tokens_and_must_be_the_clients(external, settings):
    base, admin, _ = external
    client = client_create(
        client_name="API user",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid offline_access",
        redirect_uris=[CALLBACK],
        audience=["https://api.example", "https://other.example"],
    ).client
    browser = requests.Session()
    session, verifier, response = start(base, client, browser, scope="openid offline_access")
    challenge = query_of(response.headers["Location"])["login_challenge"]
    accepted = admin.put(
        f"{base}/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": challenge},
        json={"subject": "erin"},
    ).json()
    consent_challenge = query_of(follow(browser, accepted["redirect_to"]).headers["Location"])[
        "consent_challenge"
    ]
    url = f"{base}/admin/oauth2/auth/requests/consent/accept"
    refused = admin.put(
        url,
        params={"consent_challenge": consent_challenge},
        json={"grant_scope": ["openid"], "grant_access_token_audience": ["https://evil.example"]},
    )
    assert refused.status_code == 400 and "grant_access_token_audience" in refused.json()["error_description"]
    granted = admin.put(
        url,
        params={"consent_challenge": consent_challenge},
        json={
            "grant_scope": ["openid", "offline_access"],
            "grant_access_token_audience": ["https://api.example"],
        },
    ).json()
    back = follow(browser, granted["redirect_to"]).headers["Location"]
    token = session.fetch_token(f"{base}/oauth2/token", authorization_response=back, code_verifier=verifier)
    for value in (token["access_token"], token["refresh_token"]):
        answer = admin.post(f"{base}/admin/oauth2/introspect", data={"token": value}).json()
        assert answer["aud"] == ["https://api.example"], answer
    refreshed = session.refresh_token(f"{base}/oauth2/token", refresh_token=token["refresh_token"])
    answer = admin.post(f"{base}/admin/oauth2/introspect", data={"token": refreshed["access_token"]}).json()
    assert answer["aud"] == ["https://api.example"]


def test_a_login_app_learns_that_a_client_requires_mfa_and_its_acr_and_amr_reach_the_id_token(external):
    base, admin, client = external
    client.require_mfa = True
    client.save()
    browser = requests.Session()
    session, verifier, response = start(base, client, browser, scope="openid")
    login_challenge = query_of(response.headers["Location"])["login_challenge"]
    login = admin.get(f"{base}/admin/oauth2/auth/requests/login", params={"login_challenge": login_challenge})
    assert login.json()["oidc_context"]["acr_values"] == ["2"]  # the client's requirement, for the app
    accepted = admin.put(
        f"{base}/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": login_challenge},
        json={"subject": "zoe@example.com", "acr": "2", "amr": ["pwd", "otp", "mfa"]},
    ).json()
    consent_challenge = query_of(follow(browser, accepted["redirect_to"]).headers["Location"])[
        "consent_challenge"
    ]
    granted = admin.put(
        f"{base}/admin/oauth2/auth/requests/consent/accept",
        params={"consent_challenge": consent_challenge},
        json={"grant_scope": ["openid"]},
    ).json()
    callback = follow(browser, granted["redirect_to"]).headers["Location"]
    token = session.fetch_token(
        f"{base}/oauth2/token", authorization_response=callback, code_verifier=verifier
    )
    keys = jwk.JWKSet.from_json(requests.get(f"{base}/.well-known/jwks.json", timeout=10).text)
    claims = json.loads(jwt.JWT(jwt=token["id_token"], key=keys).claims)
    assert claims["acr"] == "2" and claims["amr"] == ["pwd", "otp", "mfa"]

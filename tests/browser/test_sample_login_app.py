"""Ory's own sample login and consent app (npm `hydra-login-consent-logout`, unmodified) against
this server, in Chromium: sign-in and consent through its screens, the code exchanged by Authlib,
the ID token checked; then a denied consent. The app talks to this server's admin API as it
would to Hydra's, from a trusted network (CIAM_ADMIN_TRUSTED_NETWORKS)."""

import json
import os
import subprocess

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from jwcrypto import jwk, jwt

from clients.services import client_create
from tests.helpers import ROOT, free_port, live_device_start, query_of, shot, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

APP = ROOT / "tests" / "npm" / "node_modules" / "hydra-login-consent-logout" / "lib" / "app.js"


@pytest.fixture
def sample_app(live_issuer, settings):
    port = free_port()
    process = subprocess.Popen(
        ["node", str(APP)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            "HYDRA_ADMIN_URL": live_issuer,
            "PORT": str(port),
            "NODE_ENV": "production",
            # The app then puts e-mail and profile claims in session.id_token, as for the
            # OpenID conformance suite.
            "CONFORMITY_FAKE_CLAIMS": "1",
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: requests.get(base, timeout=2).status_code < 500), (
            "the sample app did not start"
        )
        # Its SDK sends no credential on the admin calls (Hydra's admin port has none): the app's
        # own address is a trusted network, as a deployment beside it would configure.
        settings.CIAM_ADMIN_TRUSTED_NETWORKS = ["127.0.0.1/32"]
        settings.CIAM_LOGIN_URL = f"{base}/login"
        settings.CIAM_CONSENT_URL = f"{base}/consent"
        settings.CIAM_LOGOUT_URL = f"{base}/logout"
        settings.CIAM_DEVICE_VERIFICATION_URL = f"{base}/device/verify"
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def app(callback):
    return client_create(
        client_name="Acme Notes",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email offline_access",
        redirect_uris=[callback.url],
        post_logout_redirect_uris=[f"{callback.base}/signed-out"],
    ).client


def authorization(live_issuer, app):
    session = OAuth2Session(
        app.client_id,
        redirect_uri=app.redirect_uri_list[0],
        scope="openid email",
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=verifier)
    return session, verifier, url


def test_the_sample_apps_login_and_consent_screens_complete_a_code_flow(
    live_issuer, sample_app, new_page, callback, app
):
    session, verifier, url = authorization(live_issuer, app)
    page = new_page()
    page.goto(url)
    assert page.locator("#login-title").inner_text() == "Please log in"
    shot(page, "sample-app-login")
    page.fill("#email", "foo@bar.com")
    page.fill("#password", "foobar")
    page.click("#accept")
    page.wait_for_selector("text=An application requests access to your data!")
    assert "Acme Notes" in page.inner_text("body")
    page.check("#openid")
    page.check("#email")
    page.click("#accept")
    page.wait_for_timeout(200)
    assert callback.urls and "code=" in callback.urls[-1], page.url
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=callback.urls[-1], code_verifier=verifier
    )
    keys = jwk.JWKSet.from_json(requests.get(f"{live_issuer}/.well-known/jwks.json", timeout=10).text)
    claims = json.loads(jwt.JWT(jwt=token["id_token"], key=keys).claims)
    assert claims["sub"] == "foo@bar.com" and claims["aud"] == app.client_id
    assert claims["iss"] == live_issuer
    # The claims the app put in session.id_token.
    assert claims["email"] == "foo@bar.com" and claims["email_verified"] is True

    # RP-initiated logout through the app's "Do you wish to log out?" screen.
    page.goto(
        f"{live_issuer}/oauth2/sessions/logout?id_token_hint={token['id_token']}"
        f"&post_logout_redirect_uri={callback.base}/signed-out&state=bye"
    )
    page.wait_for_selector("text=Do you wish to log out?")
    page.click("#accept")
    page.wait_for_timeout(200)
    assert callback.urls[-1].startswith(f"{callback.base}/signed-out")
    assert query_of(callback.urls[-1])["state"] == "bye"
    # Signed out: the next request asks the app to sign someone in, without skip.
    page.goto(authorization(live_issuer, app)[2])
    assert page.locator("#login-title").inner_text() == "Please log in"


def test_denying_consent_in_the_sample_app_answers_access_denied(
    live_issuer, sample_app, new_page, callback, app
):
    _, _, url = authorization(live_issuer, app)
    page = new_page()
    page.goto(url)
    page.fill("#email", "foo@bar.com")
    page.fill("#password", "foobar")
    page.click("#accept")
    page.wait_for_selector("text=An application requests access to your data!")
    page.click("#reject")
    page.wait_for_timeout(200)
    assert query_of(callback.urls[-1])["error"] == "access_denied"


def test_a_device_flow_through_the_sample_apps_code_login_and_consent_screens(
    live_issuer, sample_app, new_page
):
    tv, started = live_device_start(live_issuer)
    page = new_page()
    page.goto(started["verification_uri"])
    page.wait_for_selector("text=Please input User Code")
    page.fill("#code", started["user_code"])
    page.click("#verify")
    page.wait_for_selector("#login-title")
    page.fill("#email", "foo@bar.com")
    page.fill("#password", "foobar")
    page.click("#accept")
    page.wait_for_selector("text=An application requests access to your data!")
    assert "Living-room TV" in page.inner_text("body")
    page.check("#openid")
    page.click("#accept")
    page.wait_for_selector("text=You're all set")
    token = requests.post(
        f"{live_issuer}/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": started["device_code"],
            "client_id": tv.client_id,
        },
        timeout=10,
    ).json()
    assert token["scope"] == "openid", token
    userinfo = requests.get(
        f"{live_issuer}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    ).json()
    assert userinfo["sub"] == "foo@bar.com"

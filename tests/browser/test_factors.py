"""Second factors in real Chromium: an authenticator app set up from the key the page shows and
used to sign in, a recovery code, passkeys through Chromium's virtual authenticator (Chrome
DevTools Protocol WebAuthn domain), step-up by acr_values and a client that requires
multi-factor, with Authlib's client reading `acr` and `amr` from the ID token."""

import json
import time
from pathlib import Path

import pyotp
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from jwcrypto import jwk, jwt

from ciam.accounts import factors
from ciam.accounts.models import Passkey, User
from clients.services import client_create
from tests.helpers import PASSWORD, PHONE, shot

pytestmark = pytest.mark.django_db(transaction=True)


def app(callback, **fields):
    return client_create(
        client_name=fields.pop("client_name", "Acme Notes"),
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email",
        redirect_uris=[callback.url],
        skip_consent=True,
        **fields,
    ).client


def authorization(live_issuer, client, **params):
    """(Authlib's session, the authorization URL, the PKCE verifier)."""
    session = OAuth2Session(
        client.client_id,
        redirect_uri=client.redirect_uri_list[0],
        scope="openid email",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=verifier, **params)
    return session, url, verifier


def id_token_of(live_issuer, session, callback, verifier) -> dict:
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=callback.urls[-1], code_verifier=verifier
    )
    keys = jwk.JWKSet.from_json(requests.get(f"{live_issuer}/.well-known/jwks.json", timeout=10).text)
    return json.loads(jwt.JWT(jwt=token["id_token"], key=keys).claims)


def password_sign_in(page, email, password=PASSWORD):
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in'):not(:has-text('passkey'))")


def sign_out(page):
    page.click("header button:has-text('Sign out')")
    page.wait_for_load_state()


def set_up_authenticator_app(page) -> tuple[pyotp.TOTP, list[str]]:
    """On /account/security: set up an app from the key the page shows; the recovery codes shown."""
    page.click("a:has-text('Set up an authenticator app')")
    assert page.locator(".qr svg").count() == 1
    shot(page, "totp-setup")
    totp = pyotp.TOTP(page.locator("[data-totp-key]").inner_text().replace(" ", ""))
    page.fill("input[name=code]", totp.now())
    page.click("button:has-text('Turn on')")
    assert page.locator("h2:has-text('Save your recovery codes')").is_visible()
    shot(page, "recovery-codes")
    return totp, page.locator("[data-recovery-codes] li").all_inner_texts()


def virtual_authenticator(page):
    """Chromium's virtual platform authenticator (resident keys, user verification), which
    answers the WebAuthn requests of this page without a prompt (while its presence simulation
    is on)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "ctap2Version": "ctap2_1",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def without_autofill(page):
    """Refuse the sign-in page's first options request (its autofill's, as it loads); let the
    others through."""
    seen = []

    def route(request_route):
        seen.append(request_route.request.post_data)
        if len(seen) == 1:
            assert "sign-in" in (request_route.request.post_data or "")
            request_route.abort()
        else:
            request_route.continue_()

    page.unroute("**/passkeys/options")
    page.route("**/passkeys/options", route)


def test_an_authenticator_app_set_up_in_the_page_then_signs_in_with_a_code_and_acr_2(
    live_issuer, new_page, callback, smtp
):
    User.objects.create_user(email="erin@example.com", password=PASSWORD)
    page = new_page(javascript=False)  # everything but passkeys works without JavaScript
    page.goto(f"{live_issuer}/login?next=/account/security")
    password_sign_in(page, "erin@example.com")
    assert page.locator("h1").inner_text() == "Sign-in security"
    shot(page, "security-empty")
    totp, codes = set_up_authenticator_app(page)
    assert len(codes) == 10
    page.goto(f"{live_issuer}/account/security")
    assert "Save your recovery codes" not in page.content()  # shown once
    shot(page, "security-totp")
    sign_out(page)

    client = app(callback)
    session, url, verifier = authorization(live_issuer, client)
    page.goto(url)
    password_sign_in(page, "erin@example.com")
    assert page.locator("h1").inner_text() == "Two-step verification"
    shot(page, "factor-totp")
    page.fill("input[name=code]", "000000" if totp.now() != "000000" else "111111")
    page.click("button:has-text('Verify')")
    assert "That code is not right" in page.content()
    # The code of the next step (a phone clock a little ahead): the one at set-up is spent.
    page.fill("input[name=code]", totp.at(time.time() + 30))
    page.click("button:has-text('Verify')")
    page.wait_for_url(f"{callback.url}*")
    claims = id_token_of(live_issuer, session, callback, verifier)
    assert claims["acr"] == "2" and claims["amr"] == ["pwd", "otp", "mfa"]

    # On a phone, with a recovery code instead of the app.
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live_issuer}/login?next=/account")
    password_sign_in(phone, "erin@example.com")
    phone.click("summary:has-text('Use a recovery code instead')")
    shot(phone, "factor-recovery-phone")
    phone.fill("input[name=recovery_code]", codes[3])
    phone.click("button:has-text('Use this code')")
    assert phone.locator("h1").inner_text() == "Your account"


def test_passkeys_registered_in_chromium_sign_in_alone_and_as_the_second_factor(
    live_issuer, new_page, callback, smtp
):
    User.objects.create_user(email="finn@example.com", password=PASSWORD)
    page = new_page()
    cdp, authenticator = virtual_authenticator(page)
    page.goto(f"{live_issuer}/login?next=/account/security")
    password_sign_in(page, "finn@example.com")
    page.fill("input[name=name]", "Chromium")
    page.click("button:has-text('Add a passkey')")
    page.wait_for_selector("text=Passkey “Chromium” added.")
    assert page.locator("[data-recovery-codes] li").count() == 10
    shot(page, "security-passkey")
    passkey = Passkey.objects.get(user__email="finn@example.com")
    assert passkey.name == "Chromium" and passkey.public_key
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    sign_out(page)

    # 1. Alone, through the browser's autofill (conditional UI): the sign-in page asks for any
    # passkey as it loads, the e-mail field marked for it; the authenticator answers at once.
    page.goto(f"{live_issuer}/login?next=/account")
    page.wait_for_url(f"{live_issuer}/account")
    assert page.locator("h1").inner_text() == "Your account"
    passkey.refresh_from_db()
    assert passkey.last_used is not None and passkey.sign_count >= 1
    sign_out(page)

    # An application's sign-in with the passkey alone: Authlib reads a multi-factor ID token.
    notes = app(callback)
    session, url, verifier = authorization(live_issuer, notes)
    page.goto(url)
    page.wait_for_url(f"{callback.url}*")
    claims = id_token_of(live_issuer, session, callback, verifier)
    assert claims["acr"] == "2" and claims["amr"] == ["hwk", "user", "mfa"]
    page.goto(f"{live_issuer}/account")
    sign_out(page)

    # 2. Alone, with the button (the autofill's request, as the page loads, is held back so
    # that the authenticator does not answer it first).
    without_autofill(page)
    page.goto(f"{live_issuer}/login?next=/account/sessions")
    assert page.get_attribute("input[name=email]", "autocomplete") == "username webauthn"
    shot(page, "login-with-passkey")
    page.click("button:has-text('Sign in with a passkey')")
    page.wait_for_url(f"{live_issuer}/account/sessions")
    sign_out(page)

    # 3. The second factor, after the password.
    without_autofill(page)
    page.goto(f"{live_issuer}/login?next=/account")
    password_sign_in(page, "finn@example.com")
    assert page.locator("h1").inner_text() == "Two-step verification"
    shot(page, "factor-passkey")
    page.click("button:has-text('Use a passkey')")
    page.wait_for_url(f"{live_issuer}/account")
    assert page.locator("h1").inner_text() == "Your account"


def test_step_up_by_acr_values_asks_a_password_session_for_the_second_factor_only(
    live_issuer, new_page, callback, smtp
):
    gail = User.objects.create_user(email="gail@example.com", password=PASSWORD)
    page = new_page()
    notes = app(callback)
    session, url, verifier = authorization(live_issuer, notes)
    page.goto(url)
    password_sign_in(page, "gail@example.com")
    page.wait_for_url(f"{callback.url}*")
    first = id_token_of(live_issuer, session, callback, verifier)
    assert first["acr"] == "1" and first["amr"] == ["pwd"]

    # Meanwhile she set up an authenticator app (on another device); Notes now asks for acr 2.
    setup = factors.totp_setup(gail)
    totp = pyotp.TOTP(setup.key.replace(" ", ""))
    factors.totp_confirm(user=gail, code=totp.at(time.time() - 30), ip_address=None)
    time.sleep(1)
    session, url, verifier = authorization(live_issuer, notes, acr_values="2")
    page.goto(url)
    assert page.locator("h1").inner_text() == "Two-step verification"
    assert page.locator("input[name=password]").count() == 0  # not the password again
    page.fill("input[name=code]", totp.now())
    page.click("button:has-text('Verify')")
    page.wait_for_url(f"{callback.url}*")
    claims = id_token_of(live_issuer, session, callback, verifier)
    assert claims["acr"] == "2" and claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["auth_time"] > first["auth_time"] and claims["sid"] == first["sid"]


def test_a_client_that_requires_mfa_has_a_person_set_up_a_factor_then_go_on(
    live_issuer, new_page, callback, smtp
):
    User.objects.create_user(email="hank@example.com", password=PASSWORD)
    page = new_page()
    bank = app(callback, client_name="Bank", require_mfa=True)
    session, url, verifier = authorization(live_issuer, bank)
    page.goto(url)
    password_sign_in(page, "hank@example.com")
    assert page.locator("h1").inner_text() == "Sign-in security"
    assert "asks for a second step" in page.content()
    shot(page, "security-setup-required")
    _, codes = set_up_authenticator_app(page)
    with page.expect_download() as download:
        page.click("button:has-text('Download')")
    saved = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == "recovery-codes.txt" and all(c in saved for c in codes)
    assert "hank@example.com" in saved
    page.click("button:has-text('I saved them')")
    page.wait_for_url(f"{callback.url}*")
    claims = id_token_of(live_issuer, session, callback, verifier)
    assert claims["acr"] == "2" and claims["amr"] == ["pwd", "otp", "mfa"]

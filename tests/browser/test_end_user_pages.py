"""The end user's side of every flow, in real Chromium: register, consent, remembered consent,
deny, logout with redirect, the device flow, revoking an app."""

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from ciam.accounts.models import User
from ciam.oauth.models import AccessToken
from clients.services import client_create
from tests.helpers import PASSWORD, PHONE, Inbox, live_device_start, query_of, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(callback):
    return client_create(
        client_name="Acme Notes",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email",
        redirect_uris=[callback.url],
        post_logout_redirect_uris=[f"{callback.base}/signed-out"],
        client_uri="https://acme.example",
        policy_uri="https://acme.example/privacy",
    ).client


def oauth_session(client):
    return OAuth2Session(
        client.client_id,
        redirect_uri=client.redirect_uri_list[0],
        scope="openid profile email",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )


def sign_in(page, email="dana@example.com", password=PASSWORD):
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")


def signed_in_with_tokens(live_issuer, page, callback, app):
    """Dana (a new account) signs in and allows the app in `page`, remembered; the app's token response."""
    User.objects.create_user(email="dana@example.com", password=PASSWORD)
    session = oauth_session(app)
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=verifier)
    page.goto(url)
    sign_in(page)
    page.check("input[name=remember]")  # Dana chooses to be remembered: the app is not asked about again
    page.click("button:has-text('Allow access')")
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=callback.urls[-1], code_verifier=verifier
    )
    return page, token


def test_register_consent_with_an_optional_scope_unticked_and_get_only_those_claims(
    live_issuer, new_page, callback, app, smtp
):
    page = new_page(javascript=False)  # the pages must work without JavaScript
    session = oauth_session(app)
    verifier = generate_token(64)
    url, state = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=verifier)

    page.goto(url)
    assert page.locator("h1").inner_text() == "Sign in"
    assert "Acme Notes" in page.content()
    shot(page, "login")
    page.click("text=Create an account")
    page.fill("input[name=email]", "dana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    shot(page, "registration")
    page.click("button:has-text('Create account')")

    # The address is verified with the code of the message that really arrived.
    assert page.locator("h1").inner_text() == "Check your e-mail"
    message = smtp.last("dana@example.com")
    shot(page, "check-email")
    page.fill("input[name=code]", Inbox.code(message))
    page.click("button:has-text('Continue')")

    assert "wants to access your account" in page.locator("h1").inner_text()
    shot(page, "consent")
    page.uncheck("input[name=grant_scope][value=profile]")
    page.click("button:has-text('Allow access')")

    assert len(callback.urls) == 1
    returned = callback.urls[0]
    assert query_of(returned)["state"] == state
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=returned, code_verifier=verifier
    )
    assert set(token["scope"].split()) == {"openid", "email"}
    userinfo = session.get(f"{live_issuer}/userinfo").json()
    assert userinfo["email"] == "dana@example.com"
    assert "name" not in userinfo and "given_name" not in userinfo
    assert userinfo["email_verified"] is True
    assert User.objects.filter(email="dana@example.com").exists()


def test_a_remembered_consent_skips_the_page_and_deny_returns_access_denied(
    live_issuer, new_page, callback, app
):
    User.objects.create_user(email="dana@example.com", password=PASSWORD)
    page = new_page()
    session = oauth_session(app)
    url, _ = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=generate_token(64))
    page.goto(url)
    sign_in(page)
    page.check("input[name=remember]")
    page.click("button:has-text('Allow access')")
    assert "code" in query_of(callback.urls[-1])

    # Same scopes again: straight back to the client, no page.
    url, _ = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=generate_token(64))
    page.goto(url)
    assert len(callback.urls) == 2 and "code" in query_of(callback.urls[-1])

    # Forced consent, denied: the client hears access_denied with its state.
    url, state = session.create_authorization_url(
        f"{live_issuer}/oauth2/auth", code_verifier=generate_token(64), prompt="consent"
    )
    page.goto(url)
    page.click("button:has-text('Deny')")
    params = query_of(callback.urls[-1])
    assert params["error"] == "access_denied" and params["state"] == state


def test_rp_initiated_logout_returns_to_the_client(live_issuer, new_page, callback, app):
    page, token = signed_in_with_tokens(live_issuer, new_page(), callback, app)

    page.goto(
        f"{live_issuer}/oauth2/sessions/logout?id_token_hint={token['id_token']}"
        f"&post_logout_redirect_uri={callback.base}/signed-out&state=bye"
    )
    assert callback.urls[-1].startswith(f"{callback.base}/signed-out"), page.inner_text("main")
    assert query_of(callback.urls[-1])["state"] == "bye"
    # Signed out: the account page asks to sign in again.
    page.goto(f"{live_issuer}/account/apps")
    assert page.locator("h1").inner_text() == "Sign in"


def test_the_device_flow_in_the_browser(live_issuer, new_page):
    User.objects.create_user(email="dana@example.com", password=PASSWORD)
    tv, start = live_device_start(live_issuer)
    page = new_page(viewport=PHONE)
    page.goto(start["verification_uri"])
    sign_in(page)
    assert page.locator("h1").inner_text() == "Connect a device"
    page.fill("input[name=user_code]", start["user_code"])
    shot(page, "device")
    page.click("button:has-text('Continue')")
    assert "Living-room TV" in page.locator("h1").inner_text()
    page.click("button:has-text('Allow access')")
    assert page.locator("h1").inner_text() == "You're all set"
    shot(page, "device-done")

    tokens = requests.post(
        f"{live_issuer}/oauth2/token",
        timeout=10,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": start["device_code"],
            "client_id": tv.client_id,
        },
    ).json()
    assert tokens["access_token"].startswith("ciam_at_")


def test_revoking_an_app_from_the_account_page(live_issuer, new_page, callback, app):
    page, token = signed_in_with_tokens(live_issuer, new_page(), callback, app)

    page.goto(f"{live_issuer}/account/apps")
    assert "Acme Notes" in page.locator(".app-card h2").inner_text()
    shot(page, "account-apps")
    page.click("text=Remove access")
    # Asked first, naming the app.
    assert page.locator("h1").inner_text() == "Remove access for Acme Notes?"
    shot(page, "account-app-revoke")
    page.click("button:has-text('Remove access')")
    assert "Access removed for Acme Notes" in page.inner_text("main")
    assert page.locator(".app-card").count() == 0
    assert not AccessToken.objects.exists()
    after = requests.get(
        f"{live_issuer}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    )
    assert after.status_code == 401


@pytest.mark.security("forced-sign-out")
@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_hostile_prompt_login_link_asks_for_the_password_without_signing_out(
    live_issuer, new_page, callback, app, viewport
):
    """Another site links to this server with prompt=login: the person is asked to confirm, and
    stays signed in whatever they do; the new sign-in completes the app's request."""
    page, _token = signed_in_with_tokens(
        live_issuer, new_page(**({"viewport": viewport} if viewport else {})), callback, app
    )
    session = oauth_session(app)
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(
        f"{live_issuer}/oauth2/auth", code_verifier=verifier, prompt="login"
    )
    page.set_content(f'<a id="lure" href="{url}">a cat picture</a>')
    page.click("#lure")
    assert page.locator("h1").inner_text() == "Confirm it’s you"
    assert "You are signed in as dana@example.com" in page.inner_text("main")
    assert page.input_value("input[name=email]") == "dana@example.com"
    shot(page, f"login-again-{'phone' if viewport else 'desktop'}")
    # Walking away from it ends nothing: the account page is still Dana's.
    page.goto(f"{live_issuer}/account/apps")
    assert "Acme Notes" in page.inner_text("main")
    page.go_back()
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=callback.urls[-1], code_verifier=verifier
    )
    assert token["id_token"]


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_an_error_page_says_what_happened_in_plain_words_and_offers_a_way_back(
    live_issuer, new_page, app, viewport
):
    page = new_page(**({"viewport": viewport} if viewport else {}))
    # An unknown application: plain words, the code in the details, the account page as a way on.
    page.goto(f"{live_issuer}/oauth2/auth?client_id=c-nobody&response_type=code&scope=openid")
    assert page.locator("h1").inner_text() == "This application isn't recognised"
    assert not page.locator("details.error-details").evaluate("d => d.open")
    page.click("details.error-details summary")
    assert "invalid_client" in page.locator("details.error-details").inner_text()
    assert page.locator("a:has-text('Go to your account')").get_attribute("href") == "/account/apps"
    shot(page, f"error-unknown-client-{'phone' if viewport else 'desktop'}")
    # A known application with a redirect URI it never registered: back to its own site.
    page.goto(
        f"{live_issuer}/oauth2/auth?client_id={app.client_id}&response_type=code&scope=openid"
        "&redirect_uri=https://evil.example/cb"
    )
    assert page.locator("h1").inner_text() == "This sign-in link isn't valid"
    back = page.locator("a:has-text('Back to Acme Notes')")
    assert back.get_attribute("href") == "https://acme.example"
    assert "Error code" not in page.inner_text("main")


def test_after_a_wrong_password_the_cursor_is_in_the_password_field_and_registration_lists_every_problem(
    live_issuer, new_page
):
    User.objects.create_user(email="dana@example.com", password=PASSWORD)
    page = new_page(javascript=False)
    page.goto(f"{live_issuer}/login")
    sign_in(page, password="not the password")
    assert page.locator("input[name=email]").input_value() == "dana@example.com"
    assert page.locator("input[name=password]").get_attribute("autofocus") is not None
    assert page.locator("input[name=email]").get_attribute("autofocus") is None
    page = new_page()
    page.goto(f"{live_issuer}/registration")
    page.fill("input[name=email]", "dana@example.com")  # taken: that error, and the password's too
    page.fill("input[name=password]", "123")
    page.fill("input[name=password_confirm]", "123")
    page.click("button[type=submit]")
    errors = " ".join(page.locator(".field-error").all_inner_texts()).lower()
    assert "short" in errors and "numeric" in errors, errors  # every password problem at once


def test_on_a_phone_the_header_still_says_who_is_signed_in(live_issuer, new_page, callback, app):
    page, _ = signed_in_with_tokens(live_issuer, new_page(viewport=PHONE), callback, app)
    page.goto(f"{live_issuer}/account/apps")
    assert page.locator(".topbar-user .muted").is_visible()
    assert page.locator(".topbar-user .muted").inner_text() == "dana@example.com"
    shot(page, "account-apps-phone")


def test_not_you_signs_out_and_asks_the_same_request_for_another_account(
    live_issuer, new_page, callback, app
):
    User.objects.create_user(email="dana@example.com", password=PASSWORD)
    erin = User.objects.create_user(email="erin@example.com", password=PASSWORD)
    page = new_page()
    session = oauth_session(app)
    verifier = generate_token(64)
    url, state = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=verifier)
    page.goto(url)
    sign_in(page)
    assert "dana@example.com" in page.locator(".signed-in-as").inner_text()
    assert not page.locator("input[name=remember]").is_checked()  # a third-party app: the person chooses
    shot(page, "consent-not-you")
    page.click("button:has-text('Not you?')")

    assert page.locator("h1").inner_text() == "Sign in" and "Acme Notes" in page.content()
    assert page.locator("input[name=email]").input_value() == ""
    sign_in(page, email="erin@example.com")
    assert "erin@example.com" in page.locator(".signed-in-as").inner_text()
    page.click("button:has-text('Allow access')")
    returned = callback.urls[-1]
    assert query_of(returned)["state"] == state  # the application's own request went on
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=returned, code_verifier=verifier
    )
    assert session.get(f"{live_issuer}/userinfo").json()["sub"] == erin.oidc_subject
    assert token["id_token"]


def test_verifying_by_the_link_in_another_browser(live_issuer, new_page, smtp):
    page = new_page()
    page.goto(f"{live_issuer}/registration")
    page.fill("input[name=email]", "lee@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.click("button:has-text('Create account')")
    assert page.locator("h1").inner_text() == "Check your e-mail"
    phone = new_page(viewport=PHONE)  # the message is read on another device
    phone.goto(Inbox.link(smtp.last("lee@example.com")))
    assert phone.locator("h1").inner_text() == "Your e-mail address is verified"
    shot(phone, "verified-phone")
    assert User.objects.get(email="lee@example.com").email_verified
    phone.goto(Inbox.link(smtp.last("lee@example.com")))  # a second time: spent
    assert "expired or was already used" in phone.inner_text("main")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_forgot_password_by_the_emailed_link_then_sign_in_with_the_new_one(
    live_issuer, new_page, smtp, javascript
):
    User.objects.create_user(email="mia@example.com", password=PASSWORD)
    page = new_page(javascript=javascript)
    page.goto(f"{live_issuer}/login")
    page.click("text=Forgot password?")
    assert page.locator("h1").inner_text() == "Forgot your password?"
    page.fill("input[name=email]", "mia@example.com")
    page.click("button:has-text('Send me a link')")
    assert page.locator("h1").inner_text() == "Check your e-mail"
    assert "If an account exists for mia@example.com" in page.inner_text("main")
    message = smtp.last("mia@example.com")
    assert message["Subject"] == "Reset your password"
    page.goto(Inbox.link(message))
    assert page.locator("h1").inner_text() == "Choose a new password"
    assert "token=" not in page.url  # the link's secret left the address bar
    page.fill("input[name=password]", "a brand new passphrase 4")
    page.fill("input[name=password_confirm]", "a brand new passphrase 4")
    if javascript:
        shot(page, "recovery-new-password")
    page.click("button:has-text('Save the new password')")
    assert page.locator("h1").inner_text() == "Your password was changed"
    assert smtp.last("mia@example.com")["Subject"] == "Your password was changed"
    page.click("a:has-text('Sign in')")
    page.fill("input[name=email]", "mia@example.com")
    page.fill("input[name=password]", "a brand new passphrase 4")
    page.click("button:has-text('Sign in')")
    assert page.locator("h1").inner_text() == "Your account"


def test_recovery_by_the_emailed_code_and_a_wrong_code_is_refused_plainly(live_issuer, new_page, smtp):
    User.objects.create_user(email="noa@example.com", password=PASSWORD)
    page = new_page(viewport=PHONE)
    page.goto(f"{live_issuer}/recovery")
    page.fill("input[name=email]", "noa@example.com")
    page.click("button:has-text('Send me a link')")
    code = Inbox.code(smtp.last("noa@example.com"))
    page.fill("input[name=code]", "000000" if code != "000000" else "111111")
    page.click("button:has-text('Continue')")
    assert "That code is not right" in page.inner_text("main")
    shot(page, "recovery-wrong-code-phone")
    page.fill("input[name=code]", code)
    page.click("button:has-text('Continue')")
    assert page.locator("h1").inner_text() == "Choose a new password"


def test_the_account_settings_change_the_profile_and_the_address_and_sign_out_elsewhere(
    live_issuer, new_page, smtp
):
    User.objects.create_user(email="oli@example.com", password=PASSWORD)
    laptop = new_page()
    laptop.goto(f"{live_issuer}/account")
    sign_in(laptop, email="oli@example.com")
    assert laptop.locator("h1").inner_text() == "Your account"
    laptop.fill("input[name=given_name]", "Oli")
    laptop.fill("input[name=zoneinfo]", "Europe/Paris")
    laptop.click("button:has-text('Save profile')")
    assert "Your profile was saved." in laptop.inner_text("main")
    shot(laptop, "account-settings")
    laptop.fill("input[name=email-email]", "oli.new@example.com")
    laptop.click("button:has-text('Change e-mail address')")
    laptop.fill("input[name=code]", Inbox.code(smtp.last("oli.new@example.com")))
    laptop.click("button:has-text('Continue')")
    assert "Your e-mail address is verified: oli.new@example.com." in laptop.inner_text("main")
    assert smtp.last("oli@example.com")["Subject"] == "Your e-mail address was changed"

    phone = new_page(viewport=PHONE)
    phone.goto(f"{live_issuer}/account/sessions")
    sign_in(phone, email="oli.new@example.com")
    assert phone.locator(".session-card").count() == 2
    shot(phone, "account-sessions-phone")
    phone.click("button:has-text('Sign out every other session')")
    assert "1 other session signed out." in phone.inner_text("main")
    laptop.goto(f"{live_issuer}/account")
    assert laptop.locator("h1").inner_text() == "Sign in"  # the laptop was signed out

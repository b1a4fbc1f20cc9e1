"""The admin console in real Chromium: New Client -> a real client library gets tokens; the secret
dialog and rotation; inline validation; delete; user lock; token introspection."""

import re

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.db import OperationalError

from ciam.accounts.models import User
from ciam.api.services import admin_token_create
from ciam.oauth.models import AccessToken, RefreshToken
from clients.models import Client
from clients.services import client_create
from tests.helpers import PASSWORD, PHONE, Callback, live_m2m_token, shot, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_to_the_console(page, live_issuer):
    page.goto(f"{live_issuer}/console/")
    page.fill("input[name=email]", "admin@demo.user")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    assert page.locator("h1").inner_text() == "Dashboard"
    return page


@pytest.fixture
def demo_admin(db):
    return User.objects.create_superuser(email="admin@demo.user", password=PASSWORD)


@pytest.fixture
def admin_page(live_issuer, new_page, demo_admin):
    return sign_in_to_the_console(new_page(), live_issuer)


@pytest.fixture
def localhost_8765():
    server = Callback(port=8765)
    yield server
    server.close()


def test_new_client_then_a_real_client_library_gets_tokens(live_issuer, admin_page, localhost_8765):
    page = admin_page
    page.click("text=New Client")
    page.fill("input[name=client_name]", "playground-client")
    page.check("input[name=client_type][value=public]")
    assert page.locator("input[name=pkce_required]").is_checked()
    assert page.locator("input[name=pkce_required]").is_disabled()  # locked for public clients
    page.fill("input[name=redirect_uris]", "http://localhost:8765/callback")
    page.check("input[name=grant_types][value=authorization_code]")
    page.check("input[name=grant_types][value=refresh_token]")
    for scope in ("openid", "profile", "email"):
        page.check(f"input[name=scopes][value='{scope}']")
    shot(page, "console-new-client")
    page.click("button:has-text('Create client')")

    client_id = page.locator("#client-id").inner_text().strip()
    assert re.fullmatch(r"c-[A-Za-z0-9_\-]+", client_id)
    assert "playground-client" in page.locator("h1").inner_text()
    assert page.locator("#secret-dialog").count() == 0  # public: no secret
    shot(page, "console-client-detail")

    session = OAuth2Session(
        client_id,
        redirect_uri="http://localhost:8765/callback",
        scope="openid profile email",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=verifier)
    page.goto(url)
    page.click("button:has-text('Allow access')")
    callback = localhost_8765.urls[-1]
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=callback, code_verifier=verifier
    )
    assert token["access_token"].startswith("ciam_at_") and token["refresh_token"] and token["id_token"]
    assert session.get(f"{live_issuer}/userinfo").json()["email"] == "admin@demo.user"


def test_a_confidential_clients_secret_dialog_and_rotation(live_issuer, admin_page):
    page = admin_page
    page.goto(f"{live_issuer}/console/clients/new")
    page.fill("input[name=client_name]", "reports")
    page.check("input[name=client_type][value=confidential]")
    # From the defaults, only the grant types change: what depends on them follows.
    page.uncheck("input[name=grant_types][value=authorization_code]")
    page.uncheck("input[name=grant_types][value=refresh_token]")
    page.check("input[name=grant_types][value=client_credentials]")
    assert not page.locator("input[name=scopes][value=openid]").is_checked()
    assert not page.locator("input[name=redirect_uris]").first.is_visible()
    page.click("button:has-text('Create client')")

    dialog = page.locator("#secret-dialog")
    assert dialog.is_visible()
    secret = page.locator("#secret-value-dialog").inner_text().strip()
    assert secret.startswith("ciam_cs_")
    close = page.locator("#secret-close")
    assert close.is_disabled()
    page.keyboard.press("Escape")
    assert dialog.is_visible()  # cannot be dismissed before it is acknowledged
    shot(page, "console-secret-dialog")
    page.check("#secret-ack")
    close.click()
    assert not dialog.is_visible()

    client_id = page.locator("#client-id").inner_text().strip()
    token_url = f"{live_issuer}/oauth2/token"
    assert (
        requests.post(
            token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
        ).status_code
        == 200
    )
    page.click("button:has-text('Rotate secret')")
    page.locator("#rotate-dialog button:has-text('Rotate secret')").click()
    new_secret = page.locator("#secret-value-dialog").inner_text().strip()
    assert new_secret != secret
    assert (
        requests.post(
            token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
        ).status_code
        == 401
    )
    assert (
        requests.post(
            token_url, data={"grant_type": "client_credentials"}, auth=(client_id, new_secret), timeout=10
        ).status_code
        == 200
    )


def test_validation_errors_appear_inline_as_you_type_and_on_save(live_issuer, admin_page):
    page = admin_page
    page.goto(f"{live_issuer}/console/clients/new")
    page.fill("input[name=redirect_uris]", "http://evil.example/cb")
    page.wait_for_selector(".uri-feedback .field-error")  # htmx, as you type
    typed = page.locator(".uri-feedback").first.inner_text()
    assert "non-loopback" in typed
    page.fill("textarea[name=metadata]", "{not json")
    page.click("button:has-text('Create client')")  # the name is blank too

    # Every field's problem at once, each field marked, the focus on the first.
    assert "3 fields need attention" in page.locator(".alert-error").inner_text()
    name = page.locator("input[name=client_name]")
    assert name.get_attribute("aria-invalid") == "true"
    error_id = name.get_attribute("aria-describedby")
    assert "required" in page.locator(f"#{error_id}").inner_text()
    assert page.evaluate("document.activeElement.name") == "client_name"
    uri = page.locator("input[name=redirect_uris]").first
    assert uri.input_value() == "http://evil.example/cb" and uri.get_attribute("aria-invalid") == "true"
    described = [page.locator(f"#{i}").inner_text() for i in uri.get_attribute("aria-describedby").split()]
    assert any("non-loopback" in text for text in described)  # the live check's message stays
    assert "non-loopback" in page.locator(".uri-feedback").first.inner_text()
    assert page.locator("textarea[name=metadata]").get_attribute("aria-invalid") == "true"
    border = page.evaluate("getComputedStyle(document.querySelector('[name=client_name]')).borderTopColor")
    assert border == "rgb(180, 35, 24)"
    shot(page, "console-validation")
    assert not Client.objects.filter(name="").exists() and Client.objects.count() == 0


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_presets_fill_the_form_and_a_machine_client_is_made_from_one(
    live_issuer, demo_admin, new_page, javascript
):
    page = sign_in_to_the_console(new_page(javascript=javascript), live_issuer)
    page.goto(f"{live_issuer}/console/clients/new")
    page.click("text=Machine-to-machine")
    assert page.locator("[data-preset=m2m]").get_attribute("aria-current") == "true"
    assert page.locator("input[name=grant_types][value=client_credentials]").is_checked()
    assert not page.locator("input[name=grant_types][value=authorization_code]").is_checked()
    assert not page.locator("input[name=scopes][value=openid]").is_checked()
    assert not page.locator("input[name=redirect_uris]").first.is_visible()
    page.fill("input[name=client_name]", f"nightly-export-{javascript}")
    page.click("button:has-text('Create client')")
    client = Client.objects.get(name=f"nightly-export-{javascript}")
    assert client.grant_types == ["client_credentials"] and client.response_types == []

    page.goto(f"{live_issuer}/console/clients/new")
    page.click("text=Single-page, mobile or CLI")
    assert page.locator("input[name=client_type][value=public]").is_checked()
    assert page.locator("input[name=grant_types][value=authorization_code]").is_checked()
    assert page.locator("input[name=scopes][value=openid]").is_checked()
    assert page.locator("input[name=redirect_uris]").first.is_visible()
    page.click("text=Device")
    assert page.locator(
        "input[name=grant_types][value='urn:ietf:params:oauth:grant-type:device_code']"
    ).is_checked()
    page.click("text=Web app")
    assert page.locator("input[name=client_type][value=confidential]").is_checked()
    if javascript:
        shot(page, "console-new-client-presets")


def test_deleting_a_client_requires_typing_its_name(live_issuer, admin_page):
    from clients.services import client_create

    client = client_create(client_name="doomed", grant_types=["client_credentials"]).client
    page = admin_page
    page.goto(f"{live_issuer}/console/clients/{client.client_id}")
    page.click("a:has-text('Delete')")
    button = page.locator("#delete-button")
    assert button.is_disabled()
    page.fill("input[name=confirm_name]", "doomed")
    assert button.is_enabled()
    button.click()
    assert page.locator("h1").inner_text().startswith("Clients")
    assert not Client.objects.filter(pk=client.pk).exists()


def test_locking_a_user_stops_their_sign_in(live_issuer, admin_page, new_page):
    person = User.objects.create_user(email="pat@example.com", password=PASSWORD)
    page = admin_page
    page.goto(f"{live_issuer}/console/users/")
    page.click("text=pat@example.com")
    page.click("button:has-text('Lock')")
    assert "locked" in page.locator("h1").inner_text()
    shot(page, "console-user")
    other = new_page()
    other.goto(f"{live_issuer}/login")
    other.fill("input[name=email]", "pat@example.com")
    other.fill("input[name=password]", PASSWORD)
    other.click("button:has-text('Sign in')")
    assert "locked" in other.locator(".alert").inner_text()
    person.refresh_from_db()
    assert person.locked_until is not None


def test_introspecting_a_pasted_token(live_issuer, admin_page):
    result, token = live_m2m_token(live_issuer, "svc")
    page = admin_page
    page.goto(f"{live_issuer}/console/tokens")
    page.fill("textarea[name=token]", token)
    page.click("button:has-text('Introspect')")
    assert "active" in page.locator("#result-h").inner_text()
    assert result.client.client_id in page.content()
    shot(page, "console-tokens")
    page.click("button:has-text('Revoke this token')")
    introspected = requests.post(
        f"{live_issuer}/oauth2/introspect",
        data={"token": token},
        auth=(result.client.client_id, result.client_secret),
        timeout=10,
    ).json()
    assert introspected == {"active": False}


def _live_tokens(client, *, settle: bool = False) -> int:
    """The client's live access and refresh tokens. `settle`: while the live server may be
    writing (the beacon's revocation), an embedded SQLite table may be locked for a moment:
    count that as "not yet"."""
    try:
        return (
            AccessToken.objects.filter(application=client).count()
            + RefreshToken.objects.filter(application=client, revoked__isnull=True).count()
        )
    except OperationalError:
        if not settle:
            raise
        return -1


def test_try_it_runs_the_flow_without_changing_the_client_and_revokes_its_tokens(live_issuer, admin_page):
    client = client_create(
        client_name="Acme Web",
        scope="openid email offline_access",
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["https://app.example.com/cb"],
    )
    registered = client.client.redirect_uri_list
    page = admin_page
    page.goto(f"{live_issuer}/console/clients/{client.client.client_id}")
    page.fill("#try-secret", client.client_secret)
    page.click("button:has-text('Try the flow')")
    page.check("input[name=remember]")
    page.click("button:has-text('Allow access')")

    assert page.locator("h1").inner_text().startswith("Try it")
    assert "HTTP 200" in page.content() and "signature verified" in page.content()
    assert '"access_token": "ciam_at_' in page.locator("pre.json").inner_text()
    claims = page.locator("table.claims").inner_text()
    assert "admin@demo.user" in claims and client.client.client_id in claims
    # Times are dates (the number is only a hint beside them).
    exp_row = page.locator("table.claims tr", has=page.locator("code", has_text="exp")).first.inner_text()
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2}:\d{2}", exp_row)
    assert "The access token expires" in page.content()
    shot(page, "console-try-it")
    assert Client.objects.get(pk=client.client.pk).redirect_uri_list == registered
    assert _live_tokens(client.client) == 2

    page.click("button:has-text('Revoke these tokens')")
    assert "revoked" in page.locator(".toast").inner_text()
    assert _live_tokens(client.client) == 0

    # Again: the remembered consent is not asked for; leaving the result revokes its tokens.
    page.fill("#try-secret", client.client_secret)
    page.click("button:has-text('Try the flow')")
    assert page.locator("h1").inner_text().startswith("Try it")
    assert _live_tokens(client.client) == 2
    page.goto(f"{live_issuer}/console/")  # the result page is left: its beacon revokes
    assert wait_until(lambda: _live_tokens(client.client, settle=True) == 0, timeout=10)


def test_an_administrator_cannot_lock_deactivate_or_delete_the_last_active_administrator(
    live_issuer, admin_page, new_page
):
    page = admin_page
    me = User.objects.get(email="admin@demo.user")
    page.goto(f"{live_issuer}/console/users/{me.pk}")
    # Their own account offers none of it.
    assert "This is your account" in page.inner_text("main")
    for label in ("Lock", "Deactivate", "Delete user"):
        assert page.locator(f"button:has-text('{label}')").count() == 0
    shot(page, "console-own-account")
    # A second administrator, locked out: the last active one cannot be locked by them either.
    deputy = User.objects.create_user(email="deputy@example.com", password=PASSWORD, is_staff=True)
    page.goto(f"{live_issuer}/console/users/{deputy.pk}")
    page.click("button:has-text('Deactivate')")
    assert "deactivated" in page.locator("h1").inner_text()
    deputy.refresh_from_db()
    assert deputy.is_active is False
    # The API says so too: no staff account would be left to sign in to the console.
    token = admin_token_create(actor=None, name="t")[1]
    refused = requests.patch(
        f"{live_issuer}/admin/identities/{me.pk}",
        json={"state": "inactive"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert refused.status_code == 400 and "last active administrator" in refused.json()["error_description"]
    assert User.objects.get(pk=me.pk).is_active is True


def test_on_a_phone_the_navigation_folds_and_no_console_page_overflows_sideways(
    live_issuer, demo_admin, new_page
):
    made = client_create(client_name="Nightly exporter", grant_types=["client_credentials"], scope="")
    page = sign_in_to_the_console(new_page(viewport=PHONE), live_issuer)
    nav = page.locator("#console-nav")
    assert not nav.is_visible()
    page.click("button.nav-toggle")
    assert nav.is_visible() and page.locator("button.nav-toggle").get_attribute("aria-expanded") == "true"
    page.click("#console-nav >> text=Scopes")
    assert page.locator("h1").inner_text() == "Scopes"
    pages = ["/console/", "/console/clients/", f"/console/clients/{made.client.client_id}", "/console/users/"]
    pages += [f"/console/users/{demo_admin.pk}", "/console/clients/new", "/console/scopes", "/console/audit"]
    pages += ["/console/tokens", "/console/keys", "/console/api-tokens", "/console/settings"]
    for path in pages:
        page.goto(f"{live_issuer}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    # Without JavaScript the navigation is all there, wrapped.
    plain = sign_in_to_the_console(new_page(viewport=PHONE, javascript=False), live_issuer)
    assert plain.locator("#console-nav >> text=Settings").is_visible()
    assert plain.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_administrator_hands_over_a_recovery_link_and_resends_verification(
    live_issuer, admin_page, new_page, smtp
):
    person = User.objects.create_user(email="ria@example.com", password=PASSWORD)
    page = admin_page
    page.goto(f"{live_issuer}/console/users/{person.pk}")
    assert "not verified" in page.locator("#email").inner_text()
    page.click("button:has-text('Resend verification')")
    assert smtp.last("ria@example.com")["Subject"] == "Verify your e-mail address"
    page.click("button:has-text('Create a recovery link')")
    link = page.locator("#recovery-link-value").inner_text().strip()
    shot(page, "console-recovery-link")
    person_page = new_page()
    person_page.goto(link)
    assert person_page.locator("h1").inner_text() == "Choose a new password"
    page.reload()
    assert page.locator("#recovery-link-value").count() == 0  # shown once

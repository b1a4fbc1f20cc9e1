"""The admin console at the HTTP level: who may use it, and what each page does."""

import re
import uuid

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from ciam.accounts.models import User
from ciam.api.models import AdminToken
from ciam.api.services import admin_token_authenticate
from ciam.audit.models import AuditEvent
from ciam.oauth.models import AccessToken, SigningKey
from clients.models import Client
from consent.models import Consent
from tests.helpers import PASSWORD, cc

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_user(email="root@example.com", password=PASSWORD, is_staff=True)


@pytest.fixture
def console(admin):
    web = DjangoClient()
    web.force_login(admin)
    return web


def console_urls(client_id="c-x", user_id=None, token_id=1, consent_id=1):
    user_id = user_id or uuid.uuid4()
    return [
        ("get", reverse("console:dashboard")),
        ("get", reverse("console:tokens")),
        ("post", reverse("console:tokens")),
        ("get", reverse("console:keys")),
        ("post", reverse("console:keys")),
        ("get", reverse("console:admin-tokens")),
        ("post", reverse("console:admin-tokens")),
        ("post", reverse("console:admin-token-revoke", args=[token_id])),
        ("get", reverse("console:audit")),
        ("get", reverse("console:settings")),
        ("get", reverse("clients:list")),
        ("get", reverse("clients:new")),
        ("post", reverse("clients:new")),
        ("post", reverse("clients:validate-redirect-uri")),
        ("get", reverse("clients:detail", args=[client_id])),
        ("get", reverse("clients:edit", args=[client_id])),
        ("post", reverse("clients:edit", args=[client_id])),
        ("post", reverse("clients:rotate-secret", args=[client_id])),
        ("post", reverse("clients:toggle", args=[client_id])),
        ("get", reverse("clients:delete", args=[client_id])),
        ("post", reverse("clients:delete", args=[client_id])),
        ("post", reverse("clients:token-revoke", args=[client_id, token_id])),
        ("post", reverse("clients:consent-revoke", args=[client_id, consent_id])),
        ("post", reverse("clients:add-console-redirect", args=[client_id])),
        ("post", reverse("clients:try", args=[client_id])),
        ("get", reverse("clients:try-callback", args=[client_id])),
        ("get", reverse("accounts:user-list")),
        ("get", reverse("accounts:user-new")),
        ("post", reverse("accounts:user-new")),
        ("get", reverse("accounts:user-detail", args=[user_id])),
        ("post", reverse("accounts:user-lock", args=[user_id])),
        ("post", reverse("accounts:user-active", args=[user_id])),
        ("post", reverse("accounts:user-password", args=[user_id])),
        ("post", reverse("accounts:user-delete", args=[user_id])),
    ]


def test_every_console_view_sends_anonymous_visitors_to_sign_in(m2m_client):
    for method, url in console_urls(client_id=m2m_client.client.client_id):
        response = getattr(DjangoClient(), method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/login?next="), (method, url)


def test_every_console_view_refuses_a_signed_in_non_staff_user(user, m2m_client):
    web = DjangoClient()
    web.force_login(user)
    before = (Client.objects.count(), AuditEvent.objects.count(), SigningKey.objects.count())
    for method, url in console_urls(client_id=m2m_client.client.client_id, user_id=user.pk):
        response = getattr(web, method)(
            url,
            {
                "name": "x",
                "client_name": "x",
                "confirm_name": "Machine",
                "action": "lock",
                "password": "a long new password 9",
            },
        )
        assert response.status_code == 403, (method, url, response.status_code)
        assert b"This page is for administrators" in response.content
    assert (Client.objects.count(), AuditEvent.objects.count(), SigningKey.objects.count()) == before
    assert User.objects.get(pk=user.pk).locked_until is None


def test_console_forms_need_the_csrf_token(admin):
    web = DjangoClient(enforce_csrf_checks=True)
    web.force_login(admin)
    assert web.post(reverse("clients:new"), {"client_name": "x"}).status_code == 403


# --- Clients ---------------------------------------------------------------------------------------

PUBLIC_FORM = {
    "client_name": "playground-client",
    "client_type": "public",
    "redirect_uris": ["http://localhost:8765/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scopes": ["openid", "profile", "email"],
    "response_types": ["code"],
    "pkce_required": "on",
    "access_token_strategy": "opaque",
    "metadata": "{}",
}


def test_creating_a_public_client_from_the_console(console):
    response = console.post(reverse("clients:new"), PUBLIC_FORM)
    client = Client.objects.get(name="playground-client")
    assert response["Location"] == reverse("clients:detail", args=[client.client_id])
    assert client.is_public and client.requires_pkce()
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert client.scope == "openid profile email"
    assert client.redirect_uri_list == ["http://localhost:8765/callback"]
    page = console.get(response["Location"]).content.decode()
    assert client.client_id in page and "Save this client secret" not in page
    assert AuditEvent.objects.filter(
        event="client.created", client_id=client.client_id, actor__email="root@example.com"
    ).exists()


def test_a_confidential_clients_secret_is_shown_once_and_works(console):
    form = {
        **PUBLIC_FORM,
        "client_name": "svc",
        "client_type": "confidential",
        "grant_types": ["client_credentials"],
        "scopes": ["email"],
        "response_types": [],
        "redirect_uris": [],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    response = console.post(reverse("clients:new"), form)
    page = console.get(response["Location"]).content.decode()
    secret = re.search(r'id="secret-value-dialog">([^<]+)<', page).group(1)
    assert secret.startswith("ciam_cs_") and "I have saved it" in page
    client = Client.objects.get(name="svc")
    assert cc(client.client_id, secret).status_code == 200
    assert secret not in console.get(response["Location"]).content.decode()  # once


def test_validation_errors_are_shown_inline_and_nothing_is_written(console):
    form = {**PUBLIC_FORM, "redirect_uris": ["http://evil.example/cb"], "grant_types": ["client_credentials"]}
    response = console.post(reverse("clients:new"), form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "uses http on a non-loopback host" in page
    assert "public client" in page and "client_credentials" in page
    assert 'value="http://evil.example/cb"' in page  # nothing typed is lost
    assert not Client.objects.filter(name="playground-client").exists()


def test_a_redirect_uri_is_checked_as_it_is_typed(console):
    bad = console.post(
        reverse("clients:validate-redirect-uri"),
        {"redirect_uris": "http://evil.example/cb"},
        HTTP_HX_REQUEST="true",
    )
    assert "non-loopback" in bad.content.decode()
    good = console.post(
        reverse("clients:validate-redirect-uri"), {"redirect_uris": "https://app.example.com/cb"}
    )
    assert "Looks good" in good.content.decode()


def test_editing_keeps_other_fields_and_detects_a_concurrent_change(console, confidential_client):
    client = confidential_client.client
    page = console.get(reverse("clients:edit", args=[client.client_id])).content.decode()
    assert 'value="https://app.example.com/callback"' in page
    form = {
        "client_name": "Renamed",
        "client_type": "confidential",
        "redirect_uris": client.redirect_uri_list,
        "grant_types": client.grant_types,
        "scopes": client.scopes,
        "response_types": ["code"],
        "pkce_required": "on",
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "access_token_strategy": "opaque",
        "metadata": "{}",
        "revision": client.revision,
        "post_logout_redirect_uris": "https://app.example.com/bye",
    }
    assert console.post(reverse("clients:edit", args=[client.client_id]), form).status_code == 302
    client.refresh_from_db()
    assert client.name == "Renamed" and client.revision == 2
    stale = console.post(reverse("clients:edit", args=[client.client_id]), {**form, "client_name": "Stale"})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    assert Client.objects.get(pk=client.pk).name == "Renamed"


def test_rotating_disabling_and_deleting_a_client(console, m2m_client):
    client_id = m2m_client.client.client_id
    console.post(reverse("clients:rotate-secret", args=[client_id]))
    page = console.get(reverse("clients:detail", args=[client_id])).content.decode()
    new_secret = re.search(r'id="secret-value-dialog">([^<]+)<', page).group(1)
    assert cc(client_id, m2m_client.client_secret).status_code == 401
    assert cc(client_id, new_secret).status_code == 200

    console.post(reverse("clients:toggle", args=[client_id]))
    assert cc(client_id, new_secret).status_code == 401
    console.post(reverse("clients:toggle", args=[client_id]))
    assert cc(client_id, new_secret).status_code == 200

    wrong = console.post(reverse("clients:delete", args=[client_id]), {"confirm_name": "machine"})
    assert wrong.status_code == 400 and Client.objects.filter(client_id=client_id).exists()
    console.post(reverse("clients:delete", args=[client_id]), {"confirm_name": "Machine"})
    assert not Client.objects.filter(client_id=client_id).exists()
    assert not AccessToken.objects.exists()
    events = set(AuditEvent.objects.filter(client_id=client_id).values_list("event", flat=True))
    assert {"client.secret_rotated", "client.disabled", "client.enabled", "client.deleted"} <= events


def test_the_clients_tokens_and_consents_are_listed_and_revocable(console, flow, public_client, user):
    from tests.helpers import tokens_for

    tokens_for(flow, public_client.client)
    client_id = public_client.client.client_id
    page = console.get(reverse("clients:detail", args=[client_id])).content.decode()
    assert "alice@example.com" in page
    token = AccessToken.objects.get(application=public_client.client)
    console.post(reverse("clients:token-revoke", args=[client_id, token.pk]))
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    consent = Consent.objects.get(client=public_client.client)
    console.post(reverse("clients:consent-revoke", args=[client_id, consent.pk]))
    assert not Consent.objects.exists()


def test_the_client_list_searches_filters_sorts_and_renders_a_partial_for_htmx(
    console, m2m_client, public_client
):
    listing = console.get(reverse("clients:list"), {"q": "machine"}).content.decode()
    assert "Machine" in listing and "Public CLI" not in listing
    by_type = console.get(reverse("clients:list"), {"type": "public"}).content.decode()
    assert "Public CLI" in by_type and "Machine" not in by_type
    by_grant = console.get(reverse("clients:list"), {"grant": "client_credentials"}).content.decode()
    assert "Machine" in by_grant and "Public CLI" not in by_grant
    sorted_page = console.get(reverse("clients:list"), {"sort": "name"}).content.decode()
    assert sorted_page.index("Machine") < sorted_page.index("Public CLI")
    partial = console.get(reverse("clients:list"), {"q": "cli"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="client-table">') and "<html" not in partial
    empty = console.get(reverse("clients:list"), {"q": "nothing-matches"}).content.decode()
    assert "No client matches" in empty


def test_try_it_needs_the_console_redirect_uri_and_can_add_it(console, public_client, settings):
    client_id = public_client.client.client_id
    page = console.get(reverse("clients:detail", args=[client_id])).content.decode()
    assert "Add the console's redirect URI" in page
    console.post(reverse("clients:add-console-redirect", args=[client_id]))
    expected = settings.CIAM_ISSUER + reverse("clients:try-callback", args=[client_id])
    assert expected in Client.objects.get(client_id=client_id).redirect_uri_list
    start = console.post(reverse("clients:try", args=[client_id]))
    assert start["Location"].startswith("/oauth2/auth?") and "code_challenge_method=S256" in start["Location"]


# --- Users -----------------------------------------------------------------------------------------


def test_creating_locking_and_deleting_a_user(console, admin):
    response = console.post(
        reverse("accounts:user-new"),
        {"email": "New@Example.com", "name": "New Person", "password": "a long new password 9"},
    )
    person = User.objects.get(email="new@example.com")
    assert response["Location"] == reverse("accounts:user-detail", args=[person.pk])
    dup = console.post(reverse("accounts:user-new"), {"email": "new@example.com"})
    assert dup.status_code == 400 and "already exists" in dup.content.decode()

    console.post(reverse("accounts:user-lock", args=[person.pk]), {"action": "lock"})
    assert (
        DjangoClient()
        .post("/login", {"email": "new@example.com", "password": "a long new password 9"})
        .status_code
        == 403
    )
    console.post(reverse("accounts:user-lock", args=[person.pk]), {"action": "unlock"})
    assert (
        DjangoClient()
        .post("/login", {"email": "new@example.com", "password": "a long new password 9"})
        .status_code
        == 302
    )

    console.post(reverse("accounts:user-password", args=[person.pk]), {"password": "short"})
    assert User.objects.get(pk=person.pk).check_password("a long new password 9")
    console.post(reverse("accounts:user-password", args=[person.pk]), {"password": "another long password 7"})
    assert User.objects.get(pk=person.pk).check_password("another long password 7")

    console.post(reverse("accounts:user-active", args=[person.pk]), {"action": "deactivate"})
    assert not User.objects.get(pk=person.pk).is_active

    console.post(reverse("accounts:user-delete", args=[person.pk]), {"confirm_email": "wrong@example.com"})
    assert User.objects.filter(pk=person.pk).exists()
    console.post(reverse("accounts:user-delete", args=[person.pk]), {"confirm_email": "new@example.com"})
    assert not User.objects.filter(pk=person.pk).exists()
    events = set(AuditEvent.objects.filter(subject="new@example.com").values_list("event", flat=True))
    assert {
        "user.created",
        "user.locked",
        "user.unlocked",
        "user.password_set",
        "user.deactivated",
        "user.deleted",
    } <= events


def test_an_administrator_cannot_lock_deactivate_or_delete_themself(console, admin):
    console.post(reverse("accounts:user-lock", args=[admin.pk]), {"action": "lock"})
    console.post(reverse("accounts:user-active", args=[admin.pk]), {"action": "deactivate"})
    console.post(reverse("accounts:user-delete", args=[admin.pk]), {"confirm_email": admin.email})
    admin.refresh_from_db()
    assert admin.is_active and admin.locked_until is None


def test_the_user_page_shows_apps_tokens_and_recent_logins(console, flow, public_client, user):
    from tests.helpers import tokens_for

    DjangoClient().post("/login", {"email": user.email, "password": "wrong"})
    tokens_for(flow, public_client.client)
    page = console.get(reverse("accounts:user-detail", args=[user.pk])).content.decode()
    assert "Public CLI" in page and "login.failed" in page
    listing = console.get(reverse("accounts:user-list"), {"q": "alice"}).content.decode()
    assert "alice@example.com" in listing


# --- Tokens, keys, API tokens, audit, settings, dashboard -----------------------------------------


def test_pasting_a_token_introspects_it_and_revokes_it(console, m2m_client):
    token = cc(m2m_client.client.client_id, m2m_client.client_secret).json()["access_token"]
    page = console.post(reverse("console:tokens"), {"token": token, "action": "introspect"}).content.decode()
    assert "&quot;active&quot;: true" in page and m2m_client.client.client_id in page
    console.post(reverse("console:tokens"), {"token": token, "action": "revoke"})
    assert not AccessToken.objects.exists()
    gone = console.post(reverse("console:tokens"), {"token": token, "action": "introspect"}).content.decode()
    assert "inactive" in gone
    assert console.post(reverse("console:tokens"), {"token": ""}).status_code == 400


def test_rotating_the_signing_key_from_the_console(console):
    console.get(reverse("console:keys"))
    first = SigningKey.objects.get()
    console.post(reverse("console:keys"), {"algorithm": "ES256"})
    assert SigningKey.objects.count() == 2
    assert SigningKey.objects.get(retired_at__isnull=True).algorithm == "ES256"
    assert SigningKey.objects.get(pk=first.pk).retired_at is not None
    page = console.get(reverse("console:keys")).content.decode()
    assert "retired, still published" in page and "signing" in page
    assert AuditEvent.objects.filter(event="signing_key.rotated").exists()


def test_admin_api_tokens_are_shown_once_stored_hashed_and_revocable(console):
    response = console.post(reverse("console:admin-tokens"), {"name": "CI pipeline"})
    page = console.get(response["Location"]).content.decode()
    token = re.search(r'id="token-value">(ciam_pat_[^<]+)<', page).group(1)
    record = AdminToken.objects.get(name="CI pipeline")
    assert token not in record.token_hash
    assert admin_token_authenticate(token) == record
    assert AdminToken.objects.get(pk=record.pk).last_used_at is not None
    assert token not in console.get(response["Location"]).content.decode()
    console.post(reverse("console:admin-token-revoke", args=[record.pk]))
    assert admin_token_authenticate(token) is None
    assert console.post(reverse("console:admin-tokens"), {"name": ""}).status_code == 400


def test_the_audit_log_filters_by_event_actor_client_and_time(console, m2m_client):
    console.post(reverse("clients:toggle", args=[m2m_client.client.client_id]))
    page = console.get(reverse("console:audit"), {"event": "client.disabled"}).content.decode()
    assert "client.disabled" in page and "client.created</span>" not in page
    assert "root@example.com" in console.get(reverse("console:audit"), {"actor": "root"}).content.decode()
    by_client = console.get(
        reverse("console:audit"), {"client": m2m_client.client.client_id}
    ).content.decode()
    assert "client.created" in by_client
    assert (
        "No event matches" in console.get(reverse("console:audit"), {"until": "2000-01-01"}).content.decode()
    )
    assert console.get(reverse("console:audit"), {"since": "yesterday"}).status_code == 400


def test_settings_and_dashboard_render_the_effective_state(console, m2m_client, settings):
    cc(m2m_client.client.client_id, m2m_client.client_secret)
    page = console.get(reverse("console:settings")).content.decode()
    assert settings.CIAM_ISSUER in page and "S256 only" in page
    dashboard = console.get(reverse("console:dashboard")).content.decode()
    assert "<svg" in dashboard and "Activity per hour" in dashboard
    assert "access tokens issued 1" in dashboard


def test_every_input_of_the_new_client_form_has_a_real_label(console):
    page = console.get(reverse("clients:new")).content.decode()
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    hidden = set(re.findall(r'<input type="hidden"[^>]*\bid="([^"]+)"', page))
    assert ids
    for element_id in set(ids) - hidden:
        assert f'for="{element_id}"' in page, element_id

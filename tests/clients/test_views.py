"""The console's client pages (clients.views)."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from ciam.audit.models import AuditEvent
from ciam.oauth.models import AccessToken
from clients.models import Client, TryRun
from clients.services import client_create, try_run_start
from consent.models import Consent
from tests.factories import make_user
from tests.helpers import cc, tokens_for

pytestmark = pytest.mark.django_db


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
        event="client.created", client_id=client.client_id, actor__email="admin@example.com"
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


def test_try_it_allows_the_consoles_callback_for_its_run_only(console, admin, public_client):
    client = public_client.client
    registered = list(client.redirect_uri_list)
    start = console.post(reverse("clients:try", args=[client.client_id]))
    location = urlsplit(start["Location"])
    assert location.path == "/oauth2/auth"
    params = parse_qs(location.query)
    assert "prompt" not in params  # a remembered consent is honoured, as for any application
    callback = params["redirect_uri"][0]
    client.refresh_from_db()
    assert client.redirect_uri_list == registered  # nothing registered, even for a while
    assert client.redirect_uri_allowed(callback)
    # Another run's callback, another client's, or a made-up key: not allowed.
    assert not client.redirect_uri_allowed(callback.replace("/try/", "/try/x"))
    other = client_create(client_name="Other", token_endpoint_auth_method="none", redirect_uris=registered)
    assert not other.client.redirect_uri_allowed(callback.replace(client.client_id, other.client.client_id))
    run = TryRun.objects.get(client=client)
    assert callback.split("/")[-2] not in run.key_digest  # only the key's digest is stored
    # Once the browser is back (here with an error), the callback is no longer allowed.
    console.get(urlsplit(callback).path, {"error": "access_denied", "state": "x"})
    assert not client.redirect_uri_allowed(callback)


def test_a_try_it_run_ends_after_ten_minutes(console, public_client):
    client = public_client.client
    start = console.post(reverse("clients:try", args=[client.client_id]))
    callback = parse_qs(urlsplit(start["Location"]).query)["redirect_uri"][0]
    TryRun.objects.update(expires=timezone.now())
    assert not client.redirect_uri_allowed(callback)


def test_the_try_it_callback_of_another_administrators_run_shows_nothing(console, public_client):
    client = public_client.client
    other = make_user(email="other-admin@example.com", is_staff=True)
    _run, key = try_run_start(client=client, actor=other)
    page = console.get(reverse("clients:try-callback", args=[client.client_id, key]), {"code": "x"})
    assert page.status_code == 400 and "expired or was already shown" in page.content.decode()


def test_every_input_of_the_new_client_form_has_a_real_label(console):
    page = console.get(reverse("clients:new")).content.decode()
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    hidden = set(re.findall(r'<input type="hidden"[^>]*\bid="([^"]+)"', page))
    assert ids
    for element_id in set(ids) - hidden:
        assert f'for="{element_id}"' in page, element_id


def test_require_multi_factor_is_a_checkbox_of_the_client_form(console):
    assert "Require multi-factor" in console.get(reverse("clients:new")).content.decode()
    console.post(reverse("clients:new"), {**PUBLIC_FORM, "client_name": "bank", "require_mfa": "on"})
    client = Client.objects.get(name="bank")
    assert client.require_mfa
    edit = console.get(reverse("clients:edit", args=[client.client_id])).content.decode()
    assert re.search(r'name="require_mfa"[^>]*checked', edit)

"""The admin console at the HTTP level (ciam.console.views): who may use it, and what each page does."""

import csv
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from ciam.accounts.models import User
from ciam.api.models import AdminToken
from ciam.api.services import admin_token_authenticate, admin_token_create
from ciam.audit.models import EVENT_LABELS, AuditEvent
from ciam.audit.services import audit_record
from ciam.console import selectors
from ciam.oauth.models import AccessToken, SigningKey, TokenIssuance
from clients.models import Client
from tests.helpers import cc

pytestmark = pytest.mark.django_db


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
        ("get", reverse("console:audit-export")),
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
        ("post", reverse("clients:try", args=[client_id])),
        ("get", reverse("clients:try-callback", args=[client_id, "k"])),
        ("post", reverse("clients:try-revoke", args=[client_id, "k"])),
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


def test_every_console_view_refuses_a_signed_in_non_staff_user(outsider, user, m2m_client):
    web = DjangoClient()
    web.force_login(outsider)
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
    assert web.get("/admin/docs/").status_code == 403  # nor the API's browsable page


def test_console_forms_need_the_csrf_token(admin):
    web = DjangoClient(enforce_csrf_checks=True)
    web.force_login(admin)
    assert web.post(reverse("clients:new"), {"client_name": "x"}).status_code == 403


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
    assert "<strong>Client disabled</strong>" in page and "<strong>Client created</strong>" not in page
    assert "admin@example.com" in console.get(reverse("console:audit"), {"actor": "admin@"}).content.decode()
    by_client = console.get(
        reverse("console:audit"), {"client": m2m_client.client.client_id}
    ).content.decode()
    assert "client.created" in by_client
    assert (
        "No event matches" in console.get(reverse("console:audit"), {"until": "2000-01-01"}).content.decode()
    )
    assert console.get(reverse("console:audit"), {"since": "yesterday"}).status_code == 400


def test_the_audit_log_speaks_in_words_and_links_what_it_names(console, admin, m2m_client, user):
    client_id = m2m_client.client.client_id
    audit_record(
        event="user.locked", actor=admin, subject=user.email, client_id=client_id, detail={"reason": "x"}
    )
    page = console.get(reverse("console:audit")).content.decode()
    assert "<strong>User locked</strong>" in page and '<code class="mono event-id">user.locked</code>' in page
    assert f'href="{reverse("accounts:user-detail", args=[admin.pk])}">admin@example.com</a>' in page
    assert f'href="{reverse("accounts:user-detail", args=[user.pk])}">{user.email}</a>' in page
    assert f'href="{reverse("clients:detail", args=[client_id])}"' in page
    assert "<dt>reason</dt><dd>x</dd>" in page
    assert "reason=x" not in page


def test_the_audit_log_exports_the_current_filter_as_csv_and_json(console, admin, m2m_client):
    audit_record(event="client.updated", actor=admin, client_id="c-other", detail={"name": "=HYPERLINK(1)"})
    wanted = {"client": m2m_client.client.client_id}
    answer = console.get(reverse("console:audit-export"), {**wanted, "format": "json"})
    assert answer["Content-Type"] == "application/json" and "attachment" in answer["Content-Disposition"]
    rows = json.loads(b"".join(answer.streaming_content))
    assert rows and {row["client_id"] for row in rows} == {m2m_client.client.client_id}
    assert rows[0]["label"] and rows[0]["event"] and rows[0]["at"]
    table = console.get(reverse("console:audit-export"), {"client": "c-other", "format": "csv"})
    lines = list(csv.reader(b"".join(table.streaming_content).decode().splitlines()))
    assert lines[0] == ["at", "event", "label", "actor", "subject", "client_id", "ip_address", "detail"]
    assert len(lines) == 2 and lines[1][1] == "client.updated" and lines[1][2] == "Client updated"
    assert lines[1][7].startswith('{"name": "=HYPERLINK')  # JSON text, not a formula
    assert AuditEvent.objects.filter(event="audit.exported").count() == 2
    assert console.get(reverse("console:audit-export"), {"format": "xml"}).status_code == 400
    assert console.get(reverse("console:audit-export"), {"since": "soon"}).status_code == 400


def test_every_audited_event_has_a_label():
    """Each event name written anywhere in the code has its words on the audit log."""
    root = Path(__file__).resolve().parents[2]
    written = set()
    for package in ("ciam", "clients", "consent"):
        for source in (root / package).rglob("*.py"):
            for line in source.read_text().splitlines():
                if "event=" in line:
                    written |= set(re.findall(r'"([a-z_]+\.[a-z_]+|logout)"', line))
    assert written and not written - set(EVENT_LABELS)


def test_settings_and_dashboard_render_the_effective_state(console, m2m_client, settings):
    cc(m2m_client.client.client_id, m2m_client.client_secret)
    page = console.get(reverse("console:settings")).content.decode()
    assert settings.CIAM_ISSUER in page and "S256 only" in page
    dashboard = console.get(reverse("console:dashboard")).content.decode()
    assert "<svg" in dashboard and "Activity, last 24 hours, per hour" in dashboard
    assert re.search(r"Access tokens issued <strong>1</strong>", dashboard)


def test_the_dashboard_chooses_its_range_from_the_data(console, settings):
    assert selectors.range_for_data() == "24h"  # nothing yet: the last day, by hour
    now = timezone.now()
    TokenIssuance.objects.create(
        hour=(now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0), shard=0, count=4
    )
    assert selectors.range_for_data() == "7d"
    TokenIssuance.objects.create(
        hour=(now - timedelta(days=20)).replace(minute=0, second=0, microsecond=0), shard=0, count=2
    )
    assert selectors.range_for_data() == "30d"
    page = console.get(reverse("console:dashboard")).content.decode()
    assert "last 30 days, per day" in page and "Access tokens issued <strong>6</strong>" in page
    week = console.get(reverse("console:dashboard"), {"range": "7d"}).content.decode()
    assert "last 7 days, per day" in week and "Access tokens issued <strong>4</strong>" in week
    assert len(selectors.activity("24h")["buckets"]) == 24 and len(selectors.activity("30d")["buckets"]) == 30


def test_a_fresh_deployment_shows_the_first_steps_until_they_are_done(console, m2m_client):
    page = console.get(reverse("console:dashboard")).content.decode()
    assert "Getting started" in page and "/admin/docs/" in page
    assert [step["done"] for step in selectors.getting_started()] == [True, False, False]
    cc(m2m_client.client.client_id, m2m_client.client_secret)
    admin_token_create(name="ci", actor=None)
    assert selectors.getting_started() is None
    assert "Getting started" not in console.get(reverse("console:dashboard")).content.decode()


def _setting_row(page: str, label: str) -> str:
    return re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', page, re.S).group(1)


def test_settings_say_durations_in_words_and_where_each_value_comes_from(console, settings):
    settings.CIAM_REFRESH_TOKEN_LIFESPAN = 30 * 24 * 3600
    settings.CIAM_ACCESS_TOKEN_LIFESPAN = 5400
    settings.CIAM_SET_VARIABLES = {"CIAM_ACCESS_TOKEN_LIFESPAN"}
    page = console.get(reverse("console:settings")).content.decode()
    refresh = _setting_row(page, "Refresh token idle lifespan")
    assert "30 days" in refresh and "2592000" not in refresh
    assert "CIAM_REFRESH_TOKEN_LIFESPAN" in refresh and ">default<" in refresh
    access = _setting_row(page, "Access token lifespan")
    assert "1 hour 30 minutes" in access and ">set<" in access
    assert "fixed policy" in _setting_row(page, "PKCE")
    assert "optional: people may set up" in _setting_row(page, "Multi-factor sign-in")
    settings.CIAM_MFA = "off"
    page = console.get(reverse("console:settings")).content.decode()
    assert "off: password only" in _setting_row(page, "Multi-factor sign-in")


def test_every_console_page_links_the_api_docs(console):
    page = console.get(reverse("console:dashboard")).content.decode()
    assert f'href="{reverse("api:docs")}"' in page and ">API docs<" in page


@pytest.mark.django_db(transaction=True)
def test_the_outbox_lists_the_messages_written_to_var_mail_in_debug_only(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    settings.DEBUG = True
    admin = User.objects.create_user(email="ops@example.com", password="x", is_staff=True)
    console = DjangoClient()
    console.force_login(admin)
    User.objects.create_user(email="pat@example.com", password="a sturdy passphrase 9")
    DjangoClient().post("/recovery", {"email": "pat@example.com"})
    page = console.get(reverse("console:outbox"))
    text = page.content.decode()
    assert page.status_code == 200 and "Reset your password" in text and "pat@example.com" in text
    assert re.search(r'<a href="http://[^"]+/recovery\?token=[^"]+"', text)  # the link is clickable
    name = re.search(r'src="/console/outbox/([^"]+)\.html"', text).group(1)
    html = console.get(reverse("console:outbox-html", args=[name]))
    assert html.status_code == 200 and "Choose a new password" in html.content.decode()
    assert "default-src 'none'" in html["Content-Security-Policy"] and html["X-Frame-Options"] == "SAMEORIGIN"
    assert console.get(reverse("console:outbox"), {"m": "../../etc/passwd"}).status_code == 404
    assert DjangoClient().get(reverse("console:outbox")).status_code == 302  # staff only
    settings.DEBUG = False
    assert console.get(reverse("console:outbox")).status_code == 404
    assert ">Outbox" not in console.get(reverse("console:dashboard")).content.decode()

"""ciam.api.authentication: who may call the admin API, and guessing its tokens is throttled per address."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.accounts.models import FailedAttempt
from ciam.api.models import AdminToken
from ciam.api.services import admin_token_create, admin_token_revoke
from ciam.audit.models import AuditEvent
from tests.helpers import admin_endpoints, call, cc, tokens_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings):
    settings.CIAM_ADMIN_AUTH_MAX_FAILURES = 5
    return 5


def get(token, ip="203.0.113.5"):
    return DjangoClient(REMOTE_ADDR=ip).get("/admin/clients", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("header", ["Bearer ciam_pat_" + "x" * 43, "Bearer garbage", "Basic YTpi", "Bearer "])
def test_a_wrong_token_is_401(m2m_client, header):
    for method, path in admin_endpoints(m2m_client.client.client_id)[:3]:
        assert call(DjangoClient(HTTP_AUTHORIZATION=header), method, path).status_code == 401


def test_a_revoked_admin_token_is_401(db):
    record, token = admin_token_create(actor=None, name="short-lived")
    web = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert web.get("/admin/clients").status_code == 200
    admin_token_revoke(actor=None, token=record)
    for method, path in admin_endpoints():
        assert call(web, method, path, {}).status_code == 401, (method, path)


def test_an_m2m_client_with_the_ciam_admin_scope_may_administer(make_client):
    admin_client = make_client(
        client_name="provisioner", grant_types=["client_credentials"], scope="ciam:admin email"
    )
    with_scope = cc(admin_client.client.client_id, admin_client.client_secret, scope="ciam:admin").json()
    without = cc(admin_client.client.client_id, admin_client.client_secret, scope="email").json()
    assert (
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {with_scope['access_token']}")
        .get("/admin/clients")
        .status_code
        == 200
    )
    assert (
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {without['access_token']}").get("/admin/clients").status_code
        == 401
    )
    created = call(
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {with_scope['access_token']}"),
        "post",
        "/admin/clients",
        {"client_name": "from-m2m", "grant_types": ["client_credentials"]},
    )
    assert created.status_code == 201
    event = AuditEvent.objects.get(event="client.created", client_id=created.json()["client_id"])
    assert event.actor_label == f"client:{admin_client.client.client_id}"


def test_a_persons_token_with_ciam_admin_is_not_an_admin_credential(flow, make_client):

    app = make_client(
        client_name="app",
        token_endpoint_auth_method="none",
        redirect_uris=["http://127.0.0.1:8765/callback"],
        scope="openid ciam:admin",
    ).client
    tokens = tokens_for(flow, app, scope="openid ciam:admin")
    assert (
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").get("/admin/clients").status_code
        == 401
    )


@pytest.mark.security("admin-token-brute-force")
def test_guessing_tokens_is_answered_429_after_the_limit(limit):
    real = admin_token_create(actor=None, name="ops")[1]
    for n in range(limit):
        answer = get(f"ciam_pat_guess{n}")
        assert answer.status_code == 401
    refused = get("ciam_pat_one-more-guess")
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_requests"
    assert "try again in" in refused.json()["error_description"]
    assert 0 < int(refused["Retry-After"]) <= 600
    # Another address is not affected.
    assert get("ciam_pat_a-neighbour-s-typo", ip="198.51.100.20").status_code == 401
    assert get(real, ip="198.51.100.20").status_code == 200


@pytest.mark.security("admin-throttle-lockout")
def test_wrong_tokens_from_a_shared_address_never_lock_out_a_valid_admin_token(limit):
    """Anyone behind the same NAT or proxy could otherwise stop automation with ten bad tokens."""
    real = admin_token_create(actor=None, name="automation")[1]
    for n in range(limit + 5):
        get(f"ciam_pat_stranger{n}")
    assert get("ciam_pat_stranger-again").status_code == 429
    assert get(real).status_code == 200
    assert get("ciam_pat_stranger-after").status_code == 429


@pytest.mark.security("admin-token-brute-force")
def test_client_credentials_tokens_count_too(limit):
    for _ in range(limit):
        assert get("not-a-token-at-all").status_code == 401
    assert get("not-a-token-at-all").status_code == 429


def test_valid_credentials_are_not_counted(limit):
    real = admin_token_create(actor=None, name="ops")[1]
    for _ in range(limit * 2):
        assert get(real).status_code == 200
    assert not FailedAttempt.objects.exists()


def test_a_failure_row_keeps_no_token_material(limit):
    get("ciam_pat_secret-guess-value")
    row = FailedAttempt.objects.get()
    assert row.ip_address == "203.0.113.5" and row.kind == FailedAttempt.Kind.ADMIN_CREDENTIAL
    assert "secret-guess" not in f"{row} {row.key}" and not hasattr(row, "token")


def test_failures_older_than_the_window_are_forgotten(limit, settings):
    old = timezone.now() - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW + 5)
    FailedAttempt.objects.bulk_create(
        [
            FailedAttempt(kind=FailedAttempt.Kind.ADMIN_CREDENTIAL, ip_address="203.0.113.5", at=old)
            for _ in range(limit * 3)
        ]
    )
    real = admin_token_create(actor=None, name="ops")[1]
    assert get(real).status_code == 200


def test_a_tokens_last_use_is_recorded_to_the_minute():
    record, value = admin_token_create(actor=None, name="ops")
    assert get(value).status_code == 200
    first = AdminToken.objects.get(pk=record.pk).last_used_at
    assert first is not None
    assert get(value).status_code == 200  # a minute has not passed: the row is not written again
    assert AdminToken.objects.get(pk=record.pk).last_used_at == first
    AdminToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    assert get(value).status_code == 200
    assert AdminToken.objects.get(pk=record.pk).last_used_at > first


@pytest.mark.security("admin-trusted-network-spoofing")
def test_a_trusted_network_needs_no_token_and_a_forwarded_header_cannot_fake_one(settings, db):
    def anonymous(ip, **headers):
        return DjangoClient(REMOTE_ADDR=ip).get("/admin/clients", **headers)

    # Off by default: a token is always needed, loopback included.
    assert anonymous("127.0.0.1").status_code == 401
    settings.CIAM_ADMIN_TRUSTED_NETWORKS = ["10.0.0.0/8", "::1"]
    assert anonymous("10.1.2.3").status_code == 200
    assert anonymous("::1").status_code == 200
    assert anonymous("203.0.113.5").status_code == 401
    # A caller cannot claim the address: X-Forwarded-For from an untrusted peer is ignored...
    assert anonymous("203.0.113.5", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 401
    # ...and believed only from a proxy the deployment trusts.
    settings.CIAM_TRUSTED_PROXIES = ["203.0.113.5"]
    assert anonymous("203.0.113.5", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    assert anonymous("203.0.113.5", HTTP_X_FORWARDED_FOR="10.1.2.3, 198.51.100.7").status_code == 401
    # A credential that is sent is checked, even from a trusted network.
    assert anonymous("10.1.2.3", HTTP_AUTHORIZATION="Bearer ciam_pat_wrong").status_code == 401
    # Writes are audited as the network.
    created = DjangoClient(REMOTE_ADDR="10.1.2.3").post(
        "/admin/clients", '{"grant_types": ["client_credentials"]}', content_type="application/json"
    )
    assert created.status_code == 201
    assert AuditEvent.objects.filter(event="client.created", actor_label="trusted-network:10.1.2.3").exists()


def test_a_bad_trusted_network_setting_refuses_to_start():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='ciam.settings'; django.setup()",
        ],
        env={**os.environ, "CIAM_ADMIN_TRUSTED_NETWORKS": "not-a-network"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "CIAM_ADMIN_TRUSTED_NETWORKS" in result.stderr

"""Guessing admin API tokens is throttled per caller address (in the database: all processes)."""

import pytest
from django.test import Client as DjangoClient

from ciam.accounts.models import FailedAttempt
from ciam.api.services import admin_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings):
    settings.CIAM_ADMIN_AUTH_MAX_FAILURES = 5
    return 5


def get(token, ip="203.0.113.5"):
    return DjangoClient(REMOTE_ADDR=ip).get("/admin/clients", HTTP_AUTHORIZATION=f"Bearer {token}")


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
    # Even the right token waits: the address is refused before any token is checked.
    assert get(real).status_code == 429
    # Another address is not affected.
    assert get(real, ip="198.51.100.20").status_code == 200


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
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW + 5)
    FailedAttempt.objects.bulk_create(
        [
            FailedAttempt(kind=FailedAttempt.Kind.ADMIN_CREDENTIAL, ip_address="203.0.113.5", at=old)
            for _ in range(limit * 3)
        ]
    )
    real = admin_token_create(actor=None, name="ops")[1]
    assert get(real).status_code == 200

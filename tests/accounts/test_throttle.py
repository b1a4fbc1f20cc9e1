"""ciam.accounts.throttle: refused attempts counted in a sliding window, the one mechanism of every
limit (sign-in, admin credentials, device codes)."""

from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.accounts import throttle
from ciam.accounts.models import FailedAttempt

pytestmark = pytest.mark.django_db

SIGN_IN, ADMIN = FailedAttempt.Kind.SIGN_IN, FailedAttempt.Kind.ADMIN_CREDENTIAL


def test_a_limit_counts_refusals_of_its_kind_key_and_address_within_the_window():
    for _ in range(3):
        throttle.record_failure(SIGN_IN, key="a@example.com", ip_address="203.0.113.1")
    throttle.record_failure(SIGN_IN, key="b@example.com", ip_address="203.0.113.1")
    throttle.record_failure(ADMIN, ip_address="203.0.113.1")
    assert throttle.count([SIGN_IN], window=60, key="a@example.com") == 3
    assert throttle.count([SIGN_IN], window=60, ip_address="203.0.113.1") == 4
    assert throttle.count([SIGN_IN, ADMIN], window=60, ip_address="203.0.113.1") == 5
    assert throttle.retry_after([SIGN_IN], limit=4, window=60, ip_address="203.0.113.1") > 0
    assert throttle.retry_after([SIGN_IN], limit=5, window=60, ip_address="203.0.113.1") == 0


def test_the_wait_ends_when_enough_refusals_have_left_the_window():
    now = timezone.now()
    FailedAttempt.objects.bulk_create(
        [
            FailedAttempt(kind=ADMIN, ip_address="203.0.113.2", at=now - timedelta(seconds=s))
            for s in (50, 20, 10)
        ]
    )
    # Limit 2: the second newest (20 s ago) must leave the 60 s window: about 40 s.
    assert 38 <= throttle.retry_after([ADMIN], limit=2, window=60, ip_address="203.0.113.2") <= 41
    assert throttle.retry_after([ADMIN], limit=4, window=60, ip_address="203.0.113.2") == 0


def test_clearing_a_key_forgets_its_refusals_only():
    throttle.record_failure(SIGN_IN, key="a@example.com")
    throttle.record_failure(SIGN_IN, key="b@example.com")
    throttle.clear(SIGN_IN, key="a@example.com")
    assert list(FailedAttempt.objects.values_list("key", flat=True)) == ["b@example.com"]


@pytest.mark.security("sign-in-throttle-bypass")
def test_locking_an_e_mail_does_not_take_its_failures_off_the_address_limit(settings):
    # Five wrong passwords for each of many e-mails from one address: each e-mail locks, and the
    # address limit still counts every failure of its window.
    settings.CIAM_LOGIN_MAX_FAILURES, settings.CIAM_LOGIN_IP_MAX_FAILURES = 5, 12
    web = DjangoClient(REMOTE_ADDR="198.51.100.9")
    answers = [
        web.post("/login", {"email": f"victim{n}@example.com", "password": "guess"}).status_code
        for n in range(4)
        for _ in range(5)
    ]
    assert answers.count(429) >= 20 - 12 - 1  # from the limit on, each attempt is refused
    assert web.post("/login", {"email": "fresh@example.com", "password": "guess"}).status_code == 429
    other = DjangoClient(REMOTE_ADDR="198.51.100.10")
    assert other.post("/login", {"email": "fresh@example.com", "password": "guess"}).status_code == 400

"""ciam.lib.clientip: the caller's address behind reverse proxies (X-Forwarded-For only from trusted
proxies)."""

import pytest
from django.test import RequestFactory

from ciam.accounts.models import FailedAttempt
from ciam.lib.clientip import client_ip
from tests.helpers import PASSWORD


def ip(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_peer_is_the_caller(settings):
    settings.CIAM_TRUSTED_PROXIES = []
    assert ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_a_header_from_an_untrusted_peer_is_ignored(settings):
    settings.CIAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_caller(settings):
    settings.CIAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ip("10.0.0.2", "198.51.100.1") == "198.51.100.1"


def test_addresses_the_caller_invented_are_not_believed(settings):
    settings.CIAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The caller sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    assert ip("10.0.0.2", "1.2.3.4, 198.51.100.1") == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(settings):
    settings.CIAM_TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    assert ip("10.0.0.2", "1.2.3.4, 198.51.100.1, 2001:db8::7, 10.1.1.1") == "198.51.100.1"
    assert ip("10.0.0.2", "[2001:db9::1]:443") == "2001:db9::1"
    assert ip("10.0.0.2", "198.51.100.1:5555") == "198.51.100.1"


@pytest.mark.parametrize("forwarded", ["", "garbage", "10.0.0.3", "not-an-ip, 10.0.0.3"])
def test_nothing_usable_falls_back_to_the_peer(settings, forwarded):
    settings.CIAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ip("10.0.0.2", forwarded) == "10.0.0.2"


@pytest.mark.django_db
def test_the_sign_in_throttle_counts_per_forwarded_address(settings, user):
    """Behind the proxy, one attacker's failures do not lock out everyone else's address."""
    from django.test import Client as DjangoClient

    settings.CIAM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.CIAM_LOGIN_IP_MAX_FAILURES = 3
    settings.CIAM_LOGIN_MAX_FAILURES = 100
    attacker = DjangoClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.66")
    for n in range(3):
        answer = attacker.post("/login", {"email": f"nobody{n}@example.com", "password": "guess"})
        assert answer.status_code == 400
    assert set(FailedAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.66"}
    answer = attacker.post("/login", {"email": "nobody9@example.com", "password": "guess"})
    assert answer.status_code == 429
    someone_else = DjangoClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")

    answer = someone_else.post("/login", {"email": user.email, "password": PASSWORD})
    assert answer.status_code == 302

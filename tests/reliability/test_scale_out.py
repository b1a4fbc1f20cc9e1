"""Two app processes on one PostgreSQL behave as one service.

Each process is the production server (uWSGI, DEBUG off) on its own port; nothing is shared
between them but the database.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.hashers import make_password

from ciam.accounts.models import User
from tests.helpers import CALLBACK, PASSWORD, Server, authorize_params, basic, on_postgresql, pkce_pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    on_postgresql("several processes on one PostgreSQL"),
]


@pytest.fixture
def two_servers():
    servers = [Server(workers=1), Server(workers=1)]
    try:
        yield servers[0].url, servers[1].url
    finally:
        outputs = [server.stop() for server in servers]
    for output in outputs:
        assert "Internal Server Error" not in output, output


def person(email: str, *, staff: bool = False) -> User:
    # The servers use the production hashers, not the tests' fast one.
    user = User.objects.create_user(email=email, is_staff=staff, email_verified=True)
    user.password = make_password(PASSWORD, hasher="argon2")
    user.save(update_fields=["password"])
    return user


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def sign_in(base: str, email: str, password: str = PASSWORD, *, next_url: str = "/account/apps"):
    """A fresh browser session signed in on `base`; returns (session, the answer to the POST)."""
    web = requests.Session()
    page = web.get(f"{base}/login", params={"next": next_url}, timeout=10)
    answer = web.post(
        f"{base}/login",
        data={
            "csrfmiddlewaretoken": csrf_of(page.text),
            "email": email,
            "password": password,
            "next": next_url,
        },
        headers={"Referer": f"{base}/login"},
        allow_redirects=False,
        timeout=10,
    )
    return web, answer


def test_a_token_issued_by_one_process_introspects_on_the_other(two_servers, m2m_client):
    a, b = two_servers
    auth = {"Authorization": basic(m2m_client.client.client_id, m2m_client.client_secret)}
    token = requests.post(
        f"{a}/oauth2/token", data={"grant_type": "client_credentials"}, headers=auth, timeout=10
    )
    assert token.status_code == 200, token.text
    introspected = requests.post(
        f"{b}/oauth2/introspect", data={"token": token.json()["access_token"]}, headers=auth, timeout=10
    ).json()
    assert introspected["active"] is True
    assert introspected["client_id"] == m2m_client.client.client_id
    # Revoked on B, it is dead on A at once.
    revoked = requests.post(
        f"{b}/oauth2/revoke", data={"token": token.json()["access_token"]}, headers=auth, timeout=10
    )
    assert revoked.status_code == 200
    again = requests.post(
        f"{a}/oauth2/introspect", data={"token": token.json()["access_token"]}, headers=auth, timeout=10
    ).json()
    assert again == {"active": False}


def test_a_key_rotated_on_one_process_is_served_by_the_other_at_once(two_servers):
    a, b = two_servers
    person("ops@example.com", staff=True)
    before = {key["kid"] for key in requests.get(f"{b}/.well-known/jwks.json", timeout=10).json()["keys"]}
    web, answer = sign_in(a, "ops@example.com", next_url="/console/keys")
    assert answer.status_code == 302, answer.text[:500]
    page = web.get(f"{a}/console/keys", timeout=10)
    assert page.status_code == 200
    rotated = web.post(
        f"{a}/console/keys",
        data={"csrfmiddlewaretoken": csrf_of(page.text), "algorithm": "ES256"},
        headers={"Referer": f"{a}/console/keys"},
        allow_redirects=False,
        timeout=10,
    )
    assert rotated.status_code == 302, rotated.text[:500]

    after = requests.get(f"{b}/.well-known/jwks.json", timeout=10).json()["keys"]
    new = [key for key in after if key["kid"] not in before]
    assert len(new) == 1 and new[0]["kty"] == "EC", after
    assert before <= {key["kid"] for key in after}  # the old keys stay published for verifiers


def test_login_throttling_counts_failures_across_processes(two_servers, settings):
    a, b = two_servers
    person("target@example.com")
    limit = settings.CIAM_LOGIN_MAX_FAILURES  # the servers read the same default
    for attempt in range(limit):  # alternately on A and B: neither sees `limit` failures alone
        base = a if attempt % 2 == 0 else b
        _, answer = sign_in(base, "target@example.com", "wrong password")
        if attempt < limit - 1:
            assert answer.status_code == 400, (attempt, answer.status_code)  # the form, with the error
            assert "do not match an account" in answer.text
        else:
            assert answer.status_code == 429, (attempt, answer.status_code)  # this one locks the account
    for base in (a, b):
        _, answer = sign_in(base, "target@example.com")  # even the right password, now
        assert answer.status_code == 429, (base, answer.status_code)
        assert int(answer.headers["Retry-After"]) > 0
        assert "locked" in answer.text


def test_a_consent_remembered_on_one_process_skips_the_page_on_the_other(two_servers, make_client):
    a, b = two_servers
    person("carol@example.com")
    client = make_client(
        client_name="Shared",
        token_endpoint_auth_method="none",
        redirect_uris=[CALLBACK],
        scope="openid email",
    ).client
    _, challenge = pkce_pair()
    query = authorize_params(client.client_id, challenge=challenge, scope="openid email", state="s1")

    web, _ = sign_in(a, "carol@example.com")
    consent = web.get(f"{a}/oauth2/auth", params=query, timeout=10)
    assert consent.url.startswith(f"{a}/consent"), consent.url
    decided = web.post(
        f"{a}/consent",
        data={
            "csrfmiddlewaretoken": csrf_of(consent.text),
            "consent_challenge": re.search(r'name="consent_challenge" value="([^"]+)"', consent.text).group(
                1
            ),
            "grant_scope": ["openid", "email"],
            "remember": "on",
            "allow": "1",
        },
        headers={"Referer": consent.url},
        allow_redirects=False,
        timeout=10,
    )
    assert decided.headers["Location"].startswith(CALLBACK)

    other, _ = sign_in(b, "carol@example.com")
    skipped = other.get(f"{b}/oauth2/auth", params=query, allow_redirects=False, timeout=10)
    assert skipped.status_code == 302
    location = skipped.headers["Location"]
    assert location.startswith(CALLBACK), location  # straight back to the client, no consent page
    assert "code" in parse_qs(urlsplit(location).query)

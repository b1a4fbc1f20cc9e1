"""Query budgets of the hot paths, so that a regression fails a test.

A budget counts the statements a request sends (transaction control aside: BEGIN, COMMIT and
savepoints, which SQLite logs and PostgreSQL does not), names each, and refuses duplicates."""

import time
from urllib.parse import urlencode

import pyotp
import pytest
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext

from ciam.accounts import factors
from ciam.oauth.keys import current_signing_key
from consent.models import Consent
from tests.helpers import CALLBACK, PASSWORD, basic, exchange, form_post, pkce_pair, query_of, tokens_for

pytestmark = pytest.mark.django_db

_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def statements(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(_TRANSACTION_CONTROL)]


def duplicates(sqls: list[str]) -> list[str]:
    seen, repeated = set(), []
    for sql in sqls:
        if sql in seen:
            repeated.append(sql)
        seen.add(sql)
    return repeated


def measured(request):
    with CaptureQueriesContext(connection) as captured:
        response = request()
    return response, statements(captured)


def test_client_credentials_is_two_statements(m2m_client, settings):
    settings.CIAM_STATS_FLUSH_SECONDS = 3600  # the issuance counter's UPSERT, not per request in production
    auth = basic(m2m_client.client.client_id, m2m_client.client_secret)

    def issue():
        return form_post(
            DjangoClient(), "/oauth2/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth
        )

    issue()
    response, sqls = measured(issue)
    assert response.status_code == 200
    # The client's revision (the kept client is current), the token's INSERT.
    assert len(sqls) == 2, sqls
    assert "clients_client" in sqls[0] and sqls[1].startswith('INSERT INTO "oauth_accesstoken"')


def test_introspection_is_two_statements(m2m_client, resource_server):
    token = form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(m2m_client.client.client_id, m2m_client.client_secret),
    ).json()["access_token"]
    auth = basic(resource_server.client.client_id, resource_server.client_secret)

    def introspect():
        return form_post(DjangoClient(), "/oauth2/introspect", {"token": token}, HTTP_AUTHORIZATION=auth)

    introspect()
    response, sqls = measured(introspect)
    assert response.json()["active"] is True
    # The caller's revision, the token with its client (one indexed join).
    assert len(sqls) == 2, sqls
    assert "oauth_accesstoken" in sqls[1] and "JOIN" in sqls[1]


def test_userinfo_is_two_queries(flow, public_client):
    access = tokens_for(flow, public_client.client)["access_token"]
    response, sqls = measured(lambda: DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}"))
    assert response.status_code == 200
    # The token with its client and person; the scope catalogue (the toolkit keeps a token's
    # scopes that the catalogue has). Built-in scopes' claims need no query.
    assert len(sqls) == 2, sqls


def test_the_code_exchange_stays_within_its_budget(flow, public_client):
    current_signing_key()  # a deployment has its key before its first ID token
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, scope="openid email")
    response, sqls = measured(
        lambda: exchange(DjangoClient(), public_client.client.client_id, code, verifier)
    )
    assert response.status_code == 200
    # The client's revision, the code with its person, its claim (UPDATE), the ID token's INSERT,
    # the access and refresh tokens' INSERTs, the issuance counter (flushed per request in tests).
    assert len(sqls) <= 8, sqls
    assert duplicates(sqls) == []


def test_a_refresh_stays_within_its_budget(flow, public_client):
    tokens = tokens_for(flow, public_client.client)
    response, sqls = measured(
        lambda: form_post(
            DjangoClient(),
            "/oauth2/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": public_client.client.client_id,
            },
        )
    )
    assert response.status_code == 200, response.content
    assert len(sqls) <= 13, sqls
    assert duplicates(sqls) == []


def test_no_signing_key_is_parsed_per_request(flow, public_client, monkeypatch):
    from jwcrypto import jwk

    tokens_for(flow, public_client.client)  # warms the per-process key cache
    parsed = []
    original = jwk.JWK.from_json
    monkeypatch.setattr(
        jwk.JWK, "from_json", classmethod(lambda cls, *a, **k: parsed.append(1) or original(*a, **k))
    )
    for _ in range(3):
        tokens_for(flow, public_client.client)
    assert parsed == []


def _consented_request(user, client) -> str:
    """The query of an authorization request (PKCE) for `client`, which `user` allowed before."""
    _, challenge = pkce_pair()
    Consent.objects.create(user=user, client=client, scopes=["openid"], remember=True)
    return urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: no test transaction around it
def test_a_sign_in_that_completes_its_authorization_request_stays_within_its_budget(user, public_client):
    query = _consented_request(user, public_client.client)
    web = DjangoClient()
    to_login = web.get(f"/oauth2/auth?{query}")["Location"]
    challenge = query_of(to_login)["login_challenge"]

    response, sqls = measured(
        lambda: web.post("/login", {"email": user.email, "password": PASSWORD, "login_challenge": challenge})
    )

    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK) and "code" in query_of(response["Location"])
    # The session and the flow its login challenge names; the e-mail's lock, the address's
    # failures, the person; whether they have a second factor (one query); the new session
    # (Django's: a key unused, its row, the old one deleted), last_login; the audit row; the
    # flow's login step answered; then the request it completes: the client's revision (once,
    # though oauthlib validates twice), the remembered consent, the code; the session saved
    # with the sign-in record.
    assert len(sqls) <= 17, sqls
    assert duplicates(sqls) == []
    assert sum(sql.startswith('SELECT "clients_client"') for sql in sqls) == 1  # the client read once


@pytest.mark.django_db(transaction=True)
def test_a_second_step_with_a_code_that_completes_its_authorization_request_stays_within_its_budget(
    user, public_client
):
    query = _consented_request(user, public_client.client)
    setup = factors.totp_setup(user)
    totp = pyotp.TOTP(setup.key.replace(" ", ""))
    factors.totp_confirm(user=user, code=totp.at(time.time() - 30), ip_address=None)
    web = DjangoClient()
    login_challenge = query_of(web.get(f"/oauth2/auth?{query}")["Location"])["login_challenge"]
    web.post("/login", {"email": user.email, "password": PASSWORD, "login_challenge": login_challenge})

    response, sqls = measured(
        lambda: web.post(
            "/login/factor", {"method": "totp", "code": totp.now(), "login_challenge": login_challenge}
        )
    )

    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK) and "code" in query_of(response["Location"])
    # The session; the pending person and the flow; whether they have a factor; the throttle; the
    # key read, its step spent by one conditional UPDATE; the throttle cleared; the sign-in (Django's
    # new session key: a key unused, its row, the old one deleted; last_login), the failures and
    # the audit row; the flow's login step answered; then the request it completes (the client's
    # revision, the remembered consent, the code); the session saved.
    assert len(sqls) <= 20, sqls
    assert duplicates(sqls) == []
    assert sum(sql.startswith('SELECT "clients_client"') for sql in sqls) == 1

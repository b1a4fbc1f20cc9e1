"""Query budgets of the hot paths (issue 6): counted here so that a regression fails a test.

Counts include BEGIN/COMMIT-less savepoints Django issues inside atomic blocks."""

import pytest
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext

from tests.conftest import basic, form_post, pkce_pair
from tests.oauth.test_authorization_code import exchange

pytestmark = pytest.mark.django_db


def duplicates(queries) -> list[str]:
    seen, repeated = set(), []
    for query in (q["sql"] for q in queries):
        if query in seen and not query.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            repeated.append(query)
        seen.add(query)
    return repeated


def test_client_credentials_stays_within_its_budget(m2m_client, django_assert_max_num_queries):
    auth = basic(m2m_client.client.client_id, m2m_client.client_secret)
    form_post(DjangoClient(), "/oauth2/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    # Steady state: one INSERT that also proves the kept client unchanged; (tests only) the
    # issuance counter, flushed on every request here.
    with django_assert_max_num_queries(2):
        response = form_post(
            DjangoClient(), "/oauth2/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth
        )
    assert response.status_code == 200


def test_the_code_exchange_issues_no_duplicate_query_and_stays_within_its_budget(
    flow, public_client, django_assert_max_num_queries
):
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, scope="openid email")
    with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(11):
        response = exchange(DjangoClient(), public_client.client.client_id, code, verifier)
    assert response.status_code == 200
    assert duplicates(captured.captured_queries) == []


def test_introspection_is_one_statement_in_steady_state(
    m2m_client, make_client, django_assert_max_num_queries
):
    server = make_client(client_name="rs", grant_types=["client_credentials"], scope="ciam:introspect")
    token = form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(m2m_client.client.client_id, m2m_client.client_secret),
    ).json()
    auth = basic(server.client.client_id, server.client_secret)
    form_post(DjangoClient(), "/oauth2/introspect", {"token": token["access_token"]}, HTTP_AUTHORIZATION=auth)
    # Steady state: the token lookup, which also proves the kept caller unchanged.
    with django_assert_max_num_queries(1):
        response = form_post(
            DjangoClient(), "/oauth2/introspect", {"token": token["access_token"]}, HTTP_AUTHORIZATION=auth
        )
    assert response.json()["active"] is True


def test_userinfo_is_one_query(flow, public_client, django_assert_max_num_queries):
    from tests.oauth.test_token_endpoint import tokens_for

    access = tokens_for(flow, public_client.client)["access_token"]
    with django_assert_max_num_queries(1):
        response = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200


def test_no_signing_key_is_parsed_per_request(flow, public_client, monkeypatch):
    from jwcrypto import jwk

    from tests.oauth.test_token_endpoint import tokens_for

    tokens_for(flow, public_client.client)  # warms the per-process key cache
    parsed = []
    original = jwk.JWK.from_json
    monkeypatch.setattr(
        jwk.JWK, "from_json", classmethod(lambda cls, *a, **k: parsed.append(1) or original(*a, **k))
    )
    for _ in range(3):
        tokens_for(flow, public_client.client)
    assert parsed == []


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: no test transaction around it
def test_a_sign_in_stays_within_its_budget(user, public_client, django_assert_max_num_queries):
    from urllib.parse import urlencode

    from consent.models import Consent
    from tests.conftest import CALLBACK, PASSWORD, query_of

    _, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": public_client.client.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    Consent.objects.create(user=user, client=public_client.client, scopes=["openid"], remember=True)
    web = DjangoClient()
    assert web.get(f"/oauth2/auth?{query}")["Location"].startswith("/login?")
    # The sign-in check (1: lock, the address's failures, the e-mail's failures), the user,
    # last_login, the audit row (no failures on record to clear: no BEGIN/DELETE/COMMIT), then the
    # authorization request it completes: the client's revision (once, though oauthlib validates
    # twice), the remembered consent, the code; last, the new session (one INSERT, no existence
    # check).
    with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(8):
        response = web.post(
            "/login", {"email": user.email, "password": PASSWORD, "next": f"/oauth2/auth?{query}"}
        )
    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK) and "code" in query_of(response["Location"])
    assert duplicates(captured.captured_queries) == []
    assert sum("clients_client" in q["sql"] for q in captured.captured_queries) == 1
    sessions = [q["sql"].split()[0] for q in captured.captured_queries if "django_session" in q["sql"]]
    assert sessions == ["INSERT"]

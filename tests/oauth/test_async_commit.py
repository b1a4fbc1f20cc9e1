"""Client-credentials access tokens are committed without waiting for the disk, and nothing else is.

PostgreSQL only: `set_config('synchronous_commit', 'off', true)` in the INSERT itself, for that
transaction alone (see ciam/oauth/fastsql.py).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ciam.oauth.introspection import introspect
from tests.conftest import basic, form_post, second_connection
from tests.reliability.servers import on_postgresql

pytestmark = on_postgresql("synchronous_commit is PostgreSQL's")

ASYNC = "set_config('synchronous_commit', 'off', true)"


def issue(client, made):
    return form_post(
        client,
        "/oauth2/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(made.client.client_id, made.client_secret),
    )


def token_inserts(queries) -> list[str]:
    return [q["sql"] for q in queries if 'INSERT INTO "oauth_accesstoken"' in q["sql"]]


def show_synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_client_credentials_token_is_committed_without_waiting_and_seen_at_once(client, m2m_client):
    for _ in range(3):  # the first request re-reads the client; the next ones use the kept one
        with CaptureQueriesContext(connection) as queries:
            response = issue(client, m2m_client)
        assert response.status_code == 200
        inserts = token_inserts(queries.captured_queries)
        assert len(inserts) == 1 and ASYNC in inserts[0]
        # For that statement's transaction only: this connection's next writes wait for the disk.
        assert show_synchronous_commit() == "on"
        # Committed: another connection sees the token at once.
        with second_connection() as other:
            from ciam.oauth.crypto import token_checksum

            row = other.execute(
                "SELECT count(*) FROM oauth_accesstoken WHERE token_checksum = %s",
                [token_checksum(response.json()["access_token"])],
            ).fetchone()
        assert row[0] == 1
        assert introspect(response.json()["access_token"])["active"] is True


@pytest.mark.django_db(transaction=True)
def test_the_setting_turns_it_off(client, m2m_client, settings):
    settings.CIAM_CC_TOKEN_ASYNC_COMMIT = False
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert issue(client, m2m_client).status_code == 200
        inserts = token_inserts(queries.captured_queries)
        assert len(inserts) == 1 and ASYNC not in inserts[0]


@pytest.mark.django_db
def test_inside_a_transaction_it_is_never_asked(client, m2m_client):
    # (Test transactions wrap every request here: the whole transaction would be affected.)
    with CaptureQueriesContext(connection) as queries:
        assert issue(client, m2m_client).status_code == 200
    assert not any(ASYNC in sql for sql in token_inserts(queries.captured_queries))


@pytest.mark.django_db(transaction=True)
def test_tokens_of_a_person_wait_for_the_disk(flow, public_client):
    from tests.oauth.test_token_endpoint import refresh, tokens_for

    with CaptureQueriesContext(connection) as queries:
        tokens = tokens_for(flow, public_client.client)
        assert refresh(public_client.client.client_id, tokens["refresh_token"]).status_code == 200
    assert any(q["sql"].startswith("INSERT") for q in queries.captured_queries)
    assert not any(ASYNC in q["sql"] for q in queries.captured_queries)

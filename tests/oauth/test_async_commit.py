"""CIAM_CC_TOKEN_ASYNC_COMMIT (opt-in): client-credentials access tokens committed without waiting
for the disk (PostgreSQL's synchronous_commit=off for that token's transaction alone); nothing
else, and nothing at all unless the operator asks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ciam.lib.crypto import token_checksum
from ciam.oauth.introspection import introspect
from tests.helpers import basic, form_post, on_postgresql, refresh, second_connection, tokens_for

pytestmark = on_postgresql("synchronous_commit is PostgreSQL's")

ASYNC = "SET LOCAL synchronous_commit TO OFF"


def issue(client, made):
    return form_post(
        client,
        "/oauth2/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(made.client.client_id, made.client_secret),
    )


def sqls(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


def show_synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_it_is_off_unless_the_operator_asks(client, m2m_client, settings):
    assert settings.CIAM_CC_TOKEN_ASYNC_COMMIT is False
    with CaptureQueriesContext(connection) as queries:
        assert issue(client, m2m_client).status_code == 200
    assert ASYNC not in sqls(queries)


@pytest.mark.django_db(transaction=True)
def test_asked_for_a_client_credentials_token_is_committed_without_waiting_and_seen_at_once(
    client, m2m_client, settings
):
    settings.CIAM_CC_TOKEN_ASYNC_COMMIT = True
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = issue(client, m2m_client)
        assert response.status_code == 200
        statements = sqls(queries)
        at = statements.index(ASYNC)
        assert statements[at + 1].startswith('INSERT INTO "oauth_accesstoken"')
        # For that token's transaction only: this connection's next writes wait for the disk.
        assert show_synchronous_commit() == "on"
        # Committed: another connection sees the token at once.
        with second_connection() as other:
            row = other.execute(
                "SELECT count(*) FROM oauth_accesstoken WHERE token_checksum = %s",
                [token_checksum(response.json()["access_token"])],
            ).fetchone()
        assert row[0] == 1
        assert introspect(response.json()["access_token"])["active"] is True


@pytest.mark.django_db
def test_inside_a_transaction_it_is_never_asked(client, m2m_client, settings):
    # (Test transactions wrap every request here: the whole transaction would be affected.)
    settings.CIAM_CC_TOKEN_ASYNC_COMMIT = True
    with CaptureQueriesContext(connection) as queries:
        assert issue(client, m2m_client).status_code == 200
    assert ASYNC not in sqls(queries)


@pytest.mark.django_db(transaction=True)
def test_tokens_of_a_person_always_wait_for_the_disk(flow, public_client, settings):
    settings.CIAM_CC_TOKEN_ASYNC_COMMIT = True
    with CaptureQueriesContext(connection) as queries:
        tokens = tokens_for(flow, public_client.client)
        assert refresh(public_client.client.client_id, tokens["refresh_token"]).status_code == 200
    assert any(sql.startswith("INSERT") for sql in sqls(queries))
    assert ASYNC not in sqls(queries)

"""The hot statements run straight through libpq (ciam.oauth.fastsql.fetchone), with a cursor's
values, Django's errors, and a cursor whenever Django's cursor could behave differently."""

from datetime import datetime

import pytest
from django.db import (
    DataError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
    transaction,
)
from django.test.utils import CaptureQueriesContext

from ciam.oauth import fastsql, introspection
from ciam.oauth.crypto import token_checksum
from ciam.oauth.models import AccessToken
from tests.conftest import access_token_row, terminate_backend
from tests.reliability.servers import on_postgresql

pytestmark = on_postgresql("statements straight through libpq are PostgreSQL's")

LOOKUP = introspection._LOOKUP_ACCESS


def through_a_cursor(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def ours_prepared() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'ciam\\_%%'")
        return dict(cursor.fetchall())


def copy_of(token: AccessToken) -> AccessToken:
    """A new, unsaved row with the same values."""
    copy = AccessToken(**{f.attname: getattr(token, f.attname) for f in AccessToken._meta.concrete_fields})
    copy.pk = None
    return copy


@pytest.fixture
def cursors(monkeypatch):
    """How many Django cursors are created (each goes through the wrapper's create_cursor)."""
    wrapper = connections["default"]
    created = []
    original = wrapper.create_cursor

    def counted(name=None):
        created.append(name)
        return original(name)

    monkeypatch.setattr(wrapper, "create_cursor", counted)
    return created


@pytest.fixture
def token(m2m_client, user):
    _row, raw = access_token_row(m2m_client.client, user, scope="email")
    return token_checksum(raw)


@pytest.mark.django_db(transaction=True)  # autocommit, as a server's requests run
def test_a_lookup_gives_a_cursor_s_values_without_a_cursor_as_a_prepared_statement(token, cursors):
    direct = fastsql.fetchone(LOOKUP, [token])
    assert cursors == []
    expected = through_a_cursor(LOOKUP, [token])
    assert direct == expected
    assert [type(value) for value in direct] == [type(value) for value in expected]
    # (psycopg's compiled timestamptz loader: the same instants, in the same zone, as Django's)
    assert isinstance(direct[3], datetime) and direct[3].tzinfo == expected[3].tzinfo
    assert fastsql.fetchone(LOOKUP, ["no such digest"]) is None
    assert "token_checksum = $1" in "".join(ours_prepared().values())


@pytest.mark.django_db(transaction=True)
def test_a_guarded_token_insert_writes_the_row_the_orm_reads_back(m2m_client, user, cursors):
    from datetime import timedelta

    from django.utils import timezone

    made = AccessToken(
        token_checksum=token_checksum("ciam_at_direct"),
        token="",
        application=m2m_client.client,
        user=user,
        expires=timezone.now() + timedelta(hours=1),
        scope="openid email",
        resource=["https://api.example.com"],
    )
    saved = fastsql.insert(made, unchanged_client=m2m_client.client, asynchronous_commit=True)
    assert saved is made and made.pk and cursors == []
    read = AccessToken.objects.get(pk=made.pk)
    assert (read.user_id, read.scope, read.resource, read.expires) == (
        user.pk,
        "openid email",
        ["https://api.example.com"],
        made.expires,
    )
    # A client changed since it was checked: nothing written, None returned.
    client = m2m_client.client
    client.revision += 1
    again = copy_of(made)
    again.token_checksum = token_checksum("ciam_at_direct_2")
    assert fastsql.insert(again, unchanged_client=client) is None
    assert not AccessToken.objects.filter(token_checksum=again.token_checksum).exists()


@pytest.mark.django_db(transaction=True)
def test_logged_queries_execute_wrappers_client_side_binding_and_naive_datetimes_take_a_cursor(
    token, cursors, monkeypatch, settings
):
    def cursors_used(*, expect_row=True) -> int:
        before = len(cursors)
        assert (fastsql.fetchone(LOOKUP, [token]) is not None) is expect_row
        return len(cursors) - before

    assert cursors_used() == 0
    with CaptureQueriesContext(connection) as queries:
        assert cursors_used() >= 1  # (Django's debug cursor opens another to show the SQL)
    assert [q["sql"] for q in queries.captured_queries if token in q["sql"]]

    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert cursors_used() == 1
    assert seen == [LOOKUP]

    monkeypatch.setitem(connections["default"].settings_dict["OPTIONS"], "server_side_binding", False)
    assert cursors_used() == 1
    monkeypatch.setitem(connections["default"].settings_dict["OPTIONS"], "server_side_binding", True)
    assert cursors_used() == 0
    # Naive datetimes are Django's to make.
    settings.USE_TZ = False
    assert cursors_used() == 1


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_cursor_runs_it_in_the_transaction(m2m_client, user, cursors):
    # psycopg deallocates every prepared statement after a rollback: only outside a transaction
    # can a missing one be prepared again without aborting anything.
    with transaction.atomic():
        _row, raw = access_token_row(m2m_client.client, user)
        before = len(cursors)
        assert fastsql.fetchone(LOOKUP, [token_checksum(raw)]) is not None  # the uncommitted row
        assert len(cursors) == before + 1
        made = AccessToken(
            token_checksum=token_checksum("ciam_at_rolled_back"),
            token="",
            application=m2m_client.client,
            expires=_row.expires,
            scope="email",
            resource=[],
        )
        assert fastsql.insert(made, asynchronous_commit=True) is made
        transaction.set_rollback(True)
    for rolled_back in (raw, "ciam_at_rolled_back"):
        assert fastsql.fetchone(LOOKUP, [token_checksum(rolled_back)]) is None


@pytest.mark.django_db(transaction=True)
def test_after_a_rollback_the_statements_are_prepared_again(token, cursors):
    first = fastsql.fetchone(LOOKUP, [token])
    names = set(ours_prepared())
    # psycopg answers a rollback with DEALLOCATE ALL when it has prepared statements of its own.
    for _ in range(6):
        through_a_cursor("SELECT %s::int", [1])
    with transaction.atomic():
        through_a_cursor("SELECT 1", [])
        transaction.set_rollback(True)
    through_a_cursor("SELECT 1", [])
    assert ours_prepared() == {}
    before = len(cursors)
    assert fastsql.fetchone(LOOKUP, [token]) == first
    assert len(cursors) == before
    assert set(ours_prepared()) and not set(ours_prepared()) & names


@pytest.mark.django_db(transaction=True)
def test_errors_are_django_s_and_mark_the_connection(token, m2m_client):
    with pytest.raises(ProgrammingError, match="no_such_table"):
        fastsql.fetchone("SELECT 1 FROM no_such_table WHERE id = %s", [1])
    assert connections["default"].errors_occurred is True
    connections["default"].errors_occurred = False
    with pytest.raises(DataError, match="division by zero"):
        fastsql.fetchone("SELECT 1 / %s", [0])
    row = AccessToken.objects.get(token_checksum=token)
    duplicate = copy_of(row)
    with pytest.raises(IntegrityError):
        fastsql.insert(duplicate)
    assert AccessToken.objects.filter(token_checksum=token).count() == 1
    # The connection is still good for the next statement.
    assert fastsql.fetchone(LOOKUP, [token]) is not None


@pytest.mark.django_db(transaction=True)
def test_a_statement_the_server_dropped_is_prepared_again(token):
    first = fastsql.fetchone(LOOKUP, [token])
    names = set(ours_prepared())
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert ours_prepared() == {}
    assert fastsql.fetchone(LOOKUP, [token]) == first
    assert set(ours_prepared()) and not set(ours_prepared()) & names


@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_raises_django_s_error_and_the_next_request_reconnects(token):
    assert fastsql.fetchone(LOOKUP, [token]) is not None
    wrapper = connections["default"]
    pid = wrapper.connection.info.backend_pid
    terminate_backend(pid)
    with pytest.raises(OperationalError):
        fastsql.fetchone(LOOKUP, [token])
    assert wrapper.errors_occurred is True
    # What Django does at the end of the request (request_finished): the broken connection goes.
    wrapper.close_if_unusable_or_obsolete()
    assert wrapper.connection is None
    assert fastsql.fetchone(LOOKUP, [token]) is not None
    assert wrapper.connection.info.backend_pid != pid


@pytest.mark.django_db(transaction=True)
def test_with_health_checks_the_first_statement_of_a_request_checks_the_connection(
    token, cursors, monkeypatch
):
    wrapper = connections["default"]
    monkeypatch.setattr(wrapper, "health_check_enabled", True)
    wrapper.close_if_unusable_or_obsolete()  # what the start of a request does
    assert wrapper.health_check_done is False
    before = len(cursors)
    assert fastsql.fetchone(LOOKUP, [token]) is not None
    # A cursor ran it, after Django's check of the connection; the next one goes straight.
    assert len(cursors) == before + 1 and wrapper.health_check_done is True
    assert fastsql.fetchone(LOOKUP, [token]) is not None
    assert len(cursors) == before + 1

"""INSERT one row without the ORM's per-call SQL compilation.

Every issued token is one INSERT; compiling it through the ORM costs more CPU than PostgreSQL
spends executing it. The statement is built once per model and connection vendor from the
model's own fields, and each field prepares its value exactly as `Model.save()` would
(`pre_save` fills auto_now and the token checksum, `get_db_prep_save` adapts UUIDs and JSON).
Only for models whose `save()` adds nothing, or whose caller does what it adds (tokens, audit
events; authorization codes, whose digest the validator takes as Grant.save() would); no
signals are connected to them.

`asynchronous_commit`: on PostgreSQL, an INSERT that is its own transaction may ask not to wait
for its WAL to reach the disk (`set_config('synchronous_commit', 'off', true)` in the same
statement, so for that transaction only). Used for client-credentials access tokens alone
(validator._create_access_token): if PostgreSQL itself crashes in the fraction of a second before
the WAL writer flushes, such a token is lost and answers inactive, and its client asks for a new
one. Nothing is ever granted that way; revocations, rotations, codes and every other write still
wait for the disk. The row is visible to every other connection as soon as the statement returns.

`fetchone` runs such a statement (and the introspection lookup) on PostgreSQL straight through
libpq, as a named prepared statement, instead of through a Django cursor and psycopg's cursor
machinery: creating the two cursors, psycopg's preparation bookkeeping and its result handling
cost four times the CPU of the round trip itself. Parameters and rows are still adapted by
psycopg's own adapters (its Transformer), so the values are the ones a cursor would give.
Whenever Django's cursor could behave differently, the cursor is used: queries being logged
(DEBUG, `CaptureQueriesContext`), execute wrappers, server-side binding off (a transaction-mode
pooler cannot keep prepared statements), or inside a transaction (see `_direct`).
"""

import itertools
import weakref

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from psycopg import OperationalError
from psycopg.adapt import AdaptersMap, PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.pq import ConnStatus, DiagnosticField, ExecStatus, TransactionStatus
from psycopg.types.datetime import TimestamptzLoader

_STATEMENTS: dict[tuple, tuple[str, list, bool]] = {}


_ASYNC_COMMIT_CTE = "WITH ciam_commit AS (SELECT set_config('synchronous_commit', 'off', true)) "


def _statement(model, connection, guarded: bool, asynchronous: bool = False) -> tuple[str, list, bool]:
    key = (model, connection.vendor, connection.alias, guarded, asynchronous)
    cached = _STATEMENTS.get(key)
    if cached is None:
        from clients.models import Client

        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        returning = connection.features.can_return_columns_from_insert
        columns = ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        source = " FROM ciam_commit" if asynchronous else ""
        if guarded:
            # The row is written only if the client is still the one the caller checked.
            sql = (
                f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {placeholders}{source} "
                f"WHERE EXISTS (SELECT 1 FROM {quote(Client._meta.db_table)} "
                f"WHERE {quote('id')} = %s AND {quote('revision')} = %s AND {quote('is_active')})"
            )
        elif asynchronous:
            sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {placeholders}{source}"
        else:
            sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
        if asynchronous:
            sql = _ASYNC_COMMIT_CTE + sql
        if returning:
            sql += f" RETURNING {quote(meta.pk.column)}"
        cached = _STATEMENTS[key] = (sql, fields, returning)
    return cached


def insert(instance, *, unchanged_client=None, asynchronous_commit: bool = False):
    """Save a new `instance` with one INSERT; set its primary key and return it.

    With `unchanged_client`, the row is written only if that client still exists, enabled, at
    the same revision; otherwise nothing is written and None is returned.
    With `asynchronous_commit`, see the module's docstring (PostgreSQL, outside a transaction only).
    """
    model = type(instance)
    connection = connections[router.db_for_write(model, instance=instance)]
    guarded = unchanged_client is not None
    asynchronous = (
        asynchronous_commit and connection.vendor == "postgresql" and not connection.in_atomic_block
    )
    sql, fields, returning = _statement(model, connection, guarded, asynchronous)
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    if guarded:
        params += [unchanged_client.pk, unchanged_client.revision]
    if returning:
        row = fetchone(sql, params, connection.alias)
        pk = row[0] if row else None
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            pk = cursor.lastrowid if cursor.rowcount else None
    if pk is None:
        return None
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


# --- Straight through libpq -------------------------------------------------------------------

# Per psycopg connection: its Transformer and the statements prepared on it (SQL -> name).
_SESSIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_NAMES = itertools.count(1)
# A statement the server no longer has (26000: psycopg's DEALLOCATE ALL after any rollback), or
# whose result type changed under it (0A000, "cached plan must not change result type", after a
# migration): it is prepared again under a new name and run again, once.
_PREPARE_AGAIN = {"26000", "0A000"}


class _Context:
    """What psycopg's Transformer reads of its context: the connection, and its adapters with
    psycopg's own compiled timestamptz loader. Django registers a Python subclass of it, which
    only puts Django's tzinfo object on the same instant; it cost most of a row's loading."""

    __slots__ = ("connection", "adapters")

    def __init__(self, raw):
        self.connection = raw
        self.adapters = AdaptersMap(raw.adapters)
        self.adapters.register_loader("timestamptz", TimestamptzLoader)


def _numbered(sql: str) -> bytes:
    """Django's %s placeholders as PostgreSQL's $1, $2... (our statements hold no other %)."""
    parts = sql.split("%s")
    assert "%" not in "".join(parts), sql
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, 1)).encode()


def _direct(connection):
    """The psycopg connection to run a statement on directly, or None for a cursor."""
    if (
        connection.vendor != "postgresql"
        or connection.queries_logged
        or connection.execute_wrappers
        or not settings.USE_TZ  # (the loader above gives aware datetimes, as Django does with it)
        or not connection.settings_dict["OPTIONS"].get("server_side_binding")
    ):
        return None
    raw = connection.connection
    if raw is None or (connection.health_check_enabled and not connection.health_check_done):
        return None  # a cursor connects, or checks the connection first
    connection.validate_thread_sharing()
    # Outside transactions only, as the fast path's requests run: psycopg answers any rollback
    # with DEALLOCATE ALL, so a statement may be gone, and only outside a transaction can it be
    # prepared and run again without aborting anything.
    if raw.autocommit and raw.pgconn.transaction_status == TransactionStatus.IDLE:
        return raw
    return None


def _fetchone_direct(raw, sql: str, params: list):
    session = _SESSIONS.get(raw)
    if session is None:
        session = _SESSIONS[raw] = (Transformer(_Context(raw)), {})
    transformer, prepared = session
    pgconn = raw.pgconn
    # Text format throughout: the server reads each value with its column's own input function.
    values = transformer.dump_sequence(params, [PyFormat.TEXT] * len(params))
    for attempt in range(2):  # the second only on a statement prepared again
        name = prepared.get(sql)
        if name is None:
            name = f"ciam_{next(_NAMES)}".encode()
            _check(raw, pgconn.prepare(name, _numbered(sql)))
            prepared[sql] = name
        result = pgconn.exec_prepared(name, values)
        if result.status in (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK):
            break
        lost = (result.error_field(DiagnosticField.SQLSTATE) or b"").decode() in _PREPARE_AGAIN
        if lost:
            del prepared[sql]
        if not lost or attempt:
            _check(raw, result)
    if not result.ntuples:
        return None
    transformer.set_pgresult(result)
    return transformer.load_row(0, tuple)


def _check(raw, result) -> None:
    """Raise psycopg's own exception for a failed result, as its cursor would."""
    if result.status in (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK):
        return
    if raw.pgconn.status != ConnStatus.OK:
        raise OperationalError(raw.pgconn.get_error_message(raw.info.encoding) or "connection lost")
    raise error_from_result(result, encoding=raw.info.encoding)


def fetchone(sql: str, params: list, using: str = DEFAULT_DB_ALIAS):
    """`cursor.execute(sql, params)` then `cursor.fetchone()` on the `using` database, with the
    same values and the same Django errors; on PostgreSQL, one prepared statement through libpq
    (see the module's docstring). For the hot statements only: one row, %s placeholders, no
    literal %."""
    connection = connections[using]  # (each attribute read through django.db.connection costs a lookup)
    raw = _direct(connection)
    if raw is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    with connection.wrap_database_errors:
        return _fetchone_direct(raw, sql, params)

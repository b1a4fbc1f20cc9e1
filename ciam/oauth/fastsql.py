"""INSERT one row without the ORM's per-call SQL compilation.

Every issued token is one INSERT; compiling it through the ORM costs more CPU than PostgreSQL
spends executing it. The statement is built once per model and connection vendor from the
model's own fields, and each field prepares its value exactly as `Model.save()` would
(`pre_save` fills auto_now and the token checksum, `get_db_prep_save` adapts UUIDs and JSON).
Only for models whose `save()` adds nothing (tokens); no signals are connected to them.

`asynchronous_commit`: on PostgreSQL, an INSERT that is its own transaction may ask not to wait
for its WAL to reach the disk (`set_config('synchronous_commit', 'off', true)` in the same
statement, so for that transaction only). Used for client-credentials access tokens alone
(validator._create_access_token): if PostgreSQL itself crashes in the fraction of a second before
the WAL writer flushes, such a token is lost and answers inactive, and its client asks for a new
one. Nothing is ever granted that way; revocations, rotations, codes and every other write still
wait for the disk. The row is visible to every other connection as soon as the statement returns.
"""

from django.db import connections, router

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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            row = cursor.fetchone()
            pk = row[0] if row else None
        else:
            pk = cursor.lastrowid if cursor.rowcount else None
    if pk is None:
        return None
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance

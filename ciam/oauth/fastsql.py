"""INSERT one row without the ORM's per-call SQL compilation.

Every issued token is one INSERT; compiling it through the ORM costs more CPU than PostgreSQL
spends executing it. The statement is built once per model and connection vendor from the
model's own fields, and each field prepares its value exactly as `Model.save()` would
(`pre_save` fills auto_now and the token checksum, `get_db_prep_save` adapts UUIDs and JSON).
Only for models whose `save()` adds nothing (tokens); no signals are connected to them.
"""

from django.db import connections, router

_STATEMENTS: dict[tuple, tuple[str, list, bool]] = {}


def _statement(model, connection) -> tuple[str, list, bool]:
    key = (model, connection.vendor, connection.alias)
    cached = _STATEMENTS.get(key)
    if cached is None:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        returning = connection.features.can_return_columns_from_insert
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(meta.db_table),
            ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
        )
        if returning:
            sql += f" RETURNING {quote(meta.pk.column)}"
        cached = _STATEMENTS[key] = (sql, fields, returning)
    return cached


def insert(instance):
    """Save a new `instance` with one INSERT; set its primary key and return it."""
    model = type(instance)
    connection = connections[router.db_for_write(model, instance=instance)]
    sql, fields, returning = _statement(model, connection)
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance

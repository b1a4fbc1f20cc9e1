"""Drop the `varchar_pattern_ops` ("_like") indexes Django adds on PostgreSQL to unique CharFields.

Digests are only ever compared for equality (served by the unique index); the pattern index is one
more B-tree every token insert has to maintain.
"""

from django.db import migrations

TABLES = ("oauth_accesstoken", "oauth_refreshtoken", "oauth_grant")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s) AND indexname LIKE %s",
            [list(TABLES), "%\\_like"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("oauth", "0001_initial")]
    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]

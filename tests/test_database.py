"""How the service talks to PostgreSQL: parameters bound by the server, hot statements prepared."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.helpers import basic, cc, form_post, on_postgresql

ROOT = Path(__file__).resolve().parent.parent


def database_options(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="ciam.settings")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from django.conf import settings; "
            "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_postgresql_binds_on_the_server_and_prepares_hot_statements_by_default():
    options = database_options(DATABASE_URL="postgres://ciam@db.example.com/ciam")
    assert options == {"server_side_binding": True, "prepare_threshold": 5}


def test_both_can_be_turned_off_for_a_transaction_mode_pooler():
    options = database_options(
        DATABASE_URL="postgres://ciam@db.example.com/ciam", DATABASE_SERVER_SIDE_BINDING="false"
    )
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


def test_sqlite_gets_neither():
    options = database_options(DATABASE_URL="sqlite:////tmp/ciam-options.sqlite3")
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


@on_postgresql("prepared statements are PostgreSQL's")
@pytest.mark.django_db
def test_an_introspection_repeated_on_a_connection_runs_a_prepared_statement(client, m2m_client):
    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret
    issued = cc(client_id, secret).json()["access_token"]
    for _ in range(6):
        answer = form_post(
            client, "/oauth2/introspect", {"token": issued}, HTTP_AUTHORIZATION=basic(client_id, secret)
        )
        assert answer.json()["active"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("token_checksum" in statement for statement in prepared), prepared

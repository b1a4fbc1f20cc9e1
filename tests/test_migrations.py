"""The migrations: nothing is missing from them, and an upgrade from the release before this
layout keeps what a running deployment holds (admin API tokens, lockouts, sign-in failures,
sessions), moved to the apps that own them now."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as OldSessionStore
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from ciam.accounts.models import AccountLock, FailedAttempt
from ciam.accounts.sessions import Session, SessionStore
from ciam.api.models import AdminToken

BEFORE = [
    ("accounts", "0001_initial"),
    ("consent", "0001_initial"),
    ("console", "0002_admin_auth_failure"),
    ("api", None),
]


def test_the_models_and_the_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_keeps_tokens_locks_failures_and_sessions():
    old = _migrate(BEFORE).loader.project_state([node for node in BEFORE if node[1]]).apps
    User = old.get_model("accounts", "User")
    person = User.objects.create(email="kept@example.com", password="x")
    old.get_model("console", "AdminToken").objects.create(name="ci", hint="abcdef", token_hash="h" * 64)
    until = timezone.now() + timedelta(minutes=10)
    old.get_model("consent", "AccountLock").objects.create(email="locked@example.com", until=until)
    Failure = old.get_model("consent", "LoginFailure")
    Failure.objects.create(email="guessed@example.com", ip_address="203.0.113.7")
    Failure.objects.create(email="", ip_address="203.0.113.7")  # a registration for a taken address
    # The table of django.contrib.sessions, as a deployment of that release has it.
    data = OldSessionStore().encode({"_auth_user_id": str(person.pk), "kept": True})
    with connection.cursor() as cursor:
        moment = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
        cursor.execute(
            "CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY, "
            f"session_data text NOT NULL, expire_date {moment} NOT NULL)"
        )
        for key, expires in (("live" * 8, timezone.now() + timedelta(days=1)), ("gone" * 8, timezone.now())):
            cursor.execute(
                "INSERT INTO django_session VALUES (%s, %s, %s)",
                [key, data, connection.ops.adapt_datetimefield_value(expires)],
            )
    try:
        executor = MigrationExecutor(connection)
        _migrate(executor.loader.graph.leaf_nodes())

        token = AdminToken.objects.get()
        assert (token.name, token.token_hash) == ("ci", "h" * 64)
        assert AccountLock.objects.get().email == "locked@example.com"
        assert sorted(FailedAttempt.objects.values_list("kind", "key")) == [
            ("registration", ""),
            ("sign_in", "guessed@example.com"),
        ]
        session = Session.objects.get()  # the live one only
        assert session.session_key == "live" * 8 and session.user_id == person.pk
        assert SessionStore(session.session_key)["kept"] is True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS django_session")

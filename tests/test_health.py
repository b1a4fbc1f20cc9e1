"""/health/alive and /health/ready (ciam.health)."""

import pytest
from django.test import Client as DjangoClient

from ciam import health

pytestmark = pytest.mark.django_db


def test_alive_answers_ok():
    response = DjangoClient().get("/health/alive")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_the_database_and_migrations():
    response = DjangoClient().get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_503_when_a_migration_is_not_applied(monkeypatch):
    from django.db.migrations.recorder import MigrationRecorder

    monkeypatch.setattr(health, "_migrations_applied", False)
    MigrationRecorder.Migration.objects.filter(app="audit").delete()  # as if never applied
    response = DjangoClient().get("/health/ready")
    assert response.status_code == 503
    assert "migrations" in response.json()["errors"]

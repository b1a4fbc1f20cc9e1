"""consent.sessions: Django's database sessions with fewer round trips, same guarantees."""

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.db import transaction

from consent.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_is_one_insert_and_loads_back():
    store = SessionStore()
    store["who"] = "alice"
    store.create()
    store.save()
    assert Session.objects.count() == 1
    assert SessionStore(store.session_key)["who"] == "alice"


def test_a_colliding_key_is_refused_by_the_insert_and_another_key_drawn(monkeypatch):
    first = SessionStore()
    first.create()
    keys = iter([first.session_key, "k" * 32])
    monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: next(keys))
    second = SessionStore()
    second.create()
    assert second.session_key == "k" * 32
    assert Session.objects.count() == 2


def test_must_create_refuses_an_existing_key_and_update_refuses_a_missing_one():
    store = SessionStore()
    store.create()
    again = SessionStore(store.session_key)
    with pytest.raises(CreateError):
        again.save(must_create=True)
    Session.objects.all().delete()
    with pytest.raises(UpdateError):
        store.save()


def test_inside_a_transaction_the_savepoint_protected_save_is_used():
    with transaction.atomic():
        store = SessionStore()
        store["x"] = 1
        store.create()
        with pytest.raises(CreateError):
            SessionStore(store.session_key).save(must_create=True)
        store.save()  # the outer transaction is still usable
    assert SessionStore(store.session_key)["x"] == 1

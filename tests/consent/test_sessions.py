"""consent.sessions: Django's database sessions with fewer round trips, same guarantees."""

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.db import transaction

from consent.sessions import SessionStore
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a request's save runs
def test_a_new_session_is_one_insert_and_loads_back(django_assert_num_queries):
    store = SessionStore()
    store["who"] = "alice"
    store.create()  # draws the key only: the next save writes the row
    assert store.session_key and Session.objects.count() == 0
    with django_assert_num_queries(1):
        store.save()
    assert Session.objects.count() == 1
    assert SessionStore(store.session_key)["who"] == "alice"
    store["who"] = "bob"
    store.save()  # an UPDATE of the same row from now on
    assert Session.objects.count() == 1 and SessionStore(store.session_key)["who"] == "bob"


def test_a_session_saved_without_a_key_gets_one_and_its_row():
    store = SessionStore()
    store["who"] = "carol"
    store.save()
    assert SessionStore(store.session_key)["who"] == "carol"


def test_a_colliding_key_is_refused_by_the_insert_and_another_key_drawn(monkeypatch):
    first = SessionStore()
    first.create()
    first.save()
    keys = iter([first.session_key, "k" * 32])
    monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: next(keys))
    second = SessionStore()
    second["who"] = "dave"
    second.create()
    second.save()
    assert second.session_key == "k" * 32
    assert Session.objects.count() == 2
    assert SessionStore("k" * 32)["who"] == "dave" and "who" not in SessionStore(first.session_key)


def test_must_create_refuses_an_existing_key_and_update_refuses_a_missing_one():
    store = SessionStore()
    store.create()
    store.save()
    again = SessionStore(store.session_key)
    with pytest.raises(CreateError):
        again.save(must_create=True)
    Session.objects.all().delete()
    with pytest.raises(UpdateError):
        store.save()


def test_a_sign_in_writes_its_new_session_once_and_removes_the_old_one(client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/login")
    session = client.session  # a session from before the sign-in (e.g. a pending request)
    session["before"] = True
    session.save()
    client.cookies["ciam_session"] = session.session_key
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    writes = [
        q["sql"] for q in queries if '"django_session"' in q["sql"] and not q["sql"].startswith("SELECT")
    ]
    assert [w.split()[0] for w in writes] == ["DELETE", "INSERT"], writes  # the old row, then the new one
    new_key = client.cookies["ciam_session"].value
    assert new_key != session.session_key
    assert not Session.objects.filter(session_key=session.session_key).exists()
    carried = SessionStore(new_key)
    assert carried["before"] is True and carried["_auth_user_id"] == str(user.pk)


def test_inside_a_transaction_the_savepoint_protected_save_is_used():
    with transaction.atomic():
        store = SessionStore()
        store["x"] = 1
        store.create()
        store.save()
        with pytest.raises(CreateError):
            SessionStore(store.session_key).save(must_create=True)
        store.save()  # the outer transaction is still usable
    assert SessionStore(store.session_key)["x"] == 1

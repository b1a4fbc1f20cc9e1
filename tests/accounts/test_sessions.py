"""ciam.accounts.sessions: Django's database sessions, each row with the person it signs in."""

import pytest
from django.conf import settings
from django.test import Client as DjangoClient

from ciam.accounts.services import sessions_end, user_delete, user_lock, user_set_active
from ciam.accounts.sessions import Session, SessionStore
from ciam.audit.models import AuditEvent
from tests.helpers import PASSWORD, signed_in

pytestmark = pytest.mark.django_db


def test_it_is_the_session_engine():

    assert settings.SESSION_ENGINE == "ciam.accounts.sessions"
    assert SessionStore.get_model_class() is Session


def test_a_sign_in_stores_the_person_with_a_new_session_and_keeps_what_came_before(client, user):
    client.get("/login")
    before = client.session  # a session from before the sign-in (e.g. a pending request)
    before["before"] = True
    before.save()
    client.cookies["ciam_session"] = before.session_key

    response = client.post("/login", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 302
    new_key = client.cookies["ciam_session"].value
    assert new_key != before.session_key  # no fixation
    assert not Session.objects.filter(session_key=before.session_key).exists()
    row = Session.objects.get(session_key=new_key)
    assert row.user_id == user.pk
    carried = SessionStore(new_key)
    assert carried["before"] is True and carried["_auth_user_id"] == str(user.pk)


def test_a_session_of_nobody_has_no_person():
    store = SessionStore()
    store["who"] = "anonymous"
    store.save()
    assert Session.objects.get(session_key=store.session_key).user_id is None
    assert SessionStore(store.session_key)["who"] == "anonymous"


def _signed_in(user) -> DjangoClient:
    web = DjangoClient()
    assert web.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 302
    return web


@pytest.mark.parametrize(
    "withdraw",
    [
        lambda user: user_lock(actor=None, user=user),
        lambda user: user_set_active(actor=None, user=user, active=False),
        lambda user: user_delete(actor=None, user=user),
    ],
    ids=["locked", "deactivated", "deleted"],
)
def test_withdrawing_access_ends_the_persons_sessions_and_nobody_elses(user, other_user, withdraw):
    theirs = [_signed_in(user), _signed_in(user)]
    others = _signed_in(other_user)

    withdraw(user)

    assert not Session.objects.filter(user_id=user.pk).exists()
    for web in theirs:
        assert web.get("/account/apps")["Location"].startswith("/login")
    assert others.get("/account/apps").status_code == 200


def test_one_login_session_ends_by_its_sid_and_the_others_stay(user):
    first, second = signed_in(user), signed_in(user)
    sid = first.session["ciam_auth"]["sid"]
    assert Session.objects.filter(user=user, sid=sid).count() == 1
    assert sessions_end(actor=None, sid=sid) == 1
    assert first.get("/account/apps").status_code == 302  # this one is signed out
    assert second.get("/account/apps").status_code == 200  # that one is not
    assert AuditEvent.objects.filter(event="sessions.ended").exists()

"""ciam.accounts.services: the rules of signing in (throttling, lockout) and the writes to identities."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.accounts.models import AccountLock
from ciam.accounts.services import (
    login_failure_record,
    sign_in_check,
    user_delete,
    user_lock,
    user_set_active,
    user_update,
)
from ciam.audit.models import AuditEvent
from tests.factories import make_user
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(web, email="alice@example.com", password=PASSWORD, **extra):
    return web.post(
        "/login", {"email": email, "password": password, **extra}, REMOTE_ADDR=extra.pop("ip", "10.0.0.1")
    )


def test_five_failures_lock_the_account_for_a_while(user, settings):
    web = DjangoClient()
    for _ in range(settings.CIAM_LOGIN_MAX_FAILURES - 1):
        assert sign_in(web, password="wrong").status_code == 400
    locked = sign_in(web, password="wrong")
    assert locked.status_code == 429
    assert 850 <= int(locked["Retry-After"]) <= 900
    # Even the right password is refused while locked, without being checked.
    right = sign_in(web)
    assert right.status_code == 429
    assert "locked" in right.content.decode()
    assert AuditEvent.objects.filter(event="login.locked", subject="alice@example.com").count() == 1
    assert AuditEvent.objects.filter(event="login.failed", subject="alice@example.com").count() == 5


def test_the_lock_expires(user, settings):

    for _ in range(settings.CIAM_LOGIN_MAX_FAILURES):
        sign_in(DjangoClient(), password="wrong")
    AccountLock.objects.update(until=timezone.now() - timedelta(seconds=1))
    assert sign_in(DjangoClient()).status_code == 302


def test_an_unknown_email_locks_the_same_way(db, settings):
    # Otherwise the lockout would reveal which addresses have accounts.
    for _ in range(settings.CIAM_LOGIN_MAX_FAILURES):
        last = sign_in(DjangoClient(), email="ghost@example.com", password="wrong")
    assert last.status_code == 429


def test_one_ip_trying_many_accounts_is_slowed_down(db, settings):
    settings.CIAM_LOGIN_IP_MAX_FAILURES = 6
    for n in range(6):
        assert (
            sign_in(DjangoClient(), email=f"user{n}@example.com", password="x", ip="10.9.9.9").status_code
            == 400
        )
    blocked = sign_in(DjangoClient(), email="user99@example.com", password="x", ip="10.9.9.9")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "network" in blocked.content.decode()
    # Another address is not affected.
    assert sign_in(DjangoClient(), email="user99@example.com", password="x", ip="10.1.1.1").status_code == 400


def test_a_success_resets_the_failure_count(user, settings):
    for _ in range(settings.CIAM_LOGIN_MAX_FAILURES - 1):
        sign_in(DjangoClient(), password="wrong")
    assert sign_in(DjangoClient()).status_code == 302
    for _ in range(settings.CIAM_LOGIN_MAX_FAILURES - 1):
        assert sign_in(DjangoClient(), password="wrong").status_code == 400


def test_a_sign_in_from_no_known_address_is_judged_by_its_e_mail_alone(settings):
    settings.CIAM_LOGIN_MAX_FAILURES = 2
    assert sign_in_check(email="a@example.com", ip_address=None).throttle is None
    login_failure_record(email="a@example.com", ip_address=None)
    assert sign_in_check(email="a@example.com", ip_address=None).failures_on_record
    assert login_failure_record(email="a@example.com", ip_address=None).reason == "account"
    assert sign_in_check(email="a@example.com", ip_address=None).throttle.reason == "account"


def test_the_last_active_administrator_cannot_be_locked_deactivated_deleted_or_demoted(admin):
    for change in (
        lambda: user_lock(actor=None, user=admin),
        lambda: user_set_active(actor=None, user=admin, active=False),
        lambda: user_delete(actor=None, user=admin),
        lambda: user_update(actor=None, user=admin, is_staff=False),
    ):
        with pytest.raises(ValidationError) as refused:
            change()
        assert "last active administrator" in " ".join(refused.value.messages)
    admin.refresh_from_db()
    assert admin.is_active and admin.is_staff and not admin.is_locked()
    # With another active administrator, each is allowed.
    make_user(email="second@example.com", is_staff=True)
    user_lock(actor=None, user=admin)
    admin.refresh_from_db()
    assert admin.is_locked()

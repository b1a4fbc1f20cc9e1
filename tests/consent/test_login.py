"""/login and /registration: the forms, remember me, throttling and lockout, audit, redirects."""

import pytest
from django.test import Client as DjangoClient

from ciam.accounts.models import AccountLock, User
from ciam.audit.models import AuditEvent
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(web, email="alice@example.com", password=PASSWORD, **extra):
    return web.post(
        "/login", {"email": email, "password": password, **extra}, REMOTE_ADDR=extra.pop("ip", "10.0.0.1")
    )


def test_the_login_page_has_the_contracted_fields(db):
    page = DjangoClient().get("/login")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="email"' in html and 'name="password"' in html and 'name="remember"' in html
    assert ">Sign in</button>" in html
    assert 'href="/registration' in html
    assert '<label for="id_email"' in html and '<label for="id_password"' in html
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]


def test_signing_in_resumes_the_next_url(user):
    response = sign_in(DjangoClient(), next="/oauth2/auth?client_id=x&state=abc")
    assert response.status_code == 302
    assert response["Location"] == "/oauth2/auth?client_id=x&state=abc"
    assert AuditEvent.objects.filter(event="login.succeeded", actor=user).exists()


def test_login_is_case_insensitive_on_the_email(user):
    assert sign_in(DjangoClient(), email="ALICE@Example.com").status_code == 302


def test_a_disabled_account_cannot_sign_in(user):
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert sign_in(DjangoClient()).status_code == 400


def test_an_admin_locked_account_cannot_sign_in(user):
    from datetime import timedelta

    from django.utils import timezone

    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() + timedelta(hours=1))
    response = sign_in(DjangoClient())
    assert response.status_code == 403
    assert "locked" in response.content.decode()


def test_without_remember_me_the_session_ends_with_the_browser(user):
    web = DjangoClient()
    sign_in(web)
    assert web.session.get_expire_at_browser_close() is True


def test_with_remember_me_the_session_persists(user, settings):
    web = DjangoClient()
    sign_in(web, remember="on")
    assert web.session.get_expire_at_browser_close() is False
    assert web.cookies["ciam_session"]["max-age"] == settings.SESSION_COOKIE_AGE


def test_login_hint_prefills_the_email(db):
    page = DjangoClient().get("/login", {"next": "/oauth2/auth?client_id=x&login_hint=hint%40example.com"})
    assert 'value="hint@example.com"' in page.content.decode()
    page = DjangoClient().get("/login", {"login_hint": "direct@example.com"})
    assert 'value="direct@example.com"' in page.content.decode()


def test_the_login_form_requires_the_csrf_token(user):
    web = DjangoClient(enforce_csrf_checks=True)
    assert web.post("/login", {"email": "alice@example.com", "password": PASSWORD}).status_code == 403


# --- Throttling -----------------------------------------------------------------------------------


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
    from datetime import timedelta

    from django.utils import timezone

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


def test_the_password_is_hidden_from_error_reports(user):
    from django.views.debug import SafeExceptionReporterFilter

    response = sign_in(DjangoClient(), password="wrong but secret")
    cleansed = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert cleansed["password"] != "wrong but secret"
    assert cleansed["email"] == "alice@example.com"


# --- Registration ---------------------------------------------------------------------------------


def register(web, email="new@example.com", password="a sturdy passphrase 9", confirm=None, **extra):
    return web.post(
        "/registration",
        {"email": email, "password": password, "password_confirm": confirm or password, **extra},
    )


def test_registration_creates_the_account_signs_in_and_resumes(db):
    web = DjangoClient()
    response = register(web, next="/oauth2/auth?client_id=x")
    assert response.status_code == 302
    assert response["Location"] == "/oauth2/auth?client_id=x"
    user = User.objects.get(email="new@example.com")
    assert user.check_password("a sturdy passphrase 9")
    assert web.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(event="user.registered", actor=user).exists()


def test_registration_refuses_a_duplicate_email_clearly(user):
    response = register(DjangoClient(), email="Alice@Example.com")
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email="alice@example.com").count() == 1


@pytest.mark.parametrize(
    "password, why",
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("12345678901234", "entirely numeric"),
    ],
)
def test_registration_applies_the_password_validators(db, password, why):
    response = register(DjangoClient(), password=password)
    assert response.status_code == 400
    assert why in response.content.decode()
    assert not User.objects.exists()


def test_registration_requires_matching_passwords(db):
    response = register(DjangoClient(), confirm="something else entirely")
    assert response.status_code == 400
    assert "do not match" in response.content.decode()


def test_registration_can_be_turned_off(db, settings):
    settings.CIAM_REGISTRATION_ENABLED = False
    assert DjangoClient().get("/registration").status_code == 404
    assert 'href="/registration' not in DjangoClient().get("/login").content.decode()

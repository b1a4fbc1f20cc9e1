"""/login and /registration, and the console's user pages (ciam.accounts.views)."""

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from ciam.accounts.models import User
from ciam.audit.models import AuditEvent
from tests.helpers import PASSWORD, Inbox, tokens_for

pytestmark = pytest.mark.django_db


def sign_in(web, email="alice@example.com", password=PASSWORD, **extra):
    return web.post(
        "/login", {"email": email, "password": password, **extra}, REMOTE_ADDR=extra.pop("ip", "10.0.0.1")
    )


def register(web, email="new@example.com", password="a sturdy passphrase 9", confirm=None, **extra):
    return web.post(
        "/registration",
        {"email": email, "password": password, "password_confirm": confirm or password, **extra},
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


def test_the_password_is_hidden_from_error_reports(user):
    from django.views.debug import SafeExceptionReporterFilter

    response = sign_in(DjangoClient(), password="wrong but secret")
    cleansed = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert cleansed["password"] != "wrong but secret"
    assert cleansed["email"] == "alice@example.com"


@pytest.mark.django_db(transaction=True)
def test_registration_creates_the_account_and_its_verification_signs_in_and_resumes(smtp):
    web = DjangoClient()
    response = register(web, next="/oauth2/auth?client_id=x")
    assert response.status_code == 200 and "Check your e-mail" in response.content.decode()
    user = User.objects.get(email="new@example.com")
    assert user.check_password("a sturdy passphrase 9") and not user.email_verified
    assert "_auth_user_id" not in web.session
    flow = response.context["form"].initial["flow"]
    done = web.post("/verification", {"flow": flow, "code": Inbox.code(smtp.last("new@example.com"))})
    assert done.status_code == 302 and done["Location"] == "/oauth2/auth?client_id=x"
    assert web.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(event="user.registered", actor=user).exists()


def test_registration_of_a_taken_address_looks_like_any_other(user):
    response = register(DjangoClient(), email="Alice@Example.com")
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode() and "already" not in response.content.decode()
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


def test_creating_locking_and_deleting_a_user(console, admin):
    response = console.post(
        reverse("accounts:user-new"),
        {"email": "New@Example.com", "name": "New Person", "password": "a long new password 9"},
    )
    person = User.objects.get(email="new@example.com")
    assert response["Location"] == reverse("accounts:user-detail", args=[person.pk])
    dup = console.post(reverse("accounts:user-new"), {"email": "new@example.com"})
    assert dup.status_code == 400 and "already exists" in dup.content.decode()

    console.post(reverse("accounts:user-lock", args=[person.pk]), {"action": "lock"})
    assert (
        DjangoClient()
        .post("/login", {"email": "new@example.com", "password": "a long new password 9"})
        .status_code
        == 403
    )
    console.post(reverse("accounts:user-lock", args=[person.pk]), {"action": "unlock"})
    assert (
        DjangoClient()
        .post("/login", {"email": "new@example.com", "password": "a long new password 9"})
        .status_code
        == 302
    )

    console.post(reverse("accounts:user-password", args=[person.pk]), {"password": "short"})
    assert User.objects.get(pk=person.pk).check_password("a long new password 9")
    console.post(reverse("accounts:user-password", args=[person.pk]), {"password": "another long password 7"})
    assert User.objects.get(pk=person.pk).check_password("another long password 7")

    console.post(reverse("accounts:user-active", args=[person.pk]), {"action": "deactivate"})
    assert not User.objects.get(pk=person.pk).is_active

    console.post(reverse("accounts:user-delete", args=[person.pk]), {"confirm_email": "wrong@example.com"})
    assert User.objects.filter(pk=person.pk).exists()
    console.post(reverse("accounts:user-delete", args=[person.pk]), {"confirm_email": "new@example.com"})
    assert not User.objects.filter(pk=person.pk).exists()
    events = set(AuditEvent.objects.filter(subject="new@example.com").values_list("event", flat=True))
    assert {
        "user.created",
        "user.locked",
        "user.unlocked",
        "user.password_set",
        "user.deactivated",
        "user.deleted",
    } <= events


def test_an_administrator_cannot_lock_deactivate_or_delete_themself(console, admin):
    console.post(reverse("accounts:user-lock", args=[admin.pk]), {"action": "lock"})
    console.post(reverse("accounts:user-active", args=[admin.pk]), {"action": "deactivate"})
    console.post(reverse("accounts:user-delete", args=[admin.pk]), {"confirm_email": admin.email})
    admin.refresh_from_db()
    assert admin.is_active and admin.locked_until is None


def test_the_user_page_shows_apps_tokens_and_recent_logins(console, flow, public_client, user):

    DjangoClient().post("/login", {"email": user.email, "password": "wrong"})
    tokens_for(flow, public_client.client)
    page = console.get(reverse("accounts:user-detail", args=[user.pk])).content.decode()
    assert "Public CLI" in page and "login.failed" in page
    listing = console.get(reverse("accounts:user-list"), {"q": "alice"}).content.decode()
    assert "alice@example.com" in listing

"""The person's own account pages: /account (profile, e-mail, password, data, deletion) and
/account/sessions."""

import json
import re
import time

import pytest
from django.test import Client as DjangoClient

from ciam.accounts.authn import SESSION_KEY
from ciam.accounts.models import User
from ciam.accounts.sessions import Session
from ciam.audit.models import AuditEvent
from tests.factories import make_user
from tests.helpers import PASSWORD, Inbox, signed_in, tokens_for

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "another sturdy passphrase 5"


def test_the_account_pages_need_a_signed_in_person():
    for path in ("/account", "/account/sessions", "/account/export"):
        answer = DjangoClient().get(path)
        assert answer.status_code == 302 and answer["Location"].startswith("/login?next=")


def test_the_profile_is_saved_and_released_as_profile_claims(user, flow, public_client):
    web = signed_in(user)
    bad = web.post(
        "/account",
        {
            "section": "profile",
            "picture": "http://pics.example/a.png",
            "locale": "english!",
            "zoneinfo": "Mars/Base",
        },
    )
    assert bad.status_code == 400
    page = bad.content.decode()
    assert "Use an https:// address." in page and "language tag" in page and "time zone name" in page
    saved = web.post(
        "/account",
        {
            "section": "profile",
            "name": "Alice Liddell",
            "given_name": "Alice",
            "family_name": "Liddell",
            "picture": "https://pics.example/alice.png",
            "locale": "en-GB",
            "zoneinfo": "Europe/London",
        },
    )
    assert saved.status_code == 302
    user.refresh_from_db()
    assert (user.given_name, user.locale, user.zoneinfo) == ("Alice", "en-GB", "Europe/London")
    token = tokens_for(flow, public_client.client, scope="openid profile")
    claims = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").json()
    assert claims["picture"] == "https://pics.example/alice.png" and claims["zoneinfo"] == "Europe/London"


def test_changing_the_email_needs_the_new_address_verified_and_tells_the_old_one(user, smtp):
    web = signed_in(user)
    make_user(email="taken@example.com")
    taken = web.post("/account", {"section": "email", "email-email": "taken@example.com"})
    assert taken.status_code == 200 and "Check your e-mail" in taken.content.decode()
    assert not smtp.to("taken@example.com")  # nothing sent for another account's address
    page = web.post("/account", {"section": "email", "email-email": "alice.new@example.com"})
    user.refresh_from_db()
    assert user.email == "alice@example.com"  # not before the new address is proven
    code = Inbox.code(smtp.last("alice.new@example.com"))
    done = web.post("/verification", {"flow": page.context["form"].initial["flow"], "code": code})
    assert done["Location"] == "/account"
    user.refresh_from_db()
    assert user.email == "alice.new@example.com" and user.email_verified
    assert smtp.last("alice@example.com")["Subject"] == "Your e-mail address was changed"


def test_changing_the_password_needs_the_current_one_unless_just_signed_in(user, smtp):
    web = signed_in(user, auth_age=600)
    other = signed_in(user)
    wrong = web.post(
        "/account",
        {
            "section": "password",
            "password-current_password": "nope",
            "password-password": NEW_PASSWORD,
            "password-password_confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400 and "not your current password" in wrong.content.decode()
    done = web.post(
        "/account",
        {
            "section": "password",
            "password-current_password": PASSWORD,
            "password-password": NEW_PASSWORD,
            "password-password_confirm": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert web.get("/account").status_code == 200  # this session stays
    assert other.get("/account").status_code == 302  # the others end
    assert smtp.last("alice@example.com")["Subject"] == "Your password was changed"
    fresh = signed_in(user)  # signed in a moment ago: no current password asked
    assert "password-current_password" not in fresh.get("/account").content.decode()


def test_download_my_data_is_json_about_the_person_without_any_secret(user, flow, public_client):
    token = tokens_for(flow, public_client.client)
    web = signed_in(user)
    answer = web.get("/account/export")
    assert answer["Content-Disposition"] == 'attachment; filename="my-account.json"'
    data = json.loads(answer.content)
    assert data["profile"]["email"] == "alice@example.com"
    assert data["consents"][0]["client_id"] == public_client.client.client_id
    assert data["tokens"] and data["sessions"]
    text = answer.content.decode()
    assert token["access_token"] not in text and token["refresh_token"] not in text and "pbkdf2" not in text
    assert "argon2" not in text


def test_deleting_the_account_needs_the_address_typed_and_leaves_an_anonymous_audit_row(
    user, flow, public_client
):
    tokens_for(flow, public_client.client)
    web = signed_in(user)
    assert (
        web.post("/account", {"section": "delete", "delete-confirm_email": "someone@else"}).status_code == 400
    )
    gone = web.post("/account", {"section": "delete", "delete-confirm_email": "Alice@Example.com"})
    assert gone.status_code == 200 and "Your account was deleted" in gone.content.decode()
    assert not User.objects.filter(email="alice@example.com").exists()
    row = AuditEvent.objects.filter(event="user.deleted").latest("at")
    assert row.subject == "" and "alice" not in json.dumps(row.detail) and row.detail["address_digest"]
    assert web.get("/account").status_code == 302


def test_the_last_administrator_cannot_delete_their_own_account(admin):
    web = signed_in(admin)
    refused = web.post("/account", {"section": "delete", "delete-confirm_email": admin.email})
    assert refused.status_code == 400 and "last active administrator" in refused.content.decode()
    assert User.objects.filter(pk=admin.pk).exists()


def test_the_sessions_page_lists_browsers_in_plain_words_and_signs_others_out(user):
    firefox = DjangoClient(
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    )
    firefox.post("/login", {"email": user.email, "password": PASSWORD})
    iphone = DjangoClient(
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    iphone.post("/login", {"email": user.email, "password": PASSWORD})
    page = firefox.get("/account/sessions").content.decode()
    assert "Firefox on Linux" in page and "Mobile Safari on iOS (iPhone)" in page and "this browser" in page
    assert "127.0.0.1" in page
    sid = re.search(r'name="sid" value="([^"]+)"', page).group(1)
    firefox.post("/account/sessions", {"sid": sid})
    assert iphone.get("/account").status_code == 302  # signed out
    assert firefox.get("/account").status_code == 200


def test_a_session_remembers_when_it_was_last_used(user):
    web = DjangoClient()
    web.post("/login", {"email": user.email, "password": PASSWORD})
    session = Session.objects.get(user=user)
    first = session.last_seen
    record = web.session[SESSION_KEY]
    stored = web.session
    stored[SESSION_KEY] = {**record, "seen": int(time.time()) - 3600}
    stored.save()
    web.get("/account")
    assert Session.objects.get(user=user).last_seen >= first


def test_guessing_the_current_password_on_the_account_page_is_throttled_like_sign_in(user, settings):
    settings.CIAM_LOGIN_MAX_FAILURES = 2
    web = signed_in(user, auth_age=600)
    guess = {
        "section": "password",
        "password-password": NEW_PASSWORD,
        "password-password_confirm": NEW_PASSWORD,
    }
    for attempt in ("one", "two"):
        assert web.post("/account", {**guess, "password-current_password": attempt}).status_code == 400
    stopped = web.post("/account", {**guess, "password-current_password": PASSWORD})
    assert stopped.status_code == 429 and int(stopped["Retry-After"]) > 0
    assert "Too many wrong passwords." in stopped.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)

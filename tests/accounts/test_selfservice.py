"""Verification, recovery and what registration says (ciam.accounts.selfservice and its pages),
with every message read from a real SMTP server."""

import re
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.accounts.models import EmailCode, User
from ciam.audit.models import AuditEvent
from ciam.lib.crypto import token_checksum
from consent.services import consent_grant
from tests.factories import make_user
from tests.helpers import PASSWORD, Inbox, authorize, free_port, query_of, signed_in

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a new correct horse battery"


def _anonymised(page, email: str) -> str:
    """The page without what differs between any two requests: the address, the flow id, the
    CSRF token."""
    html = page.content.decode().replace(email, "ADDRESS")
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    return re.sub(r'name="(flow|csrfmiddlewaretoken)" value="[^"]+"', r'name="\1"', html)


def register(web, email, password=PASSWORD):
    return web.post("/registration", {"email": email, "password": password, "password_confirm": password})


@pytest.mark.security("user-enumeration-messages")
def test_registration_says_check_your_email_whether_or_not_the_address_is_taken(smtp):
    make_user(email="taken@example.com")
    new = register(DjangoClient(), "new@example.com")
    taken = register(DjangoClient(), "taken@example.com", password="another correct horse")
    assert new.status_code == taken.status_code == 200
    for page in (new, taken):
        assert "Check your e-mail" in page.content.decode() and "already" not in page.content.decode()
    assert "_auth_user_id" not in new.client.session  # signed in only once the address is verified
    assert Inbox.code(smtp.last("new@example.com"))
    warning = smtp.last("taken@example.com")
    assert warning["Subject"] == "Someone tried to register with your address"
    assert "/recovery" in Inbox.text(warning) and not User.objects.get(
        email="taken@example.com"
    ).check_password("another correct horse")
    assert AuditEvent.objects.filter(event="registration.refused", subject="taken@example.com").exists()


def test_the_code_verifies_the_address_and_signs_the_new_account_in(smtp):
    web = DjangoClient()
    page = register(web, "dana@example.com")
    flow = page.context["form"].initial["flow"]
    message = smtp.last("dana@example.com")
    assert message["Subject"] == "Verify your e-mail address"
    assert message.get_body(preferencelist=("html",)) is not None  # plain text and HTML
    wrong = web.post(
        "/verification", {"flow": flow, "code": "000000" if Inbox.code(message) != "000000" else "111111"}
    )
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    done = web.post("/verification", {"flow": flow, "code": Inbox.code(message)})
    assert done.status_code == 302
    user = User.objects.get(email="dana@example.com")
    assert user.email_verified and web.session["_auth_user_id"] == str(user.pk)
    assert EmailCode.objects.get(user=user).used is not None
    # The code and the link work once.
    again = DjangoClient().get("/verification", {"token": Inbox.link(message).split("token=")[1]})
    assert again.status_code == 400 and "expired or was already used" in again.content.decode()


def test_the_link_verifies_in_another_browser_without_signing_it_in(smtp):
    register(DjangoClient(), "erin@example.com")
    link = Inbox.link(smtp.last("erin@example.com"))
    other = DjangoClient()
    page = other.get(link.replace("http://localhost:8000", ""))
    assert page.status_code == 200 and "is verified" in page.content.decode()
    assert User.objects.get(email="erin@example.com").email_verified
    assert "_auth_user_id" not in other.session


def test_codes_and_links_are_stored_only_as_digests_and_a_code_allows_few_tries(smtp):
    web = DjangoClient()
    flow = register(web, "finn@example.com").context["form"].initial["flow"]
    message = smtp.last("finn@example.com")
    row = EmailCode.objects.get(pk=flow)
    token = Inbox.link(message).split("token=")[1]
    assert row.link_digest == token_checksum(token) and Inbox.code(message) not in row.code_digest
    for _ in range(EmailCode.MAX_TRIES):
        web.post(
            "/verification", {"flow": flow, "code": "999999" if Inbox.code(message) != "999999" else "888888"}
        )
    late = web.post("/verification", {"flow": flow, "code": Inbox.code(message)})
    assert late.status_code == 400 and not User.objects.get(email="finn@example.com").email_verified


@pytest.mark.security("user-enumeration-messages")
def test_recovery_answers_the_same_for_any_address_and_mails_only_an_account(smtp):
    make_user(email="gail@example.com")
    known = DjangoClient().post("/recovery", {"email": "gail@example.com"})
    unknown = DjangoClient().post("/recovery", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert _anonymised(known, "gail@example.com") == _anonymised(unknown, "nobody@example.com")
    assert smtp.last("gail@example.com")["Subject"] == "Reset your password"
    assert not smtp.to("nobody@example.com")


def test_recovery_by_link_sets_the_password_ends_sessions_and_tokens_and_tells_the_address(smtp):
    user = make_user(email="hana@example.com")
    elsewhere = signed_in(user)
    DjangoClient().post("/recovery", {"email": "hana@example.com"})
    message = smtp.last("hana@example.com")
    web = DjangoClient()
    opened = web.get(Inbox.link(message).replace("http://localhost:8000", ""))
    assert opened.status_code == 302 and opened["Location"] == "/recovery/password"
    weak = web.post("/recovery/password", {"password": "short", "password_confirm": "short"})
    assert weak.status_code == 400
    done = web.post("/recovery/password", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "Your password was changed" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert elsewhere.get("/account/apps").status_code == 302  # that session ended
    assert smtp.last("hana@example.com")["Subject"] == "Your password was changed"
    assert AuditEvent.objects.filter(event="recovery.completed", subject="hana@example.com").exists()
    # Used once: the link is spent.
    assert DjangoClient().get(Inbox.link(message).replace("http://localhost:8000", "")).status_code == 400


def test_recovery_by_code_and_an_expired_link_changes_nothing(smtp, settings):
    user = make_user(email="ivan@example.com")
    web = DjangoClient()
    flow = web.post("/recovery", {"email": "ivan@example.com"}).context["form"].initial["flow"]
    message = smtp.last("ivan@example.com")
    EmailCode.objects.filter(pk=flow).update(expires=timezone.now() - timedelta(seconds=1))
    assert web.post("/recovery", {"flow": flow, "code": Inbox.code(message)}).status_code == 400
    assert web.get(Inbox.link(message).replace("http://localhost:8000", "")).status_code == 400
    assert web.get("/recovery/password").status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    # A fresh one, by its code.
    flow = web.post("/recovery", {"email": "ivan@example.com"}).context["form"].initial["flow"]
    code = Inbox.code(smtp.last("ivan@example.com"))
    assert web.post("/recovery", {"flow": flow, "code": code})["Location"] == "/recovery/password"
    web.post("/recovery/password", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_asking_for_messages_is_throttled_per_address(smtp, settings):
    settings.CIAM_MAIL_MAX_REQUESTS = 2
    make_user(email="jo@example.com")
    for _ in range(2):
        assert DjangoClient().post("/recovery", {"email": "jo@example.com"}).status_code == 200
    refused = DjangoClient().post("/recovery", {"email": "jo@example.com"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert len(smtp.to("jo@example.com")) == 2


def test_tampered_and_malformed_input_gets_a_clear_answer(smtp):
    web = DjangoClient()
    assert web.get("/verification", {"token": "x" * 500}).status_code == 400
    assert web.post("/verification", {"flow": "not-a-uuid", "code": "123456"}).status_code == 400
    assert web.post("/recovery", {"flow": "", "code": "12"}).status_code == 400
    assert web.post("/recovery", {"email": "not an address"}).status_code == 400
    assert web.get("/recovery/password").status_code == 400


def test_with_verified_addresses_required_sign_in_to_an_application_waits_for_verification(
    smtp, settings, public_client
):
    settings.CIAM_REQUIRE_VERIFIED_EMAIL = True
    user = make_user(email="kim@example.com")
    web = signed_in(user)
    start = authorize(web, public_client.client.client_id)
    assert start.status_code == 302 and start["Location"].startswith("/verification?next=")
    page = web.get(start["Location"])
    assert "confirm that <strong>kim@example.com</strong> is your address" in page.content.decode()
    consent_grant(user=user, client=public_client.client, scopes=["openid", "email"], remember=True)
    silent = authorize(web, public_client.client.client_id, prompt="none")
    assert query_of(silent["Location"])["error"] == "interaction_required"  # no page may be shown
    next_url = query_of(start["Location"])["next"]
    sent = web.post("/verification", {"email": "kim@example.com", "next": next_url})
    flow = sent.context["form"].initial["flow"]
    done = web.post("/verification", {"flow": flow, "code": Inbox.code(smtp.last("kim@example.com"))})
    # Verified: on to the application, with its code.
    assert "code=" in done["Location"] and query_of(done["Location"])["state"] == "s1"


def test_an_administrator_resends_verification_marks_verified_and_hands_over_a_recovery_link(smtp, admin):
    person = make_user(email="lou@example.com")
    console = DjangoClient()
    console.force_login(admin)
    page = console.get(f"/console/users/{person.pk}").content.decode()
    assert "not verified" in page and "Last recovery: never" in page
    console.post(f"/console/users/{person.pk}/email", {"action": "send-verification"})
    assert smtp.last("lou@example.com")["Subject"] == "Verify your e-mail address"
    console.post(f"/console/users/{person.pk}/email", {"action": "send-recovery"})
    assert smtp.last("lou@example.com")["Subject"] == "Reset your password"
    console.post(f"/console/users/{person.pk}/email", {"action": "recovery-link"})
    shown = console.get(f"/console/users/{person.pk}").content.decode()
    link = re.search(r'id="recovery-link-value">([^<]+)<', shown).group(1)
    assert "/recovery?token=" in link
    assert link not in console.get(f"/console/users/{person.pk}").content.decode()  # shown once
    assert DjangoClient().get(link.replace("http://localhost:8000", ""))["Location"] == "/recovery/password"
    console.post(f"/console/users/{person.pk}/email", {"action": "mark-verified"})
    person.refresh_from_db()
    assert person.email_verified
    assert AuditEvent.objects.filter(
        event="recovery.link_created", actor=admin, subject=person.email
    ).exists()


def test_an_administrator_ends_a_persons_sessions(admin):
    person = make_user(email="max@example.com")
    browser = signed_in(person)
    console = DjangoClient()
    console.force_login(admin)
    assert "last seen" in console.get(f"/console/users/{person.pk}").content.decode()
    console.post(f"/console/users/{person.pk}/sessions")
    assert browser.get("/account/apps").status_code == 302


def test_the_admin_api_creates_a_recovery_link_and_shows_the_address_status(api):
    person = make_user(email="ned@example.com")
    identity = api.get(f"/admin/identities/{person.pk}").json()
    assert identity["verifiable_addresses"] == [
        {"value": "ned@example.com", "via": "email", "verified": False, "status": "pending"}
    ]
    assert identity["recovery_addresses"] == [{"value": "ned@example.com", "via": "email"}]
    made = api.post(
        "/admin/recovery/link",
        {"identity_id": str(person.pk), "expires_in": "1h"},
        content_type="application/json",
    )
    assert made.status_code == 200
    body = made.json()
    assert "/recovery?token=" in body["recovery_link"] and body["expires_at"].endswith("Z")
    assert DjangoClient().get(body["recovery_link"].replace("http://localhost:8000", "")).status_code == 302
    for bad in ({"identity_id": "nope"}, {"identity_id": str(person.pk), "expires_in": "ten"}, {"x": 1}, []):
        assert api.post("/admin/recovery/link", bad, content_type="application/json").status_code == 400
    missing = {"identity_id": "00000000-0000-0000-0000-000000000000"}
    assert api.post("/admin/recovery/link", missing, content_type="application/json").status_code == 404


def test_a_mail_server_that_cannot_be_reached_costs_the_person_nothing_but_the_message(settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.CIAM_MAIL_ATTEMPTS = 2
    make_user(email="quinn@example.com")
    with caplog.at_level("WARNING", logger="ciam.mail"):
        answer = DjangoClient().post("/recovery", {"email": "quinn@example.com"})
    assert answer.status_code == 200 and "Check your e-mail" in answer.content.decode()
    assert EmailCode.objects.filter(user__email="quinn@example.com", used__isnull=True).exists()  # kept
    failures = [r.getMessage() for r in caplog.records if r.name == "ciam.mail"]
    assert len(failures) == 3  # two tries, then the give-up
    assert all("quinn" not in line and "token" not in line for line in failures)
    assert "recovery message was not sent after 2 tries" in failures[-1]

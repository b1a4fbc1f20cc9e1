"""Checklist: clickjacking headers, session fixation, user enumeration (messages and timing)."""

import re
import time

import pytest
from django.test import Client as DjangoClient
from django.urls import URLResolver, get_resolver

from ciam import settings as production_settings
from ciam.accounts import hashers
from ciam.accounts.models import FailedAttempt, User
from ciam.api.services import admin_token_create
from consent.services import consent_grant
from tests.helpers import PASSWORD, Inbox

pytestmark = pytest.mark.django_db


# --- Clickjacking ----------------------------------------------------------------------------------


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield "/" + route


@pytest.mark.security("clickjacking")
def test_every_html_page_forbids_framing(admin_user_and_client, public_client, user):
    """Walks every URL the service routes (new pages are covered without editing this test)."""

    admin_web = admin_user_and_client
    record, _ = admin_token_create(actor=None, name="framing")
    consent = consent_grant(user=user, client=public_client.client, scopes=["openid"], remember=True)
    values = {
        "client_id": public_client.client.client_id,
        "user_id": str(user.pk),
        "identity_id": str(user.pk),
        "token_id": str(record.pk),
        "set_name": "hydra.openid.id-token",
        "consent_id": str(consent.pk),
        "name": "openid",
        "key": "no-such-run",
        "credential_type": "totp",
    }
    checked = []
    for route in sorted(set(_routes(get_resolver().url_patterns))):
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)
        for web in (admin_web, DjangoClient()):
            response = web.get(path)
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            assert response["X-Frame-Options"] == "DENY", path
            assert "frame-ancestors 'none'" in response["Content-Security-Policy"], path
            checked.append(path)
    # The sign-in pages, the person's pages, the console's and the API docs, at least.
    for page in ("/login", "/registration", "/consent", "/device", "/logout", "/error", "/console/"):
        assert page in checked
    assert len(set(checked)) >= 25, sorted(set(checked))


@pytest.fixture
def admin_user_and_client(db):
    admin = User.objects.create_user(email="root@example.com", password=PASSWORD, is_staff=True)
    web = DjangoClient()
    web.force_login(admin)
    return web


# --- Session fixation ------------------------------------------------------------------------------


def _planted_session() -> tuple[DjangoClient, str]:
    """A browser carrying a session key the attacker obtained (and can still present)."""
    web = DjangoClient()
    web.get("/login")
    session = web.session
    session["planted"] = True
    session.save()
    return web, session.session_key


def _signed_in_with(session_key: str) -> bool:
    attacker = DjangoClient()
    attacker.cookies["ciam_session"] = session_key
    return attacker.get("/account/apps").status_code == 200


@pytest.mark.security("session-fixation")
@pytest.mark.parametrize("how", ["sign-in", "registration"])
def test_a_planted_session_key_is_not_signed_in_by_the_victim(
    how, user, smtp, django_capture_on_commit_callbacks
):
    victim, planted = _planted_session()
    if how == "sign-in":
        response = victim.post("/login", {"email": user.email, "password": PASSWORD})
    else:
        password = "a sturdy passphrase 9"
        with django_capture_on_commit_callbacks(execute=True):
            page = victim.post(
                "/registration",
                {"email": "new@example.com", "password": password, "password_confirm": password},
            )
        code = Inbox.code(smtp.last("new@example.com"))
        response = victim.post("/verification", {"flow": page.context["form"].initial["flow"], "code": code})
    assert response.status_code == 302
    assert victim.session.session_key != planted
    assert victim.get("/account/apps").status_code == 200  # the victim is signed in ...
    assert not _signed_in_with(planted)  # ... and the attacker's key is not


# --- User enumeration ------------------------------------------------------------------------------


@pytest.mark.security("user-enumeration-messages")
def test_registration_cannot_test_email_addresses_in_bulk(user, settings):
    """Registration never says that an address is taken: a taken one gets the same "check your
    e-mail" page as a new one (its owner is told of the attempt). Each such attempt still counts
    against the caller's address, like a failed sign-in, so mailing an owner over and over stops
    at the IP limit with a 429 that says nothing about the address. The account is not locked by
    it (others cannot lock it out)."""
    settings.CIAM_LOGIN_IP_MAX_FAILURES = 3
    password = "a sturdy passphrase 9"

    def register(email, ip="10.9.9.9"):
        return DjangoClient().post(
            "/registration",
            {"email": email, "password": password, "password_confirm": password},
            REMOTE_ADDR=ip,
        )

    fresh = register("first@example.com", ip="10.9.9.8")
    for _ in range(3):
        taken = register(user.email)
        assert taken.status_code == fresh.status_code == 200
        assert "Check your e-mail" in taken.content.decode() and "already" not in taken.content.decode()
    for email in (user.email, "free@example.com"):
        probe = register(email)
        assert probe.status_code == 429, email
        assert int(probe["Retry-After"]) > 0
    assert not User.objects.filter(email="free@example.com").exists()
    # Another address is not affected, nor is the account's owner.
    assert register("other@example.com", ip="10.9.9.10").status_code == 200
    owner = DjangoClient().post("/login", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    assert owner.status_code == 302
    from ciam.audit.models import AuditEvent

    assert AuditEvent.objects.filter(event="registration.refused", subject=user.email).count() == 3


@pytest.mark.security("user-enumeration-messages")
def test_sign_in_answers_alike_for_unknown_disabled_and_wrong_password(user):
    disabled = User.objects.create_user(email="gone@example.com", password=PASSWORD, is_active=False)

    def attempt(email, password):
        response = DjangoClient().post("/login", {"email": email, "password": password})
        page = re.sub(
            r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', r"\1-", response.content.decode()
        )
        return response.status_code, page.replace(email, "EMAIL")

    answers = {
        attempt("nobody@example.com", PASSWORD),
        attempt(user.email, "wrong password 1"),
        attempt(disabled.email, PASSWORD),
    }
    assert len(answers) == 1
    status, page = answers.pop()
    assert status == 400 and "That e-mail address and password do not match an account." in page


@pytest.mark.security("user-enumeration-timing")
def test_sign_in_does_the_same_work_for_unknown_and_known_emails(user, settings, monkeypatch):
    """One Argon2id computation whatever the e-mail: unknown, wrong password, disabled account.

    Counted (deterministic), and also timed: with production hashing the fastest of 11 tries of
    each kind of attempt stay within a band that the ~20 ms hash dominates."""
    settings.PASSWORD_HASHERS = production_settings.PASSWORD_HASHERS
    settings.CIAM_LOGIN_MAX_FAILURES = settings.CIAM_LOGIN_IP_MAX_FAILURES = 1000
    user.set_password(PASSWORD)
    user.save()
    disabled = User.objects.create_user(email="gone@example.com", password=PASSWORD, is_active=False)
    calls = []
    for name in ("encode", "verify"):
        real = getattr(hashers.PasswordArgon2Hasher, name)
        monkeypatch.setattr(
            hashers.PasswordArgon2Hasher,
            name,
            lambda self, *a, _real=real, _name=name, **k: calls.append(_name) or _real(self, *a, **k),
        )

    kinds = {
        "unknown e-mail": ("nobody@example.com", PASSWORD),
        "wrong password": (user.email, "wrong password 1"),
        "disabled account": (disabled.email, PASSWORD),
    }
    timings = {}
    for kind, (email, password) in kinds.items():
        samples = []
        for _ in range(11):
            calls.clear()
            web = DjangoClient()
            started = time.perf_counter()
            response = web.post("/login", {"email": email, "password": password})
            samples.append(time.perf_counter() - started)
            assert response.status_code == 400
            assert len(calls) == 1, (kind, calls)  # exactly one slow hash
        # The fastest try: load on the machine only ever adds time, so it is the steadiest measure.
        timings[kind] = min(samples)
    FailedAttempt.objects.all().delete()
    assert min(timings.values()) / max(timings.values()) > 0.6, timings

"""Second factors (ciam.accounts.factors and their pages): TOTP, recovery codes, passkeys, the
second step of a sign-in, step-up by acr_values, clients that require multi-factor, the
deployment's policy, and what administrators see and reset. Mail is read from a real SMTP
server; passkeys answer through tests.authenticator (a WebAuthn authenticator in Python)."""

import json
import time

import pyotp
import pytest
from django.test import Client as DjangoClient
from jwcrypto import jwt

from ciam.accounts import factors, throttle
from ciam.accounts.authn import SESSION_KEY
from ciam.accounts.models import Passkey, RecoveryCode, TotpFactor
from ciam.audit.models import AuditEvent
from ciam.oauth.models import DeviceGrant
from tests.authenticator import SoftAuthenticator
from tests.factories import make_public_client, make_user
from tests.helpers import (
    CALLBACK,
    PASSWORD,
    Inbox,
    authorization_query,
    device_decide,
    device_poll,
    device_start,
    enter_code,
    exchange,
    jwks_set,
    pkce_pair,
    query_of,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


def enroll_totp(user) -> tuple[pyotp.TOTP, list[str]]:
    """Set up an authenticator app for `user` (confirmed with the previous step's code, so the
    current one is still unused); its generator and the recovery codes."""
    setup = factors.totp_setup(user)
    totp = pyotp.TOTP(setup.key.replace(" ", ""))
    codes = factors.totp_confirm(user=user, code=totp.at(time.time() - 30), ip_address=None)
    assert codes is not None
    return totp, codes


def message_with(smtp, address: str, words: str):
    """The message to `address` that says `words` (waiting a little: mail leaves after commit)."""
    found = []
    wait_until(
        lambda: found.extend(m for m in smtp.to(address) if words in Inbox.text(m)) or found, timeout=10
    )
    assert found, f"no message to {address} saying {words!r}: {[m['Subject'] for m in smtp.to(address)]}"
    return found[-1]


def password_step(web, user, **extra):
    return web.post("/login", {"email": user.email, "password": PASSWORD, **extra})


def signed_in_record(web) -> dict:
    return web.session.get(SESSION_KEY) or {}


def id_token_claims(token_response: dict) -> dict:
    return json.loads(jwt.JWT(jwt=token_response["id_token"], key=jwks_set()).claims)


def code_flow(web, client, **params):
    """Start an authorization request for `client`; (its first answer, the PKCE verifier)."""
    verifier, challenge = pkce_pair()
    query = authorization_query(client.client_id, challenge, scope="openid", **params)
    return web.get("/oauth2/auth", query), verifier


def tokens(client, location: str, verifier: str) -> dict:
    assert location.startswith(CALLBACK), location
    response = exchange(DjangoClient(), client.client_id, query_of(location)["code"], verifier)
    assert response.status_code == 200, response.content
    return response.json()


# --- TOTP ---------------------------------------------------------------------------------------


def test_the_totp_key_is_encrypted_at_rest_and_confirmed_by_a_first_code(user, smtp):
    setup = factors.totp_setup(user)
    assert setup.uri.startswith("otpauth://totp/") and "secret=" in setup.uri
    assert setup.qr_svg.startswith("<svg")
    key = setup.key.replace(" ", "")
    assert len(key) == 32 and factors.totp_setup(user).key == setup.key  # the same until confirmed
    row = TotpFactor.objects.get(user=user)
    assert key not in row.secret and row.confirmed is None
    assert not factors.has_second_factor(user)  # not before its first code
    wrong = "000000" if pyotp.TOTP(key).now() != "000000" else "111111"
    assert factors.totp_confirm(user=user, code=wrong, ip_address=None) is None
    codes = factors.totp_confirm(user=user, code=pyotp.TOTP(key).now(), ip_address="10.0.0.1")
    assert codes is not None and len(codes) == 10 and len(set(codes)) == 10
    assert factors.has_second_factor(user)
    assert AuditEvent.objects.filter(event="mfa.totp_added", subject=user.email).exists()
    assert message_with(smtp, user.email, "An authenticator app was set up")


@pytest.mark.security("second-factor-guessing")
def test_a_code_is_accepted_once_within_one_step_of_drift_either_way(user):
    totp, _ = enroll_totp(user)
    now = time.time()
    assert not factors.totp_check(user=user, code=totp.at(now - 90))  # three steps old
    assert not factors.totp_check(user=user, code=totp.at(now + 90))
    assert not factors.totp_check(user=user, code="12345")  # not six digits
    assert factors.totp_check(user=user, code=totp.at(now))
    assert not factors.totp_check(user=user, code=totp.at(now))  # replayed within its window
    assert factors.totp_check(user=user, code=totp.at(now + 30))  # the next step, a clock ahead
    assert not factors.totp_check(user=user, code=totp.at(now))  # an older step after a newer one


def test_the_password_alone_signs_in_nobody_who_has_a_second_factor(user):
    totp, _ = enroll_totp(user)
    web = DjangoClient()
    response = password_step(web, user, next="/account")
    assert response.status_code == 302 and response["Location"] == "/login/factor?next=%2Faccount"
    assert "_auth_user_id" not in web.session
    assert web.get("/account")["Location"].startswith("/login")
    page = web.get("/login/factor?next=/account")
    assert page.status_code == 200 and "Code from your authenticator app" in page.content.decode()
    assert "Password" not in page.content.decode()

    wrong = web.post("/login/factor", {"method": "totp", "code": "000000", "next": "/account"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    done = web.post("/login/factor", {"method": "totp", "code": totp.now(), "next": "/account"})
    assert done.status_code == 302 and done["Location"] == "/account"
    record = signed_in_record(web)
    assert record["acr"] == "2" and record["amr"] == ["pwd", "otp", "mfa"]
    event = AuditEvent.objects.filter(event="login.succeeded", subject=user.email).latest("at")
    assert event.detail["amr"] == ["pwd", "otp", "mfa"]
    assert AuditEvent.objects.filter(
        event="mfa.failed", subject=user.email, detail__reason="wrong_code"
    ).exists()

    # The same code on another browser, a moment later: refused (used).
    other = DjangoClient()
    password_step(other, user)
    again = other.post("/login/factor", {"method": "totp", "code": totp.now()})
    assert again.status_code == 400 and "already used" in again.content.decode()
    assert "_auth_user_id" not in other.session


@pytest.mark.security("second-factor-guessing")
def test_wrong_codes_lock_the_second_step_with_429_and_retry_after(user, settings):
    totp, _ = enroll_totp(user)
    web = DjangoClient()
    password_step(web, user)
    for _ in range(settings.CIAM_LOGIN_MAX_FAILURES - 1):
        assert web.post("/login/factor", {"method": "totp", "code": "000000"}).status_code == 400
    locked = web.post("/login/factor", {"method": "totp", "code": "000000"})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "Too many wrong codes" in locked.content.decode()
    # Even the right code is not checked while locked; recovery codes count the same way.
    right = web.post("/login/factor", {"method": "totp", "code": totp.now()})
    assert right.status_code == 429 and "_auth_user_id" not in web.session
    assert (
        web.post("/login/factor", {"method": "recovery", "recovery_code": "abcde-23456"}).status_code == 429
    )
    assert AuditEvent.objects.filter(event="mfa.locked", subject=user.email).exists()


def test_the_second_step_expires_with_the_password_step(user):
    enroll_totp(user)
    web = DjangoClient()
    password_step(web, user)
    session = web.session
    session["ciam_pending_factor"] = {**session["ciam_pending_factor"], "at": int(time.time()) - 301}
    session.save()
    assert web.get("/login/factor")["Location"].startswith("/login")


# --- Recovery codes ---------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once_is_audited_and_tells_the_person(user, smtp):
    _, codes = enroll_totp(user)
    digests = set(RecoveryCode.objects.filter(user=user).values_list("digest", flat=True))
    assert len(digests) == 10 and not any(code.replace("-", "") in d for code in codes for d in digests)
    web = DjangoClient()
    password_step(web, user)
    page = web.post("/login/factor", {"method": "recovery", "recovery_code": "nope"})
    assert page.status_code == 400 and "10 letters and digits" in page.content.decode()
    used = web.post("/login/factor", {"method": "recovery", "recovery_code": codes[0].upper()})
    assert used.status_code == 302 and signed_in_record(web)["acr"] == "2"
    assert AuditEvent.objects.filter(event="mfa.recovery_code_used", subject=user.email).exists()
    assert message_with(smtp, user.email, "A recovery code was used to sign in (9 left)")

    other = DjangoClient()
    password_step(other, user)
    reused = other.post("/login/factor", {"method": "recovery", "recovery_code": codes[0]})
    assert reused.status_code == 400 and "already used" in reused.content.decode()


def test_new_recovery_codes_replace_the_old_ones_and_are_shown_once(user, smtp):
    _, old = enroll_totp(user)
    web = DjangoClient()
    password_step(web, user)
    web.post("/login/factor", {"method": "recovery", "recovery_code": old[1]})
    assert web.post("/account/security", {"section": "codes-renew"}).status_code == 302
    page = web.get("/account/security").content.decode()
    assert "Save your recovery codes" in page
    shown = [
        line.split("<li>")[1].split("</li>")[0] for line in page.split("\n") if "data-recovery-codes" in line
    ]
    assert shown  # the list is on one line
    assert "Save your recovery codes" not in web.get("/account/security").content.decode()  # once
    assert not factors.recovery_code_use(user=user, code=old[2], ip_address=None)
    assert message_with(smtp, user.email, "New recovery codes were made")


# --- Changing factors -------------------------------------------------------------------------------


@pytest.mark.security("factor-change-takeover")
def test_changing_factors_needs_a_sign_in_of_the_last_five_minutes_and_tells_the_person(user, smtp):
    totp, _ = enroll_totp(user)
    web = DjangoClient()
    password_step(web, user)
    web.post("/login/factor", {"method": "totp", "code": totp.now()})
    session = web.session
    session[SESSION_KEY] = {**session[SESSION_KEY], "auth_time": int(time.time()) - 301}
    session.save()
    stale = web.post("/account/security", {"section": "totp-remove"})
    assert stale.status_code == 302 and stale["Location"] == "/login?next=%2Faccount%2Fsecurity"
    assert factors.has_second_factor(user)
    assert web.get("/account/security/totp")["Location"].startswith("/login?next=")

    session = web.session
    session[SESSION_KEY] = {**session[SESSION_KEY], "auth_time": int(time.time())}
    session.save()
    assert web.post("/account/security", {"section": "totp-remove"}).status_code == 302
    assert not factors.has_second_factor(user)
    assert not RecoveryCode.objects.filter(user=user).exists()  # no factor left: no stand-in either
    assert message_with(smtp, user.email, "The authenticator app was removed")
    assert AuditEvent.objects.filter(event="mfa.totp_removed", subject=user.email).exists()


def test_setting_up_an_app_on_the_page_shows_the_key_and_takes_its_first_code(user, smtp):
    web = DjangoClient()
    password_step(web, user)
    page = web.get("/account/security/totp")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "data-totp-key" in html
    key = html.split("data-totp-key>")[1].split("<")[0].replace(" ", "")
    wrong = web.post("/account/security/totp", {"code": "123456"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    done = web.post("/account/security/totp", {"code": pyotp.TOTP(key).now()})
    assert done.status_code == 302
    security = web.get("/account/security").content.decode()
    assert "Save your recovery codes" in security and "Authenticator app <span" in security
    # Setting it up proved it: this session is multi-factor from now on.
    assert signed_in_record(web)["acr"] == "2" and "otp" in signed_in_record(web)["amr"]


def test_recovery_by_email_changes_the_password_but_keeps_the_factors(user, smtp):
    enroll_totp(user)
    web = DjangoClient()
    page = web.post("/recovery", {"email": user.email})
    flow = page.context["form"].initial["flow"]
    web.post(
        "/recovery",
        {
            "flow": flow,
            "code": Inbox.code(message_with(smtp, user.email, "choose a new password")),
            "email": user.email,
        },
    )
    new = "a brand new passphrase 77"
    web.post("/recovery/password", {"password": new, "password_confirm": new})
    assert factors.has_second_factor(user)
    after = DjangoClient().post("/login", {"email": user.email, "password": new})
    assert after["Location"].startswith("/login/factor")


# --- Passkeys -----------------------------------------------------------------------------------------


def _options(web, purpose: str) -> dict:
    response = web.post("/passkeys/options", {"purpose": purpose})
    assert response.status_code == 200, response.content
    return response.json()


def add_passkey(web, authenticator: SoftAuthenticator, name: str = "Laptop"):
    options = _options(web, "register")
    return web.post(
        "/account/security",
        {"section": "passkey-add", "credential": authenticator.create(options), "name": name},
    )


def test_a_passkey_is_registered_named_and_signs_in_alone(user, smtp):
    web = DjangoClient()
    password_step(web, user)
    options = _options(web, "register")
    assert options["rp"]["id"] == factors.rp_id() and options["authenticatorSelection"][
        "userVerification"
    ] == ("required")
    key = SoftAuthenticator(factors.expected_origin())
    added = web.post(
        "/account/security", {"section": "passkey-add", "credential": key.create(options), "name": "Laptop"}
    )
    assert added.status_code == 302
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "Laptop" and passkey.credential_id == key.id and not passkey.backup_eligible
    assert message_with(smtp, user.email, "A passkey was added: Laptop")
    # A second one, synced (backup eligible and backed up).
    synced = SoftAuthenticator(factors.expected_origin(), synced=True)
    assert add_passkey(web, synced, "Phone").status_code == 302
    assert Passkey.objects.get(name="Phone").backed_up
    duplicate = add_passkey(web, SoftAuthenticator(factors.expected_origin()), "Phone")
    assert duplicate.status_code == 400 and "already have a passkey named" in duplicate.content.decode()

    # Signing in with it alone: no password, multi-factor (the device checked the person).
    fresh = DjangoClient()
    signed = fresh.post(
        "/login/passkey", {"credential": key.get(_options(fresh, "sign-in")), "next": "/account"}
    )
    assert signed.status_code == 302 and signed["Location"] == "/account"
    record = signed_in_record(fresh)
    assert record["acr"] == "2" and record["amr"] == ["hwk", "user", "mfa"]
    passkey.refresh_from_db()
    assert passkey.sign_count == 1 and passkey.last_used is not None
    phone = DjangoClient()
    phone.post("/login/passkey", {"credential": synced.get(_options(phone, "sign-in"))})
    assert signed_in_record(phone)["amr"] == ["swk", "user", "mfa"]


def test_a_passkey_is_a_second_factor_after_the_password(user):
    web = DjangoClient()
    password_step(web, user)
    key = SoftAuthenticator(factors.expected_origin())
    add_passkey(web, key)
    later = DjangoClient()
    assert password_step(later, user)["Location"].startswith("/login/factor")
    page = later.get("/login/factor").content.decode()
    assert "Use a passkey" in page and "authenticator app" not in page.lower().split("lost your phone")[0]
    options = _options(later, "second")
    assert [c["id"] for c in options["allowCredentials"]] == [key.id]
    done = later.post("/login/factor", {"method": "passkey", "credential": key.get(options)})
    assert done.status_code == 302 and signed_in_record(later)["amr"] == ["pwd", "hwk", "user", "mfa"]


@pytest.mark.security("passkey-assertion-tricks")
def test_bad_passkey_answers_are_refused_with_a_clear_message_and_audited(user):
    other = make_user(email="mallory@example.com")
    origin = factors.expected_origin()
    mine, theirs = SoftAuthenticator(origin), SoftAuthenticator(origin)
    web = DjangoClient()
    password_step(web, user)
    add_passkey(web, mine)
    web_other = DjangoClient()
    password_step(web_other, other)
    add_passkey(web_other, theirs)

    cases = [
        ("another_account", lambda o: theirs.get(o), "belongs to another account"),
        ("challenge", lambda o: mine.get(o, challenge="A" * 43), "belongs to another attempt"),
        ("origin", lambda o: mine.get(o, origin="https://evil.example"), "made for another website"),
        ("rp_id", lambda o: mine.get(o, rp_id="evil.example"), "made for another website"),
    ]
    for reason, answer, message in cases:
        attempt = DjangoClient()
        password_step(attempt, user)
        refused = attempt.post(
            "/login/factor", {"method": "passkey", "credential": answer(_options(attempt, "second"))}
        )
        assert refused.status_code == 400 and message in refused.content.decode(), reason
        assert "_auth_user_id" not in attempt.session
        assert AuditEvent.objects.filter(
            event="mfa.failed", subject=user.email, detail__reason=reason
        ).exists()

    # As the first factor: user verification is required; unknown keys and garbage are refused.
    first = DjangoClient()
    unverified = first.post(
        "/login/passkey", {"credential": mine.get(_options(first, "sign-in"), verified=False)}
    )
    assert unverified.status_code == 400 and "must check it is you" in unverified.content.decode()
    stranger = SoftAuthenticator(origin)
    unknown = first.post("/login/passkey", {"credential": stranger.get(_options(first, "sign-in"))})
    assert unknown.status_code == 400 and "not registered here" in unknown.content.decode()
    garbage = first.post("/login/passkey", {"credential": "{not json"})
    assert garbage.status_code == 400 and "not readable" in garbage.content.decode()
    # Five refusals for her passkey: locked out for a while, even with a right answer.
    locked = first.post("/login/passkey", {"credential": mine.get(_options(first, "sign-in"))})
    assert locked.status_code == 400 and "Too many failed attempts" in locked.content.decode()
    throttle.clear(factors.SECOND_FACTOR, key=str(user.pk))
    # An answer with no ceremony open (its challenge already spent) cannot pass.
    options = _options(first, "sign-in")
    answer = mine.get(options)
    assert first.post("/login/passkey", {"credential": answer}).status_code == 302
    replay = DjangoClient()
    assert replay.post("/login/passkey", {"credential": answer}).status_code == 400
    assert "_auth_user_id" not in replay.session
    assert DjangoClient().post("/passkeys/options", {"purpose": "register"}).status_code == 403
    assert DjangoClient().post("/passkeys/options", {"purpose": "x"}).status_code == 400


# --- Enforcement ------------------------------------------------------------------------------------


def test_acr_values_2_steps_up_a_password_session_with_the_second_factor_only(user, public_client):
    web = DjangoClient()
    password_step(web, user)  # no factor yet: a password session (acr 1)
    totp, _ = enroll_totp(user)
    client = public_client.client
    client.skip_authorization = True
    client.save()
    plain, verifier = code_flow(web, client)
    claims = id_token_claims(tokens(client, plain["Location"], verifier))
    assert claims["acr"] == "1" and claims["amr"] == ["pwd"]

    before = signed_in_record(web)
    stepped, verifier = code_flow(web, client, acr_values="2")
    assert stepped.status_code == 302 and stepped["Location"].startswith("/login/factor?login_challenge=")
    page = web.get(stepped["Location"]).content.decode()
    assert "Two-step verification" in page and 'name="password"' not in page
    challenge = query_of(stepped["Location"])["login_challenge"]
    time.sleep(1)
    done = web.post("/login/factor", {"method": "totp", "code": totp.now(), "login_challenge": challenge})
    claims = id_token_claims(tokens(client, done["Location"], verifier))
    assert claims["acr"] == "2" and claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["auth_time"] > before["auth_time"]  # the time of the last factor
    assert claims["sid"] == before["sid"]  # the same login session, stepped up
    assert AuditEvent.objects.filter(event="mfa.stepped_up", subject=user.email).exists()
    # Now multi-factor, the same request needs nothing more.
    again, _ = code_flow(web, client, acr_values="2")
    assert again["Location"].startswith(CALLBACK)


def test_prompt_none_that_needs_more_than_the_session_has_is_interaction_required(user, public_client):
    web = DjangoClient()
    password_step(web, user)
    public_client.client.skip_authorization = True
    public_client.client.save()
    silent, _ = code_flow(web, public_client.client, acr_values="2", prompt="none")
    assert query_of(silent["Location"])["error"] == "interaction_required"
    # acr_values are alternatives: "1 2" is met by a password; unknown values are ignored.
    either, _ = code_flow(web, public_client.client, acr_values="1 2", prompt="none")
    assert "code" in query_of(either["Location"])
    unknown, _ = code_flow(web, public_client.client, acr_values="urn:example:gold", prompt="none")
    assert "code" in query_of(unknown["Location"])


def test_a_client_that_requires_mfa_sends_a_person_without_a_factor_to_set_one_up_then_back(user, smtp):
    client = make_public_client(client_name="Bank", require_mfa=True, skip_consent=True).client
    web = DjangoClient()
    start, verifier = code_flow(web, client)
    login = start["Location"]
    after = password_step(web, user, login_challenge=query_of(login)["login_challenge"])
    assert after.status_code == 302 and after["Location"] == "/account/security?setup=1"
    page = web.get(after["Location"]).content.decode()
    assert "asks for a second step" in page
    html = web.get("/account/security/totp").content.decode()
    key = html.split("data-totp-key>")[1].split("<")[0].replace(" ", "")
    assert (
        web.post("/account/security/totp", {"code": pyotp.TOTP(key).now()})["Location"] == "/account/security"
    )
    codes_page = web.get("/account/security").content.decode()
    assert "Save your recovery codes" in codes_page and "continue" in codes_page
    back = web.post("/account/security", {"section": "continue"})
    claims = id_token_claims(tokens(client, back["Location"], verifier))
    assert claims["acr"] == "2" and claims["amr"] == ["pwd", "otp", "mfa"]


def test_a_client_that_requires_mfa_asks_a_person_with_a_factor_for_it(user):
    totp, _ = enroll_totp(user)
    client = make_public_client(client_name="Bank", require_mfa=True, skip_consent=True).client
    web = DjangoClient()
    password_step(web, user)
    # The password session is not enough for this client: the second step, not the password.
    web2 = DjangoClient()
    start, verifier = code_flow(web2, client)
    challenge = query_of(start["Location"])["login_challenge"]
    factor = password_step(web2, user, login_challenge=challenge)
    assert factor["Location"] == f"/login/factor?login_challenge={challenge}"
    done = web2.post("/login/factor", {"method": "totp", "code": totp.now(), "login_challenge": challenge})
    assert id_token_claims(tokens(client, done["Location"], verifier))["acr"] == "2"


def test_the_deployment_policy_required_asks_everyone_and_off_turns_factors_off(
    user, settings, public_client
):
    settings.CIAM_MFA = "required"
    web = DjangoClient()
    assert password_step(web, user, next="/account")["Location"] == "/account/security?setup=1"
    public_client.client.skip_authorization = True
    public_client.client.save()
    silent, _ = code_flow(web, public_client.client, prompt="none")
    assert query_of(silent["Location"])["error"] == "interaction_required"

    settings.CIAM_MFA = "off"
    bank = make_public_client(client_name="Bank", require_mfa=True).client
    refused, _ = code_flow(DjangoClient(), bank)
    assert query_of(refused["Location"])["error"] == "access_denied"
    assert "turned off" in query_of(refused["Location"])["error_description"]
    enroll_totp(user)
    off = DjangoClient()
    assert password_step(off, user, next="/account")["Location"] == "/account"  # no second step
    assert "password only" in off.get("/account/security").content.decode()
    assert off.post("/passkeys/options", {"purpose": "sign-in"}).status_code == 404


def test_discovery_lists_the_acr_values(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["acr_values_supported"] == ["1", "2"]


# --- Administrators -------------------------------------------------------------------------------


def test_the_admin_api_lists_and_resets_credentials_never_secrets(user, api, smtp):
    enroll_totp(user)
    web = DjangoClient()
    password_step(web, user)
    base = f"/admin/identities/{user.pk}/credentials"
    totp = api.get(f"{base}/totp").json()
    assert totp["type"] == "totp" and len(totp["credentials"]) == 1
    row = TotpFactor.objects.get(user=user)
    assert row.secret not in json.dumps(totp)
    codes = api.get(f"{base}/lookup_secret").json()["credentials"]
    assert codes == [{"created_at": codes[0]["created_at"], "remaining": 10, "total": 10}]
    assert api.get(f"{base}/passkey").json() == {"type": "passkey", "credentials": []}
    unknown = api.get(f"{base}/password")
    assert (
        unknown.status_code == 404 and "totp, passkey, lookup_secret" in unknown.json()["error_description"]
    )
    assert (
        api.get("/admin/identities/00000000-0000-0000-0000-000000000000/credentials/totp").status_code == 404
    )

    assert api.delete(f"{base}/totp").status_code == 204
    assert not factors.has_second_factor(user) and not RecoveryCode.objects.filter(user=user).exists()
    assert api.get(f"{base}/totp").json()["credentials"] == []
    assert AuditEvent.objects.filter(event="mfa.reset", subject=user.email, detail__type="totp").exists()
    assert message_with(smtp, user.email, "An administrator made this change")
    assert api.delete(f"{base}/totp").status_code == 204  # nothing left: still 204


def test_the_console_shows_a_persons_factors_and_resets_them(user, admin_client, smtp):
    enroll_totp(user)
    page = admin_client.get(f"/console/users/{user.pk}").content.decode()
    assert "Second factors" in page and "Authenticator app" in page and "10 left" in page
    row = TotpFactor.objects.get(user=user)
    assert row.secret not in page
    reset = admin_client.post(f"/console/users/{user.pk}/factors", {"type": "all"})
    assert reset.status_code == 302 and not factors.has_second_factor(user)
    assert "None: signs in with a password" in admin_client.get(f"/console/users/{user.pk}").content.decode()
    assert admin_client.post(f"/console/users/{user.pk}/factors", {"type": "nope"}).status_code == 302


def test_download_my_data_lists_the_sign_in_methods_without_any_secret(user):
    _, codes = enroll_totp(user)
    web = DjangoClient()
    password_step(web, user)
    web.post("/login/factor", {"method": "recovery", "recovery_code": codes[0]})
    add_passkey(web, SoftAuthenticator(factors.expected_origin()), "Laptop")
    answer = web.get("/account/export")
    data = json.loads(answer.content)["sign_in_methods"]
    assert len(data["totp"]) == 1 and data["passkey"][0]["name"] == "Laptop"
    assert data["lookup_secret"][0]["remaining"] == 9
    text = answer.content.decode()
    assert TotpFactor.objects.get(user=user).secret not in text and not any(c in text for c in codes)


def test_the_device_flow_of_a_client_that_requires_mfa_asks_for_the_second_factor(user):
    totp, _ = enroll_totp(user)
    tv = make_public_client(
        client_name="TV", require_mfa=True, grant_types=["urn:ietf:params:oauth:grant-type:device_code"]
    ).client
    started = device_start(tv.client_id)
    # Signed in with the password only (a session from before the factor, say): step up first.
    legacy = DjangoClient()
    legacy.force_login(user)
    entered = enter_code(legacy, started["user_code"])
    assert entered.status_code == 302 and entered["Location"].startswith("/login/factor?next=")
    back = legacy.post(
        "/login/factor", {"method": "totp", "code": totp.now(), "next": query_of(entered["Location"])["next"]}
    )
    assert back.status_code == 302 and back["Location"].startswith("/device?user_code=")
    page = enter_code(legacy, started["user_code"])
    assert page.status_code == 200 and "device_challenge" in page.content.decode()
    assert device_decide(legacy, page).status_code == 200
    assert DeviceGrant.objects.get(client_id=tv.client_id).auth_context["acr"] == "2"
    assert device_poll(tv.client_id, started["device_code"]).json()["access_token"]


def test_with_mfa_required_a_password_session_reaches_the_console_only_after_its_second_factor(settings):
    admin = make_user(email="root@example.com", is_staff=True)
    settings.CIAM_MFA = "required"
    web = DjangoClient()
    assert password_step(web, admin, next="/console/")["Location"] == "/account/security?setup=1"
    # Not set up yet, the person tries the console anyway: the second factor (its set-up) first.
    to_factor = web.get("/console/users/")
    assert to_factor["Location"] == "/login/factor?next=%2Fconsole%2Fusers%2F"
    assert web.get(to_factor["Location"])["Location"] == "/account/security?setup=1"
    totp, _ = enroll_totp(admin)
    assert web.get("/login/factor?next=/console/users/").status_code == 200
    done = web.post("/login/factor", {"method": "totp", "code": totp.now(), "next": "/console/users/"})
    assert done["Location"] == "/console/users/" and web.get("/console/users/").status_code == 200


def test_the_console_user_list_marks_and_filters_people_with_a_second_factor(user, admin_client):
    enroll_totp(user)
    plain = make_user(email="plain@example.com")
    listed = admin_client.get("/console/users/").content.decode()
    row = listed.split(user.email)[1].split("</tr>")[0]
    assert ">2-step<" in row and ">2-step<" not in listed.split(plain.email)[1].split("</tr>")[0]
    with_mfa = admin_client.get("/console/users/?status=mfa").content.decode()
    assert user.email in with_mfa and plain.email not in with_mfa
    without = admin_client.get("/console/users/?status=no-mfa").content.decode()
    assert plain.email in without and user.email not in without


def test_malformed_passkey_answers_are_a_clear_400_never_a_500(user):
    web = DjangoClient()
    password_step(web, user)
    key = SoftAuthenticator(factors.expected_origin())
    add_passkey(web, key)
    good = json.loads(key.get(_options(web, "sign-in")))
    bodies = [
        {"id": key.id},
        {"id": key.id, "response": []},
        {"id": key.id, "response": {"clientDataJSON": 5}},
        {**good, "response": {**good["response"], "authenticatorData": "!!"}},
        {**good, "response": {**good["response"], "signature": ""}},
        {**good, "type": "other"},
        {**good, "response": {**good["response"], "clientDataJSON": "e30"}},
        [1, 2],
    ]
    for body in bodies:
        attempt = DjangoClient()
        _options(attempt, "sign-in")
        throttle.clear(factors.SECOND_FACTOR, key=str(user.pk))
        refused = attempt.post("/login/passkey", {"credential": json.dumps(body)})
        assert refused.status_code == 400, body
        assert "passkey" in refused.content.decode().lower() and "_auth_user_id" not in attempt.session
    for body in ({"id": "x"}, {"id": "x", "response": {"attestationObject": "zz", "clientDataJSON": "e30"}}):
        _options(web, "register")
        added = web.post(
            "/account/security", {"section": "passkey-add", "credential": json.dumps(body), "name": "n"}
        )
        assert added.status_code == 400 and "could not be verified" in added.content.decode()
    assert Passkey.objects.filter(user=user).count() == 1  # nothing half-written

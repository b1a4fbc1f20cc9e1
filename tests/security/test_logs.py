"""Secrets and tokens never reach the logs, at any level.

Every logger (ours, Django's with SQL logging on, oauthlib's, the toolkit's) is turned to DEBUG
and captured, together with everything printed to stdout and stderr, while the service runs the
flows that carry secrets: registration and sign-in (right and wrong passwords), an authenticator
app's key and codes and a recovery code, the authorization
code flow with PKCE, refresh, introspection, userinfo, revocation, the device flow, client
credentials with a generated and a supplied secret, client creation and secret rotation through
the admin API, and refused credentials of every kind. No raw secret may appear in what was
captured.
"""

import logging
import re
import time
from datetime import timedelta

import pyotp
import pytest
from django.db import connection
from django.template import Context, Template
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.api.services import admin_token_create
from ciam.oauth.models import DeviceGrant
from tests.helpers import (
    CALLBACK,
    DEVICE,
    PASSWORD,
    Flow,
    Inbox,
    basic,
    cc,
    enter_code,
    exchange,
    form_post,
    pkce_pair,
    refresh,
)
from tests.helpers import device_decide as decide
from tests.helpers import device_poll as poll
from tests.helpers import device_start as start

pytestmark = [pytest.mark.django_db, pytest.mark.security("secrets-in-logs")]


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        # aiosmtpd's loggers ("mail.log") are the test's mail server's, not this service's: what a
        # mail server logs of the messages it receives is outside the service.
        if not record.name.startswith("mail."):
            self.lines.append(self.format(record))


@pytest.fixture
def captured():
    """Every logger at DEBUG, every record captured (SQL with its parameters too)."""
    handler = Capture()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    saved = [(lg, lg.level, lg.propagate, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False  # each record reaches the handler once, from its own logger
    connection.force_debug_cursor = True
    try:
        yield handler.lines
    finally:
        connection.force_debug_cursor = False
        for lg, level, propagate, disabled in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate
            lg.disabled = disabled


def _admin_api(token):
    web = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")

    def call(method, path, body=None):
        return getattr(web, method)(path, body, content_type="application/json")

    return call


def test_no_secret_or_token_is_logged_at_any_level(
    captured, capfd, user, make_client, settings, smtp, django_capture_on_commit_callbacks
):

    secrets: dict[str, str] = {"password": PASSWORD}

    # People: a registration (its e-mailed code and link), a recovery, a failed and a successful sign-in.
    secrets["new password"] = "a fresh passphrase for bob 7"
    with django_capture_on_commit_callbacks(execute=True):
        response = DjangoClient().post(
            "/registration",
            {
                "email": "bob@example.com",
                "password": secrets["new password"],
                "password_confirm": secrets["new password"],
            },
        )
        assert response.status_code == 200
        DjangoClient().post("/recovery", {"email": user.email})
    for address, name in (("bob@example.com", "verification"), (user.email, "recovery")):
        message = smtp.last(address)
        secrets[f"{name} code"] = Inbox.code(message)
        secrets[f"{name} link token"] = Inbox.link(message).split("token=")[1]
    secrets["wrong password"] = "not the right one at all 3"
    assert (
        DjangoClient()
        .post("/login", {"email": user.email, "password": secrets["wrong password"]})
        .status_code
        == 400
    )
    web = DjangoClient()
    assert web.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 302

    # Second factors: an authenticator app set up on its page, a code, a wrong code, a recovery code.
    page = web.get("/account/security/totp").content.decode()
    secrets["TOTP key"] = page.split("data-totp-key>")[1].split("<")[0].replace(" ", "")
    totp = pyotp.TOTP(secrets["TOTP key"])
    secrets["first TOTP code"] = totp.at(time.time() - 30)
    web.post("/account/security/totp", {"code": secrets["first TOTP code"]})
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", web.get("/account/security").content.decode())
    assert len(codes) == 10
    secrets["recovery code"] = codes[0]
    second = DjangoClient()
    second.post("/login", {"email": user.email, "password": PASSWORD})
    secrets["wrong TOTP code"] = "000000" if totp.now() != "000000" else "111111"
    assert (
        second.post("/login/factor", {"method": "totp", "code": secrets["wrong TOTP code"]}).status_code
        == 400
    )
    secrets["TOTP code"] = totp.now()
    assert second.post("/login/factor", {"method": "totp", "code": secrets["TOTP code"]}).status_code == 302
    third = DjangoClient()
    third.post("/login", {"email": user.email, "password": PASSWORD})
    used = third.post("/login/factor", {"method": "recovery", "recovery_code": secrets["recovery code"]})
    assert used.status_code == 302

    # The authorization code flow with PKCE, a confidential client with a generated secret.
    app = make_client(
        client_name="Web app",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email offline_access",
        redirect_uris=[CALLBACK],
        token_endpoint_auth_method="client_secret_post",
    )
    secrets["client secret"] = app.client_secret
    verifier, challenge = pkce_pair()
    secrets["code verifier"] = verifier
    code = Flow(web).code(app.client.client_id, challenge=challenge, scope="openid email offline_access")
    secrets["authorization code"] = code
    tokens = exchange(
        DjangoClient(), app.client.client_id, code, verifier, client_secret=app.client_secret
    ).json()
    secrets.update(
        {
            "access token": tokens["access_token"],
            "refresh token": tokens["refresh_token"],
            "ID token": tokens["id_token"],
        }
    )
    rotated = refresh(app.client.client_id, tokens["refresh_token"], client_secret=app.client_secret).json()
    secrets.update(
        {"rotated access token": rotated["access_token"], "rotated refresh token": rotated["refresh_token"]}
    )
    reused = refresh(app.client.client_id, tokens["refresh_token"], client_secret=app.client_secret)
    assert reused.status_code == 400
    assert DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {rotated['access_token']}")
    replay = exchange(DjangoClient(), app.client.client_id, code, verifier, client_secret=app.client_secret)
    assert replay.status_code == 400  # a replayed code is logged as a failure, without the code

    # Machine to machine: a generated secret, a supplied secret, a wrong secret.
    m2m = make_client(client_name="m2m", grant_types=["client_credentials"], scope="email ciam:introspect")
    secrets["m2m secret"] = m2m.client_secret
    supplied = "a-supplied-secret-that-is-long-enough-1234"
    secrets["supplied secret"] = supplied
    chosen = make_client(
        client_name="chosen", grant_types=["client_credentials"], scope="email", client_secret=supplied
    )
    secrets["m2m token"] = cc(m2m.client.client_id, m2m.client_secret, scope="email").json()["access_token"]
    secrets["supplied-secret token"] = cc(chosen.client.client_id, supplied).json()["access_token"]
    secrets["wrong secret"] = "ciam_cs_" + "w" * 43
    assert cc(m2m.client.client_id, secrets["wrong secret"]).status_code == 401
    auth = basic(m2m.client.client_id, m2m.client_secret)
    for token in (secrets["m2m token"], rotated["access_token"], "ciam_at_" + "n" * 43):
        assert (
            form_post(
                DjangoClient(), "/oauth2/introspect", {"token": token}, HTTP_AUTHORIZATION=auth
            ).status_code
            == 200
        )
    assert (
        form_post(
            DjangoClient(), "/oauth2/revoke", {"token": secrets["m2m token"]}, HTTP_AUTHORIZATION=auth
        ).status_code
        == 200
    )
    assert (
        DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {secrets['m2m token']}").status_code
        == 401
    )

    # The device flow.
    tv = make_client(
        client_name="TV", token_endpoint_auth_method="none", grant_types=[DEVICE], scope="openid"
    )
    device = start(tv.client.client_id, scope="openid")
    secrets.update({"device code": device["device_code"], "user code": device["user_code"]})
    decide(web, enter_code(web, device["user_code"]))
    DeviceGrant.objects.update(last_polled=timezone.now() - timedelta(seconds=10))
    secrets["device access token"] = poll(tv.client.client_id, device["device_code"]).json()["access_token"]

    # The admin API: a created client's secret, a rotated secret, a refused admin token.
    _, admin_token = admin_token_create(actor=None, name="log test")
    secrets["admin token"] = admin_token
    api = _admin_api(admin_token)
    created = api("post", "/admin/clients", {"client_name": "via api", "grant_types": ["client_credentials"]})
    assert created.status_code == 201
    secrets["API client secret"] = created.json()["client_secret"]
    rotated_secret = api("post", f"/admin/clients/{created.json()['client_id']}/secret")
    assert rotated_secret.status_code == 200, rotated_secret.content
    secrets["API rotated secret"] = rotated_secret.json()["client_secret"]
    secrets["wrong admin token"] = "ciam_pat_" + "z" * 43
    assert _admin_api(secrets["wrong admin token"])("get", "/admin/clients").status_code == 401

    out, err = capfd.readouterr()
    text = "\n".join(captured) + "\n" + out + "\n" + err
    assert len(captured) > 100, "the capture should have seen SQL and request logging"
    assert re.search(r"SELECT|INSERT", text), "SQL logging was expected to be on"
    leaked = {name: value for name, value in secrets.items() if value in text}
    # Parts of a token (its random body without the prefix, or a JWT's signature) leak too.
    for name, value in secrets.items():
        body = value.split("_")[-1] if value.startswith("ciam_") else value.split(".")[-1]
        if len(body) >= 16 and body in text:
            leaked.setdefault(name, value)
    assert not leaked, f"these reached the logs: {sorted(leaked)}"


def test_a_token_in_a_log_call_is_cut_to_its_prefix_for_any_handler(caplog):
    access, jwt = "ciam_at_" + "A1-_" * 11, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    logger = logging.getLogger("some.library")
    with caplog.at_level(logging.DEBUG):
        logger.debug("issuing %s and %r", access, {"id_token": jwt, "refresh_token": "ciam_rt_secretpart"})
        try:
            raise ValueError(f"bad token {access}")
        except ValueError:
            logger.exception("failed")
    text = caplog.text + "".join(logging.Formatter().format(r) for r in caplog.records)
    assert "ciam_at_[redacted]" in text and "ciam_rt_[redacted]" in text and "eyJ[redacted]" in text
    assert access not in text and "secretpart" not in text and "c2lnbmF0dXJl" not in text
    assert "ValueError" in text  # the exception is still reported, without the token


def test_a_pages_context_never_reaches_the_logs_with_an_undefined_variable(caplog):
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with caplog.at_level(logging.DEBUG, logger="django.template"):
        html = Template("{{ missing }}<p>{{ key }}</p>").render(Context({"key": secret}))
    assert secret in html
    assert any("missing" in r.getMessage() for r in caplog.records)  # the variable's name is kept
    assert secret not in caplog.text and all(r.exc_info is None for r in caplog.records)

"""Helpers shared by the tests: protocol requests, flows through the pages, live servers,
the browser's callback. Tests import them from here; fixtures are in conftest.py."""

import base64
import contextlib
import email
import email.policy
import fcntl
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import psycopg
import pytest
import requests
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.test import Client as DjangoClient
from django.test import TestCase, override_settings
from django.utils import timezone
from jwcrypto import jwk

from ciam.accounts.authn import SESSION_KEY
from ciam.lib.crypto import token_checksum
from ciam.oauth.models import AccessToken
from clients.services import client_create

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple 42"
CALLBACK = "http://127.0.0.1:8765/callback"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


# --- Requests -----------------------------------------------------------------------------------


def form_post(web: DjangoClient, path: str, data: dict, **extra):
    """POST form-encoded (the protocol's content type; Django's test client defaults to multipart)."""
    return web.post(
        path, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded", **extra
    )


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_query(client_id: str, challenge: str, **params) -> dict[str, str]:
    """An authorization request's parameters: code with PKCE, `state` s1, to CALLBACK."""
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }


def authorize_params(
    client_id: str,
    *,
    challenge: str | None = None,
    redirect_uri: str = CALLBACK,
    scope: str = "openid",
    **extra,
) -> dict:
    """The query of an authorization request (code flow, S256 when a challenge is given)."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def cc(client_id, secret, *, via="basic", **data):
    """A client-credentials token request (client_secret_basic, or `via="post"`)."""
    body = {"grant_type": "client_credentials", **data}
    if via == "basic":
        return form_post(DjangoClient(), "/oauth2/token", body, HTTP_AUTHORIZATION=basic(client_id, secret))
    return form_post(
        DjangoClient(), "/oauth2/token", {**body, "client_id": client_id, "client_secret": secret}
    )


def exchange(web, client_id, code, verifier, *, redirect_uri=CALLBACK, authorization=None, **extra):
    """An authorization code's exchange at the token endpoint (None values are left out);
    `authorization`: an Authorization header (e.g. `basic(...)`)."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    data.update(extra)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return form_post(web, "/oauth2/token", {k: v for k, v in data.items() if v is not None}, **headers)


def refresh(client_id, refresh_token, **extra):
    return form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **extra},
    )


def introspect_as(client_id: str, secret: str, token: str, **extra):
    return form_post(
        DjangoClient(),
        "/oauth2/introspect",
        {"token": token, **extra},
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


# --- Flows through the pages --------------------------------------------------------------------


class Flow:
    """Drives /oauth2/auth through consent with Django's test client; returns the code."""

    def __init__(self, web: DjangoClient):
        self.web = web

    def authorize(
        self,
        client_id: str,
        *,
        redirect_uri: str = CALLBACK,
        scope: str = "openid",
        challenge: str | None = None,
        state: str = "st-123",
        extra: dict | None = None,
    ):
        params = authorize_params(
            client_id,
            challenge=challenge,
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            **(extra or {}),
        )
        return self.web.get("/oauth2/auth", params)

    def code(self, client_id: str, **kwargs) -> str:
        response = self.authorize(client_id, **kwargs)
        assert response.status_code == 302, response.content
        location = response["Location"]
        if location.startswith("/consent"):
            challenge = query_of(location)["consent_challenge"]
            response = self.web.post(
                "/consent",
                {
                    "consent_challenge": challenge,
                    "allow": "1",
                    "grant_scope": kwargs.get("scope", "openid").split(),
                },
            )
            assert response.status_code == 302, response.content
            location = response["Location"]
        params = query_of(location)
        assert "code" in params, location
        return params["code"]


def tokens_for(flow: Flow, client, *, scope="openid profile email") -> dict:
    """The token response of a code exchange by a public `client` through `flow`."""
    verifier, challenge = pkce_pair()
    code = flow.code(client.client_id, challenge=challenge, scope=scope)
    response = exchange(DjangoClient(), client.client_id, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def confidential_tokens(flow: Flow, confidential_client) -> dict:
    """The token response of a code exchange by the `confidential_client` fixture (client_secret_post)."""
    verifier, challenge = pkce_pair()
    client = confidential_client.client
    code = flow.code(client.client_id, challenge=challenge, redirect_uri="https://app.example.com/callback")
    response = exchange(
        DjangoClient(),
        client.client_id,
        code,
        verifier,
        redirect_uri="https://app.example.com/callback",
        client_secret=confidential_client.client_secret,
    )
    assert response.status_code == 200, response.content
    return response.json()


def signed_in(user, *, auth_age: int = 0) -> DjangoClient:
    """A test client signed in as `user` through /login (`auth_age`: that long ago, in seconds)."""
    web = DjangoClient()
    web.post("/login", {"email": user.email, "password": PASSWORD})
    if auth_age:
        session = web.session
        session[SESSION_KEY] = {**session[SESSION_KEY], "auth_time": int(time.time()) - auth_age}
        session.save()
    return web


def authorize(web, client_id, **params):
    """GET /oauth2/auth for `client_id` (PKCE, to CALLBACK, `state` s1)."""
    _, challenge = pkce_pair()
    return web.get("/oauth2/auth", authorization_query(client_id, challenge, **params))


def consent(web, location, *, scopes=None, remember=True, deny=False):
    """Answer the consent page at `location`."""
    challenge = query_of(location)["consent_challenge"]
    data = {"consent_challenge": challenge, "deny" if deny else "allow": "1"}
    if scopes is not None:
        data["grant_scope"] = scopes
    if remember:
        data["remember"] = "on"
    return web.post("/consent", data)


def device_start(client_id, scope="openid email"):
    response = form_post(DjangoClient(), "/oauth2/device/auth", {"client_id": client_id, "scope": scope})
    assert response.status_code == 200, response.content
    return response.json()


def device_poll(client_id, device_code):
    return form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": DEVICE, "device_code": device_code, "client_id": client_id},
    )


def enter_code(web, user_code):
    return web.post("/device", {"user_code": user_code})


def device_decide(web, page, *, allow=True, scopes=None):
    challenge = re.search(r'name="device_challenge" value="([^"]+)"', page.content.decode()).group(1)
    data = {"device_challenge": challenge, "allow" if allow else "deny": "1", "remember": "on"}
    if scopes is not None:
        data["grant_scope"] = scopes
    return web.post("/device", data)


def jwks_set() -> jwk.JWKSet:
    return jwk.JWKSet.from_json(DjangoClient().get("/.well-known/jwks.json").content.decode())


# --- Rows --------------------------------------------------------------------------------------


def access_token_row(client, user=None, **fields):
    """An access-token row stored as the token endpoint stores it (a digest), and its raw value."""
    raw = "ciam_at_" + secrets.token_urlsafe(32)
    row = {
        "token": "",
        "application": client,
        "user": user,
        "expires": timezone.now() + timedelta(hours=1),
        "scope": "openid email",
        "resource": [],
        **fields,
    }
    return AccessToken.objects.create(token_checksum=token_checksum(raw), **row), raw


def live_m2m_token(issuer: str, client_name: str = "m2m"):
    """A new client-credentials client and a token it got from the live server at `issuer`."""
    result = client_create(actor_label="tests", client_name=client_name, grant_types=["client_credentials"])
    token = requests.post(
        f"{issuer}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(result.client.client_id, result.client_secret),
        timeout=10,
    ).json()["access_token"]
    return result, token


# --- The database -------------------------------------------------------------------------------


def on_postgresql(why: str):
    """Skip unless the tests run on PostgreSQL (CI does), saying why they need it."""
    return pytest.mark.skipif(
        connection.vendor != "postgresql", reason=f"{why}: run with DATABASE_URL=postgres://... (CI does)"
    )


def second_connection() -> psycopg.Connection:
    """Another connection to the test's PostgreSQL database, outside Django's (autocommit)."""
    settings_dict = connection.settings_dict
    return psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        autocommit=True,
    )


def terminate_backend(pid: int) -> None:
    """End a PostgreSQL backend, as a server restart or a network cut would."""
    with second_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


# --- Live servers (uWSGI with deploy/uwsgi.ini, DEBUG off, on the test database) -----------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def workers_of(pid: int) -> list[int]:
    """The worker processes of a uWSGI master process (Linux)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


class Server:
    """One app server (a uWSGI master with `workers` processes) serving the test database."""

    def __init__(self, *, db_port: int | None = None, workers: int = 2, database_url: str = "", **env: str):
        """`db_port`: reach the test database through a relay on 127.0.0.1:db_port instead.
        `database_url` and env["SECRET_KEY"]: serve another database (bench/soak.py)."""
        if not database_url:
            db = connection.settings_dict
            host = "127.0.0.1" if db_port else db["HOST"] or "127.0.0.1"
            database_url = (
                f"postgres://{db['USER'] or 'postgres'}@{host}:{db_port or db['PORT'] or 5432}/{db['NAME']}"
            )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CIAM_")},
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "600",
            "DEBUG": "false",
            # The client secrets' pepper derives from it: the tests' own, unless given.
            "SECRET_KEY": env.get("SECRET_KEY") or settings.SECRET_KEY,
            "CIAM_ISSUER": self.url,
            "ALLOWED_HOSTS": "127.0.0.1",
            **env,
        }
        command = [str(Path(sys.executable).with_name("uwsgi")), "--ini", str(ROOT / "deploy" / "uwsgi.ini")]
        command += ["--http-socket", f"127.0.0.1:{self.port}", "--processes", str(workers)]
        # Its log goes to a file: a pipe nobody reads would fill up under load and stall the server.
        # In append mode: the master and every worker write to it, and without O_APPEND two of
        # them can write at the same offset, one line over another.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by stop()
        fcntl.fcntl(
            self.log.fileno(), fcntl.F_SETFL, fcntl.fcntl(self.log.fileno(), fcntl.F_GETFL) | os.O_APPEND
        )
        self.output = ""
        self.process = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, text=True
        )
        if not wait_until(lambda: requests.get(f"{self.url}/health/alive", timeout=2).ok):
            self.stop()
            raise AssertionError(f"the server did not start:\n{self.output}")

    def log_so_far(self) -> str:
        """What the server has logged until now (it keeps running)."""
        self.log.flush()
        with open(f"/proc/self/fd/{self.log.fileno()}") as current:
            return current.read()

    def stop(self) -> str:
        """Stop the server; return what it printed (again, if it was already stopped)."""
        if self.log.closed:
            return self.output
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.seek(0)
        self.output = self.log.read()
        self.log.close()
        return self.output


class Relay:
    """Forwards 127.0.0.1:port to the database; `cut()` is the outage, `restore()` its end."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
            self.listener.close()
            self.listener = None
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            self.sockets += [downstream, upstream]
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# --- The browser (Playwright driving Debian's Chromium) -------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


class Callback:
    """A client's redirect endpoint: records the URLs the browser is sent to."""

    def __init__(self, port: int = 0):
        self.urls: list[str] = []
        recorded = self.urls

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                if not self.path.startswith("/favicon"):
                    recorded.append(f"http://127.0.0.1:{self.server.server_port}{self.path}")
                body = b"<!doctype html><title>Client</title><h1>Callback received</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def shot(page, name: str) -> None:
    folder = os.environ.get("CIAM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def call(web, method, path, body=None, **extra):
    """One admin-API call with a JSON body (none for GET and DELETE)."""
    if body is None or method in ("get", "delete"):
        return getattr(web, method)(path, **extra)
    return getattr(web, method)(path, json.dumps(body), content_type="application/json", **extra)


def admin_endpoints(client_id="c-x", identity=None):
    """(method, path) of every admin API endpoint."""
    identity = identity or uuid.uuid4()
    return [
        ("get", "/admin/clients"),
        ("post", "/admin/clients"),
        ("get", f"/admin/clients/{client_id}"),
        ("put", f"/admin/clients/{client_id}"),
        ("patch", f"/admin/clients/{client_id}"),
        ("delete", f"/admin/clients/{client_id}"),
        ("post", f"/admin/clients/{client_id}/secret"),
        ("post", "/admin/oauth2/introspect"),
        ("delete", f"/admin/oauth2/tokens?client_id={client_id}"),
        ("get", "/admin/oauth2/auth/sessions/consent?subject=x"),
        ("delete", "/admin/oauth2/auth/sessions/consent?subject=x&all=true"),
        ("get", "/admin/keys/hydra.openid.id-token"),
        ("post", "/admin/keys/hydra.openid.id-token"),
        ("get", "/admin/identities"),
        ("post", "/admin/identities"),
        ("get", f"/admin/identities/{identity}"),
        ("patch", f"/admin/identities/{identity}"),
        ("delete", f"/admin/identities/{identity}"),
        ("get", "/admin/version"),
        ("get", "/admin/openapi.json"),
    ]


def introspect(client_result, token, **extra):
    """POST /oauth2/introspect authenticated as `client_result` (a ClientWithSecret)."""
    return form_post(
        DjangoClient(),
        "/oauth2/introspect",
        {"token": token, **extra},
        HTTP_AUTHORIZATION=basic(client_result.client.client_id, client_result.client_secret),
    )


def live_device_start(issuer: str, name: str = "Living-room TV"):
    """A public device client, and the device authorization it asked a live server for."""
    client = client_create(
        client_name=name,
        token_endpoint_auth_method="none",
        grant_types=[DEVICE],
        scope="openid email",
    ).client
    started = requests.post(
        f"{issuer}/oauth2/device/auth",
        data={"client_id": client.client_id, "scope": "openid email"},
        timeout=10,
    ).json()
    return client, started


class Inbox:
    """A real SMTP server on loopback (aiosmtpd, in this process): the messages it received."""

    def __init__(self):
        self.messages: list = []
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        self.port = self._controller.port

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def close(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in str(m["To"])]

    def last(self, address: str, *, timeout: float = 10.0):
        """The latest message to `address` (waiting a little for it: mail leaves after commit)."""
        assert wait_until(lambda: self.to(address), timeout=timeout), f"no message to {address}"
        return self.to(address)[-1]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @classmethod
    def link(cls, message) -> str:
        return re.search(r"(https?://\S+\?token=[A-Za-z0-9_\-]+)", cls.text(message)).group(1)

    @classmethod
    def code(cls, message) -> str:
        return re.search(r"code[^0-9]*([0-9]{6})", cls.text(message)).group(1)


def register_verified(web, email: str, password: str = "a sturdy passphrase 9", **fields):
    """Register at /registration, read the code the real message carries (an SMTP server of its
    own, for this call) and enter it: the answer to the verification, which signs the person in."""
    inbox = Inbox()
    mail_to_inbox = override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=inbox.port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
    )
    try:
        with mail_to_inbox, TestCase.captureOnCommitCallbacks(execute=True):
            page = web.post(
                "/registration",
                {"email": email, "password": password, "password_confirm": password, **fields},
            )
        assert page.status_code == 200, page.status_code
        code = Inbox.code(inbox.last(email))
    finally:
        inbox.close()
    return web.post("/verification", {"flow": page.context["form"].initial["flow"], "code": code})

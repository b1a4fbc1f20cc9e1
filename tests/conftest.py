"""Shared fixtures: users, clients (made through the services), PKCE helpers, a live issuer."""

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import django.test.testcases
import psycopg
import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client as DjangoClient
from django.test.client import ClientHandler
from django.utils import timezone

from ciam.accounts.models import User
from ciam.oauth import fastpath
from clients.services import ClientWithSecret, client_create

# Every request goes through the WSGI fast path first (ciam.oauth.fastpath), as under uWSGI: the
# live server runs the production handler, and the test client below asks the fast path before
# Django's handler. So every token and introspection test also tests the fast path.
django.test.testcases.WSGIHandler = fastpath.FastPathHandler
_django_client_call = ClientHandler.__call__


def _client_call_through_the_fast_path(self, environ):
    # As ClientHandler does around Django's handler: the test's connection stays open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        served = fastpath.answer(environ)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    if served is None:
        return _django_client_call(self, environ)
    status, headers, body = served
    response = HttpResponse(body, status=int(status[:3]))
    del response["Content-Type"]
    for name, value in headers:
        response[name] = value
    response.wsgi_request = WSGIRequest(environ)
    response.ciam_fast_path = True
    return response


ClientHandler.__call__ = _client_call_through_the_fast_path

PASSWORD = "correct horse battery staple 42"
CALLBACK = "http://127.0.0.1:8765/callback"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # People's passwords use a fast hasher in tests; the client-secret hashers stay real, since
    # which of them runs is part of what the tests check.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "ciam.oauth.hashers.PasswordArgon2Hasher",
        "ciam.oauth.hashers.GeneratedSecretHasher",
    ]


@pytest.fixture(autouse=True)
def _no_admin_auth_throttle(settings):
    # Many tests send refused admin credentials from 127.0.0.1 on purpose; the throttle has its
    # own tests (tests/api/test_admin_auth_throttle.py), which set the limit they exercise.
    settings.CIAM_ADMIN_AUTH_MAX_FAILURES = 10_000


@pytest.fixture(autouse=True)
def _count_every_token(settings):
    # The dashboard's issuance counter flushes at once in tests (in production: every 2 s).
    settings.CIAM_STATS_FLUSH_SECONDS = 0


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user(
        email="alice@example.com",
        password=PASSWORD,
        name="Alice Liddell",
        given_name="Alice",
        family_name="Liddell",
        email_verified=True,
    )


@pytest.fixture
def make_client(db):
    """Register a client through clients.services; keyword arguments are Hydra's field names."""

    def make(**fields) -> ClientWithSecret:
        return client_create(actor_label="tests", **fields)

    return make


@pytest.fixture
def public_client(make_client) -> ClientWithSecret:
    return make_client(
        client_name="Public CLI",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email",
        redirect_uris=[CALLBACK],
    )


@pytest.fixture
def confidential_client(make_client) -> ClientWithSecret:
    return make_client(
        client_name="Server App",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email offline_access",
        redirect_uris=["https://app.example.com/callback"],
        post_logout_redirect_uris=["https://app.example.com/bye"],
        token_endpoint_auth_method="client_secret_post",
    )


@pytest.fixture
def resource_server(make_client) -> ClientWithSecret:
    """A resource server: may introspect any client's tokens (the `ciam:introspect` scope)."""
    return make_client(client_name="API", grant_types=["client_credentials"], scope="ciam:introspect")


@pytest.fixture
def m2m_client(make_client) -> ClientWithSecret:
    return make_client(
        client_name="Machine",
        grant_types=["client_credentials"],
        scope="email",
        token_endpoint_auth_method="client_secret_basic",
    )


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


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def basic(client_id: str, secret: str) -> str:
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@pytest.fixture
def browser(user) -> DjangoClient:
    """A Django test client signed in as `user`."""
    web = DjangoClient()
    web.force_login(user)
    return web


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


@pytest.fixture
def flow(browser) -> Flow:
    return Flow(browser)


def form_post(web: DjangoClient, path: str, data: dict, **extra):
    """POST form-encoded (the protocol's content type; Django's test client defaults to multipart)."""
    from urllib.parse import urlencode

    return web.post(
        path, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded", **extra
    )


@pytest.fixture
def live_issuer(live_server, settings):
    """A live server whose issuer (discovery, `iss`) is its own URL."""
    settings.CIAM_ISSUER = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return live_server.url


def live_m2m_token(issuer: str, client_name: str = "m2m"):
    """A new client-credentials client and a token it got from the live server at `issuer`."""
    import requests

    result = client_create(actor_label="tests", client_name=client_name, grant_types=["client_credentials"])
    token = requests.post(
        f"{issuer}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(result.client.client_id, result.client_secret),
        timeout=10,
    ).json()["access_token"]
    return result, token


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    # Each test starts as a fresh process would: no remembered signing key or discovery document.
    from ciam.oauth import keys, views

    keys.forget_current_key()
    views._DISCOVERY = None
    yield


def access_token_row(client, user=None, **fields):
    """An access-token row stored as the token endpoint stores it (a digest), and its raw value."""
    from ciam.oauth.crypto import token_checksum
    from ciam.oauth.models import AccessToken

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


def second_connection() -> psycopg.Connection:
    """Another connection to the test's PostgreSQL database, outside Django's (autocommit)."""
    from django.db import connection

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

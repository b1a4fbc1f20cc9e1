"""Fixtures: people (an owner, another person, an outsider, an administrator), clients made
through the services, signed-in browsers, a live issuer. Helpers are in tests/helpers.py,
factories in tests/factories.py."""

import pytest
from django.test import Client as DjangoClient

from ciam.accounts.models import User
from ciam.api.services import admin_token_create
from ciam.oauth import client_lookup, keys
from ciam.oauth.views import discovery
from clients.services import ClientWithSecret
from tests.factories import make_client as create_client
from tests.factories import make_m2m_client, make_public_client, make_user
from tests.helpers import Flow, Inbox


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # People's passwords use a fast hasher in tests; the client-secret hashers stay real, since
    # which of them runs is part of what the tests check.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "ciam.accounts.hashers.PasswordArgon2Hasher",
        "ciam.accounts.hashers.GeneratedSecretHasher",
    ]


@pytest.fixture(autouse=True)
def _no_admin_auth_throttle(settings):
    # Many tests send refused admin credentials from 127.0.0.1 on purpose; the throttle has its
    # own tests (tests/api/test_authentication.py), which set the limit they exercise.
    settings.CIAM_ADMIN_AUTH_MAX_FAILURES = 10_000


@pytest.fixture(autouse=True)
def _count_every_token(settings):
    # The dashboard's issuance counter flushes at once in tests (in production: every 2 s).
    settings.CIAM_STATS_FLUSH_SECONDS = 0


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    # Each test starts as a fresh process would: no remembered signing key, discovery document
    # or kept client.
    keys.forget_current_key()
    discovery.forget_discovery()
    client_lookup.forget_all()


# --- People -------------------------------------------------------------------------------------


@pytest.fixture
def user(db) -> User:
    """The person a test is about (signs in, owns the consents and tokens)."""
    return make_user(
        email="alice@example.com",
        name="Alice Liddell",
        given_name="Alice",
        family_name="Liddell",
        email_verified=True,
    )


@pytest.fixture
def other_user(db) -> User:
    """Another person with an account of their own: must never reach the first one's things."""
    return make_user(email="bob@example.com", name="Bob", email_verified=True)


@pytest.fixture
def outsider(db) -> User:
    """A person signed in but without any special right (no staff flag)."""
    return make_user(email="mallory@example.com", name="Mallory")


@pytest.fixture
def admin(db) -> User:
    """A console administrator (staff)."""
    return make_user(email="admin@example.com", name="Admin", is_staff=True)


@pytest.fixture
def console(admin) -> DjangoClient:
    """A Django test client signed in as `admin`."""
    web = DjangoClient()
    web.force_login(admin)
    return web


@pytest.fixture
def browser(user) -> DjangoClient:
    """A Django test client signed in as `user`."""
    web = DjangoClient()
    web.force_login(user)
    return web


@pytest.fixture
def flow(browser) -> Flow:
    return Flow(browser)


# --- Clients ------------------------------------------------------------------------------------


@pytest.fixture
def make_client(db):
    """Register a client through clients.services; keyword arguments are Hydra's field names."""
    return create_client


@pytest.fixture
def public_client(db) -> ClientWithSecret:
    return make_public_client()


@pytest.fixture
def confidential_client(db) -> ClientWithSecret:
    return create_client(
        client_name="Server App",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email offline_access",
        redirect_uris=["https://app.example.com/callback"],
        post_logout_redirect_uris=["https://app.example.com/bye"],
        token_endpoint_auth_method="client_secret_post",
    )


@pytest.fixture
def resource_server(db) -> ClientWithSecret:
    """A resource server: may introspect any client's tokens (the `ciam:introspect` scope)."""
    return create_client(client_name="API", grant_types=["client_credentials"], scope="ciam:introspect")


@pytest.fixture
def m2m_client(db) -> ClientWithSecret:
    return make_m2m_client()


# --- A live server ------------------------------------------------------------------------------


@pytest.fixture
def live_issuer(live_server, settings):
    """A live server whose issuer (discovery, `iss`) is its own URL."""
    settings.CIAM_ISSUER = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return live_server.url


@pytest.fixture
def admin_bearer(db) -> str:
    """An Authorization header value with a fresh admin API token."""
    return f"Bearer {admin_token_create(actor=None, name='tests')[1]}"


@pytest.fixture
def api(admin_bearer) -> DjangoClient:
    """A test client authenticated to the admin API."""
    return DjangoClient(HTTP_AUTHORIZATION=admin_bearer)


@pytest.fixture
def smtp(settings):
    """Mail goes to a real SMTP server on loopback; the fixture is its inbox."""
    inbox = Inbox()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = inbox.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    inbox.close()

"""Hostile input, property-based (Hypothesis): random and malformed parameters, repeated ones, huge
values, wrong methods and content types, bytes that are not UTF-8. Every answer is a 4xx (an RFC
6749 error for the protocol endpoints, the error page for the authorization endpoint), never a
500, and a refused request changes nothing in the database."""

import os
from urllib.parse import quote_from_bytes

import pytest
from django.db import connection
from django.test import Client as DjangoClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciam.oauth.models import AccessToken, DeviceGrant, Grant, IDToken, RefreshToken
from clients.models import Client
from consent.models import Consent

pytestmark = pytest.mark.django_db

# CI replays the same examples every run (derandomized); a developer's run explores new ones.
HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PARAMETERS = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "code_verifier",
    "refresh_token",
    "scope",
    "token",
    "token_type_hint",
    "device_code",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "nonce",
    "id_token_hint",
    "login_hint",
    "post_logout_redirect_uri",
    "audience",
    "resource",
]
GRANTS = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "",
    "x" * 300,
]

values = st.one_of(
    st.sampled_from(GRANTS),
    st.text(max_size=50),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1000, max_size=5000),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "ciam_at_x",
            "ciam_rt_x",
            "ciam_ac_x",
            "c-nope",
            "S256",
            "plain",
            "none login",
            "http://evil.example/cb",
            "javascript:alert(1)",
            "-1",
            "1e9",
            "%00",
            "é☃",
            "\r\nX: y",
        ]
    ),
)
pairs = st.lists(st.tuples(st.sampled_from(PARAMETERS), values), max_size=12)


def raw_body(items, extra_bytes: bytes) -> bytes:
    """A form body, possibly with repeated keys and raw bytes that are not UTF-8."""
    parts = [
        f"{quote_from_bytes(k.encode())}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}"
        for k, v in items
    ]
    return "&".join(parts).encode() + extra_bytes


def snapshot() -> tuple:
    return (
        Client.objects.count(),
        AccessToken.objects.count(),
        RefreshToken.objects.count(),
        Grant.objects.count(),
        IDToken.objects.count(),
        DeviceGrant.objects.count(),
        Consent.objects.count(),
    )


def assert_refused_cleanly(response, *, json_error: bool) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert 400 <= response.status_code < 500 or response.status_code in (200, 302), response.status_code
    if json_error and response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str) and body["error"]


POST_ENDPOINTS = ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/oauth2/device/auth"]


@pytest.fixture
def victims(db, make_client):
    """Real clients, so random input sometimes names a client that exists."""
    make_client(
        client_id="c-public",
        client_name="p",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        redirect_uris=["http://127.0.0.1:8765/callback"],
        scope="openid email",
    )
    make_client(
        client_id="c-confidential",
        client_name="c",
        grant_types=["client_credentials"],
        scope="email",
        client_secret="a chosen secret, long enough to pass",
    )


@pytest.mark.parametrize("path", POST_ENDPOINTS)
@given(
    items=pairs,
    junk=st.binary(max_size=20),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ]
    ),
)
@HYPOTHESIS
def test_protocol_posts_never_fail_and_refusals_write_nothing(victims, path, items, junk, content_type):
    before = snapshot()
    response = DjangoClient().generic("POST", path, raw_body(items, junk), content_type=content_type)
    assert_refused_cleanly(response, json_error=True)
    if response.status_code >= 400:
        assert snapshot() == before


@pytest.mark.parametrize(
    "path", ["/oauth2/auth", "/oauth2/sessions/logout", "/userinfo", "/device", "/consent"]
)
@given(items=pairs, method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
@HYPOTHESIS
def test_pages_and_get_endpoints_never_fail(victims, user, path, items, method):
    web = DjangoClient()
    web.force_login(user)
    before = snapshot()
    query = raw_body(items, b"").decode("ascii")
    response = web.generic(
        method, f"{path}?{query}", raw_body(items, b""), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert snapshot() == before


@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]))
@HYPOTHESIS
def test_wrong_methods_on_post_endpoints_are_4xx(victims, method):
    for path in POST_ENDPOINTS:
        response = DjangoClient().generic(method, path)
        assert 400 <= response.status_code < 500 or (method == "OPTIONS" and response.status_code == 200), (
            method,
            path,
            response.status_code,
        )


@given(
    token=st.one_of(st.text(max_size=200), st.binary(max_size=60).map(lambda b: b.decode("latin-1"))),
    scheme=st.sampled_from(["Bearer", "bearer", "Basic", "", "Token"]),
)
@HYPOTHESIS
def test_malformed_authorization_headers_never_fail(victims, token, scheme):
    header = f"{scheme} {token}".encode("utf-8", "surrogatepass").decode("latin-1")
    for path, method in (
        ("/userinfo", "GET"),
        ("/oauth2/token", "POST"),
        ("/oauth2/introspect", "POST"),
        ("/admin/clients", "GET"),
    ):
        response = DjangoClient().generic(
            method,
            path,
            b"grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=header,
        )
        assert 400 <= response.status_code < 500, (path, response.status_code, response.content[:200])


def test_the_database_is_reachable_after_the_storm(victims):
    # A guard that the property runs above did not leave the connection in a broken transaction.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)

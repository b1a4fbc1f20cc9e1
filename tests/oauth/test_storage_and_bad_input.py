"""Nothing usable at rest; every bad request answered with an RFC 6749 error, never a 500."""

import base64

import pytest
from django.db import connection
from django.test import Client as DjangoClient

from tests.helpers import basic, cc, exchange, form_post, pkce_pair

pytestmark = pytest.mark.django_db


def dump_database() -> str:
    """Every text value of every table, as a database dump would show them."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.extend(str(value) for value in row if value is not None)
    return "\n".join(chunks)


def test_raw_tokens_codes_and_secrets_appear_nowhere_in_the_database(flow, public_client, m2m_client):
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, scope="openid email")
    user_tokens = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()
    rotated = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": user_tokens["refresh_token"],
            "client_id": public_client.client.client_id,
        },
    ).json()
    machine = cc(m2m_client.client.client_id, m2m_client.client_secret).json()

    dump = dump_database()

    secrets_issued = [
        code,
        user_tokens["access_token"],
        user_tokens["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
        machine["access_token"],
        m2m_client.client_secret,
    ]
    for value in secrets_issued:
        assert value not in dump
        # Nor the random part without its prefix.
        assert value.split("_", 2)[-1] not in dump


# --- Bad input -------------------------------------------------------------------------------------

POST_ENDPOINTS = ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"]  # /admin: tests/api


def assert_oauth_error(response, *statuses):
    assert response.status_code in (statuses or range(400, 500)), (response.status_code, response.content)
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_wrong_methods_get_a_json_405(path):
    for method in ("get", "put", "delete", "patch"):
        response = getattr(DjangoClient(), method)(path)
        body = assert_oauth_error(response, 405)
        assert body["error"] == "invalid_request"
        assert response["Allow"] == "POST"


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_a_json_body_is_refused_with_invalid_request(path):
    response = DjangoClient().post(
        path, {"grant_type": "client_credentials"}, content_type="application/json"
    )
    assert assert_oauth_error(response, 400)["error"] == "invalid_request"


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_a_repeated_parameter_is_refused(path):
    response = DjangoClient().post(
        path, "token=a&token=b&grant_type=x&grant_type=y", content_type="application/x-www-form-urlencoded"
    )
    body = assert_oauth_error(response, 400)
    assert body["error"] == "invalid_request"
    assert "more than once" in body["error_description"]


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_a_huge_body_is_refused(path):
    response = DjangoClient().post(
        path, "token=" + "a" * 3_000_000, content_type="application/x-www-form-urlencoded"
    )
    assert_oauth_error(response, 400, 401, 413)


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_non_utf8_bytes_are_answered_with_an_error(path):
    response = DjangoClient().post(
        path, b"grant_type=\xff\xfe&token=\xc3\x28", content_type="application/x-www-form-urlencoded"
    )
    assert_oauth_error(response)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"grant_type": ""},
        {"grant_type": "password", "username": "a", "password": "b"},
        {"grant_type": "implicit"},
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x"},
        {"grant_type": "authorization_code"},
        {"grant_type": "authorization_code", "code": "garbage", "client_id": "c-unknown"},
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": "garbage", "client_id": "c-unknown"},
        {"grant_type": "client_credentials"},
        {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "\x00"},
        {"grant_type": "authorization_code", "code": "x" * 10000, "client_id": "y" * 10000},
    ],
)
def test_malformed_token_requests_get_an_rfc6749_error(data):
    assert_oauth_error(form_post(DjangoClient(), "/oauth2/token", data))


def test_garbage_codes_and_refresh_tokens_from_a_real_client_are_invalid_grant(public_client):
    client_id = public_client.client.client_id
    verifier, _ = pkce_pair()
    code = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": "ciam_ac_garbage",
            "client_id": client_id,
            "code_verifier": verifier,
            "redirect_uri": "http://127.0.0.1:8765/callback",
        },
    )
    assert assert_oauth_error(code, 400)["error"] == "invalid_grant"
    refresh = form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": "refresh_token", "refresh_token": "ciam_rt_garbage", "client_id": client_id},
    )
    assert assert_oauth_error(refresh, 400)["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Bearer abc",
        "Digest x",
    ],
)
def test_malformed_client_authentication_is_invalid_client(m2m_client, authorization):
    response = form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=authorization,
    )
    assert assert_oauth_error(response, 400, 401)["error"] in {"invalid_client", "invalid_request"}


def test_a_database_digest_is_not_accepted_as_a_code(flow, public_client):
    from ciam.oauth.models import Grant

    verifier, challenge = pkce_pair()
    flow.code(public_client.client.client_id, challenge=challenge)
    stored = Grant.objects.values_list("code", flat=True).get()
    response = exchange(DjangoClient(), public_client.client.client_id, stored, verifier)
    assert assert_oauth_error(response, 400)["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"response_type": "code"},
        {"client_id": "c-unknown", "response_type": "code"},
        {"client_id": "\x00", "response_type": "code", "redirect_uri": "\x00"},
        {"client_id": "x" * 5000, "response_type": "code"},
    ],
)
def test_malformed_authorization_requests_get_the_error_page(browser, params):
    response = browser.get("/oauth2/auth", params)
    assert response.status_code == 400
    assert "Location" not in response


def test_a_repeated_authorization_parameter_is_refused(browser, public_client):
    _, challenge = pkce_pair()
    client_id = public_client.client.client_id
    response = browser.get(
        f"/oauth2/auth?response_type=code&client_id={client_id}&client_id={client_id}"
        f"&redirect_uri=http://127.0.0.1:8765/callback&code_challenge={challenge}"
        "&code_challenge_method=S256&scope=openid"
    )
    assert response.status_code == 400


def test_bad_basic_credentials_never_500(m2m_client):
    response = form_post(
        DjangoClient(), "/oauth2/introspect", {"token": "x"}, HTTP_AUTHORIZATION=basic("\x00", "\x00")
    )
    assert assert_oauth_error(response, 400, 401)["error"] in {"invalid_client", "invalid_request"}


@pytest.mark.parametrize(
    "path", ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/oauth2/device/auth"]
)
def test_a_non_ascii_basic_header_is_invalid_client_not_a_500(m2m_client, path):
    # Found by the property-based tests: base64 of non-ASCII text made the toolkit raise ValueError.
    response = form_post(
        DjangoClient(),
        path,
        {"grant_type": "client_credentials", "token": "x"},
        HTTP_AUTHORIZATION="Basic é☃".encode().decode("latin-1"),
    )
    assert_oauth_error(response, 400, 401)

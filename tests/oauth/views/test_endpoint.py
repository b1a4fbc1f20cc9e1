"""ciam.oauth.views.endpoint: the guard of the protocol endpoints (methods, content types, repeated
parameters, sizes, bytes)."""

import pytest
from django.test import Client as DjangoClient

from tests.helpers import form_post

pytestmark = pytest.mark.django_db


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

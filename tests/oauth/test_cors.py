"""CORS for single-page apps: only origins a client registered, only on protocol endpoints."""

import pytest
from django.test import Client as DjangoClient

from tests.helpers import form_post, tokens_for

pytestmark = pytest.mark.django_db

SPA = "https://spa.example.com"


@pytest.fixture
def spa_client(make_client):
    return make_client(
        client_name="SPA",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email",
        redirect_uris=["http://127.0.0.1:8765/callback"],
        allowed_cors_origins=[SPA],
    ).client


def test_a_registered_origin_gets_cors_headers_on_the_token_endpoint(flow, spa_client):
    body = tokens_for(flow, spa_client, scope="openid email")
    response = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": spa_client.client_id,
        },
        HTTP_ORIGIN=SPA,
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SPA
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_for_userinfo_from_a_registered_origin_is_answered(spa_client):
    response = DjangoClient().options(
        "/userinfo",
        HTTP_ORIGIN=SPA,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SPA
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_an_unregistered_origin_gets_no_cors_headers(spa_client):
    response = DjangoClient().options(
        "/userinfo", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in response
    prefix = DjangoClient().options(
        "/userinfo", HTTP_ORIGIN="https://spa.example.co", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in prefix


def test_pages_never_get_cors_headers(spa_client):
    response = DjangoClient().get("/login", HTTP_ORIGIN=SPA)
    assert "Access-Control-Allow-Origin" not in response

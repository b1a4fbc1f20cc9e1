"""clients.rules: each refusal names its field, every problem at once."""

import pytest
from django.core.exceptions import ValidationError

from ciam.oauth.models import Scope
from clients.models import Client
from clients.services import (
    client_create,
)

pytestmark = pytest.mark.django_db


CB = "https://app.example.com/cb"


def refused(field: str, **fields) -> str:
    with pytest.raises(ValidationError) as caught:
        client_create(**fields)
    assert field in caught.value.message_dict, caught.value.message_dict
    return " ".join(caught.value.message_dict[field])


def test_a_public_client_cannot_use_client_credentials():
    message = refused("grant_types", token_endpoint_auth_method="none", grant_types=["client_credentials"])
    assert "public client" in message


def test_authorization_code_needs_a_redirect_uri():
    assert "redirect URI" in refused("redirect_uris", grant_types=["authorization_code"])


def test_refresh_token_alone_is_refused():
    refused("grant_types", grant_types=["refresh_token"])


@pytest.mark.parametrize("grant", ["implicit", "password", "urn:ietf:params:oauth:grant-type:jwt-bearer", ""])
def test_unknown_grant_types_are_refused(grant):
    if grant:
        refused("grant_types", grant_types=[grant], redirect_uris=[CB])


@pytest.mark.parametrize(
    "uri, why",
    [
        ("http://app.example.com/cb", "non-loopback"),
        ("https://app.example.com/cb#frag", "fragment"),
        ("https://*.example.com/cb", "wildcard"),
        ("https://user:pw@app.example.com/cb", "user information"),
        ("javascript:alert(1)", "never allowed"),
        ("data:text/html,hi", "never allowed"),
        ("/relative/cb", "absolute"),
        ("https:///nohost", "no host"),
        ("https://app.example.com/c b", "whitespace"),
        ("https://app.example.com:99999/cb", "not a valid URI"),
    ],
)
def test_bad_redirect_uris_are_refused_with_a_reason(uri, why):
    assert why in refused("redirect_uris", redirect_uris=[uri])


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:8765/callback",
        "http://127.0.0.1/cb",
        "http://[::1]:9000/cb",
        "https://app.example.com/cb?x=1",
        "com.example.app:/oauth2redirect",
        "myapp://callback",
    ],
)
def test_good_redirect_uris_are_accepted(uri):
    client = client_create(redirect_uris=[uri], token_endpoint_auth_method="none").client
    assert client.redirect_uri_list == [uri]


def test_post_logout_uris_follow_the_same_rules():
    refused(
        "post_logout_redirect_uris", redirect_uris=[CB], post_logout_redirect_uris=["http://evil.example/"]
    )


def test_cors_origins_must_be_bare_origins():
    refused("allowed_cors_origins", redirect_uris=[CB], allowed_cors_origins=["https://app.example.com/path"])
    refused("allowed_cors_origins", redirect_uris=[CB], allowed_cors_origins=["myapp://x"])
    client = client_create(redirect_uris=[CB], allowed_cors_origins=["https://app.example.com"]).client
    assert client.allowed_cors_origins == ["https://app.example.com"]


def test_any_valid_scope_token_is_accepted_and_catalogued_but_not_a_reserved_or_malformed_one():
    assert client_create(redirect_uris=[CB], scope="openid api").client.scope == "openid api"
    assert Scope.objects.get(name="api").description == ""  # for an administrator to describe
    assert "reserved" in refused("scope", redirect_uris=[CB], scope="openid ciam:root")
    assert "not a valid scope name" in refused("scope", redirect_uris=[CB], scope='openid "quoted"')
    assert not Scope.objects.filter(name="ciam:root").exists()


def test_response_types_other_than_code_are_refused():
    assert "implicit" in refused("response_types", redirect_uris=[CB], response_types=["token"])
    refused("response_types", grant_types=["client_credentials"], response_types=["code"])


@pytest.mark.parametrize(
    "field, value",
    [
        ("token_endpoint_auth_method", "private_key_jwt"),
        ("access_token_strategy", "paseto"),
        ("skip_consent", "yes"),
        ("metadata", ["not", "an", "object"]),
        ("access_token_lifespan", 5),
        ("access_token_lifespan", "3600"),
        ("client_uri", "ftp://example.com"),
        ("logo_uri", "javascript:alert(1)"),
        ("audience", [1, 2]),
        ("client_name", "x" * 300),
        ("nonsense_field", 1),
    ],
)
def test_wrong_types_and_values_name_the_field(field, value):
    refused(field, redirect_uris=[CB], **{field: value})


@pytest.mark.parametrize(
    "uri", ["ftp://files.example/cb", "gopher://x.example/cb", "mailto:ops@example.com", "wss://x.example/cb"]
)
def test_a_network_scheme_is_never_a_redirect_uri(uri):
    for method in ("none", "client_secret_basic"):
        assert "scheme" in refused("redirect_uris", redirect_uris=[uri], token_endpoint_auth_method=method)


def test_a_custom_scheme_is_for_a_native_public_client_not_a_confidential_web_client():
    assert "confidential" in refused("redirect_uris", redirect_uris=["com.example.app:/cb"])
    public = client_create(redirect_uris=["com.example.app:/cb"], token_endpoint_auth_method="none").client
    assert public.redirect_uri_list == ["com.example.app:/cb"]


def test_the_console_form_refuses_them_with_the_same_rule(console):
    page = console.post(
        "/console/clients/new",
        {
            "client_name": "web",
            "client_type": "confidential",
            "redirect_uris": "ftp://files.example/cb",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scopes": ["openid"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    assert page.status_code == 400 and "ftp" in page.content.decode()
    assert not Client.objects.filter(name="web").exists()

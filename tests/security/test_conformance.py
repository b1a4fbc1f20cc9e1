"""The protocol points an OpenID conformance suite and the RFCs check, each probed as a hostile or
sloppy client would: repeated parameters, request objects, unknown response modes, a missing
redirect URI, the wrong WWW-Authenticate scheme, grants the server does not have, discovery that
claims more than it does, and token errors that do not say what went wrong."""

import pytest
from django.test import Client as DjangoClient

from ciam.oauth.authorize import PROMPTS
from tests.helpers import (
    CALLBACK,
    authorize,
    authorize_params,
    basic,
    cc,
    exchange,
    form_post,
    pkce_pair,
    query_of,
    refresh,
    signed_in,
)

pytestmark = pytest.mark.django_db


def refused_at_callback(response, error: str, state: str = "s1") -> str:
    """The error redirected to the client's registered URI; its description."""
    assert response.status_code == 302, response.content[:300]
    assert response["Location"].startswith(CALLBACK + "?")
    answer = query_of(response["Location"])
    assert answer["error"] == error, answer
    assert answer["state"] == state
    return answer["error_description"]


# --- The authorization request ------------------------------------------------------------------


@pytest.mark.security("repeated-authorization-parameters")
@pytest.mark.parametrize("name", ["code_challenge", "nonce", "prompt", "max_age", "login_hint", "acr_values"])
def test_a_parameter_sent_twice_to_the_authorization_endpoint_is_refused(user, public_client, name):
    _, challenge = pkce_pair()
    query = authorize_params(
        public_client.client.client_id,
        challenge=challenge,
        state="s1",
        nonce="n",
        prompt="login",
        max_age="60",
    )
    query.setdefault(name, "first")
    url = "/oauth2/auth?" + "&".join(f"{k}={v}" for k, v in query.items()) + f"&{name}=second"
    for web in (DjangoClient(), signed_in(user)):
        description = refused_at_callback(web.get(url), "invalid_request")
        assert name in description


@pytest.mark.security("request-objects")
@pytest.mark.parametrize(
    "parameter, error",
    [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")],
)
def test_request_objects_are_refused_to_the_client(browser, public_client, parameter, error):
    _, challenge = pkce_pair()
    value = "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9."
    if parameter == "request_uri":
        value = "https://evil.example/request.jwt"
    query = authorize_params(
        public_client.client.client_id, challenge=challenge, state="s1", **{parameter: value}
    )
    refused_at_callback(browser.get("/oauth2/auth", query), error)
    discovery = DjangoClient().get("/.well-known/openid-configuration").json()
    assert discovery["request_parameter_supported"] is False
    assert discovery["request_uri_parameter_supported"] is False


@pytest.mark.security("response-mode-injection")
@pytest.mark.parametrize("mode", ["fragment", "form_post", "web_message", "query.jwt", "bogus"])
def test_only_the_advertised_response_mode_is_honoured(browser, public_client, mode):
    _, challenge = pkce_pair()
    base = authorize_params(public_client.client.client_id, challenge=challenge, state="s1")
    # The error itself comes in the query: the one mode this server answers in.
    assert "response_mode" in refused_at_callback(
        browser.get("/oauth2/auth", {**base, "response_mode": mode}), "invalid_request"
    )
    assert browser.get("/oauth2/auth", {**base, "response_mode": "query"}).status_code == 302
    assert DjangoClient().get("/.well-known/openid-configuration").json()["response_modes_supported"] == [
        "query"
    ]


@pytest.mark.security("missing-redirect-uri")
def test_an_openid_request_without_redirect_uri_is_refused_even_with_one_registered_uri(
    browser, public_client
):
    assert public_client.client.redirect_uri_list == [CALLBACK]
    _, challenge = pkce_pair()
    query = authorize_params(public_client.client.client_id, challenge=challenge, scope="openid email")
    del query["redirect_uri"]
    response = browser.get("/oauth2/auth", query)
    assert response.status_code == 400 and "Location" not in response
    assert "redirect_uri" in response.content.decode()
    # A plain OAuth 2.0 request may still rely on its single registered URI (RFC 6749 §3.1.2.3).
    response = browser.get("/oauth2/auth", {**query, "scope": "email"})
    assert response.status_code == 302 and not response["Location"].startswith("/error")


# --- Discovery ----------------------------------------------------------------------------------


@pytest.mark.security("discovery-overclaims")
def test_discovery_lists_provider_metadata_only_and_what_is_really_supported(user, public_client):
    document = DjangoClient().get("/.well-known/openid-configuration").json()
    # Client-metadata names (RFC 7591 §2) are not provider metadata (RFC 8414 §2).
    for name in (
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
        "token_endpoint_auth_method",
    ):
        assert name not in document
    # Userinfo is plain JSON, never signed: no signing algorithms to list.
    assert "userinfo_signing_alg_values_supported" not in document
    assert (
        set(document["prompt_values_supported"])
        == set(PROMPTS)
        >= {"none", "login", "consent", "select_account"}
    )
    # Every advertised prompt value is accepted; one that is not advertised is refused.
    web = signed_in(user)
    for prompt in document["prompt_values_supported"]:
        response = authorize(web, public_client.client.client_id, prompt=prompt)
        error = query_of(response["Location"]).get("error")
        assert error in (None, "consent_required"), (prompt, error)
    assert query_of(authorize(web, public_client.client.client_id, prompt="create")["Location"])["error"] == (
        "invalid_request"
    )


# --- Client authentication and grants at the token endpoint -------------------------------------


@pytest.mark.security("www-authenticate-scheme")
def test_invalid_client_after_basic_authentication_answers_with_the_basic_scheme(m2m_client, resource_server):
    client_id = m2m_client.client.client_id
    wrong = basic(client_id, "not-the-secret")
    for path, body in (
        ("/oauth2/token", {"grant_type": "client_credentials"}),
        ("/oauth2/revoke", {"token": "x"}),
        ("/oauth2/introspect", {"token": "x"}),
        ("/oauth2/device/auth", {"scope": "openid"}),
    ):
        response = form_post(DjangoClient(), path, body, HTTP_AUTHORIZATION=wrong)
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"].startswith("Basic "), (path, response["WWW-Authenticate"])
        assert response.json()["error"] == "invalid_client" and response.json()["error_description"]
        assert "not-the-secret" not in response.content.decode()


@pytest.mark.security("unsupported-grants")
@pytest.mark.parametrize(
    "grant", ["password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:example:made-up"]
)
def test_a_grant_the_server_does_not_implement_is_unsupported_grant_type(m2m_client, grant):
    response = cc(
        m2m_client.client.client_id, m2m_client.client_secret, grant_type=grant, username="a", password="b"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert "authorization_code" in response.json()["error_description"]


# --- Token errors say what went wrong -----------------------------------------------------------


def _description(response, error: str) -> str:
    assert response.status_code in (400, 401), response.content
    body = response.json()
    assert body["error"] == error, body
    return body["error_description"]


@pytest.mark.security("opaque-token-errors")
def test_token_errors_say_what_went_wrong_and_never_echo_a_secret(flow, public_client, m2m_client):
    client_id = public_client.client.client_id
    verifier, challenge = pkce_pair()
    code = flow.code(client_id, challenge=challenge, scope="openid email")

    unknown = exchange(DjangoClient(), client_id, "ciam_ac_not-a-code", verifier)
    assert "not valid" in _description(unknown, "invalid_grant")
    wrong_uri = exchange(
        DjangoClient(), client_id, code, verifier, redirect_uri="http://127.0.0.1:8765/other"
    )
    assert "redirect_uri" in _description(wrong_uri, "invalid_grant")

    code = flow.code(client_id, challenge=challenge, scope="openid email")
    wrong_verifier = exchange(DjangoClient(), client_id, code, pkce_pair()[0])
    assert "code_verifier" in _description(wrong_verifier, "invalid_grant")

    code = flow.code(client_id, challenge=challenge, scope="openid email")
    assert exchange(DjangoClient(), client_id, code, verifier).status_code == 200
    used = exchange(DjangoClient(), client_id, code, verifier)
    assert "already been used" in _description(used, "invalid_grant")

    scope = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email ciam:admin")
    assert "ciam:admin" in _description(scope, "invalid_scope")
    m2m = basic(m2m_client.client.client_id, m2m_client.client_secret)
    grant = exchange(DjangoClient(), None, code, verifier, authorization=m2m)
    assert "authorization_code" in _description(grant, "unauthorized_client")

    stale = refresh(client_id, "ciam_rt_not-a-refresh-token")
    assert "refresh token" in _description(stale, "invalid_grant")

    for response in (unknown, wrong_uri, wrong_verifier, used, scope, grant, stale):
        text = response.content.decode()
        assert verifier not in text and code not in text and m2m_client.client_secret not in text

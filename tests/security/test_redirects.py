"""Checklist: open redirects through every redirecting parameter, and redirect-URI tricks.

The service redirects through four parameters: `next` (sign-in and registration),
`redirect_uri` (the authorization request, GET or POST), and `post_logout_redirect_uri`
(RP-initiated logout, asked with GET or confirmed with POST). Each is sent every hostile target
below; none may produce a redirect off the site.
"""

from urllib.parse import urlencode, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as DjangoClient

from ciam.accounts.models import User
from clients.models import Client
from clients.rules import uri_problem
from tests.helpers import CALLBACK, PASSWORD, authorize_params, pkce_pair, register_verified

pytestmark = pytest.mark.django_db

HOSTILE_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://127.0.0.1@evil.example/",
    " https://evil.example/",
    "/%2F%2Fevil.example",
    "/ok\r\nLocation: https://evil.example",
    "https://evil.example/callback",
]


def assert_stays_on_site(response):
    location = response.get("Location")
    if location is None:
        return
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil" not in location, location


@pytest.fixture
def logout_client(make_client):
    return make_client(
        client_name="RP",
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=["https://app.example.com/callback"],
        post_logout_redirect_uris=["https://app.example.com/bye"],
    ).client


def _login_next(target, **_):
    return DjangoClient().post("/login", {"email": "alice@example.com", "password": PASSWORD, "next": target})


def _login_next_in_query(target, **_):
    return DjangoClient().post(
        "/login?" + urlencode({"next": target}),
        {"email": "alice@example.com", "password": PASSWORD},
    )


def _registration_next(target, **_):
    User.objects.filter(email="new@example.com").delete()
    return register_verified(DjangoClient(), "new@example.com", next=target)


def _authorize(method):
    def send(target, client, **_):
        _, challenge = pkce_pair()
        web = DjangoClient()
        web.force_login(client["user"])
        params = authorize_params(client["public"].client_id, challenge=challenge, redirect_uri=target)
        return getattr(web, method)("/oauth2/auth", params)

    return send


def _authorize_error(target, client, **_):
    # An error that would be redirected (a bad scope) must not be redirected to an unchecked URI.
    web = DjangoClient()
    return web.get(
        "/oauth2/auth",
        authorize_params(client["public"].client_id, redirect_uri=target, scope="openid nonsense", state="s"),
    )


def _logout(method):
    # GET asks (no id_token_hint); POST is the person's confirmation.
    extra = {"state": "s"} if method == "get" else {"allow": "1"}

    def send(target, client, **_):
        web = DjangoClient()
        web.force_login(client["user"])
        params = {"client_id": client["rp"].client_id, "post_logout_redirect_uri": target, **extra}
        return getattr(web, method)("/oauth2/sessions/logout", params)

    return send


_logout_get, _logout_post = _logout("get"), _logout("post")


PARAMETERS = {
    "login next (form)": _login_next,
    "login next (query)": _login_next_in_query,
    "registration next": _registration_next,
    "authorize redirect_uri (GET)": _authorize("get"),
    "authorize redirect_uri (POST)": _authorize("post"),
    "authorize redirect_uri on an error": _authorize_error,
    "logout post_logout_redirect_uri (GET)": _logout_get,
    "logout post_logout_redirect_uri (POST)": _logout_post,
}


@pytest.mark.security("open-redirect")
@pytest.mark.parametrize("target", HOSTILE_TARGETS)
@pytest.mark.parametrize("parameter", list(PARAMETERS))
def test_no_redirecting_parameter_sends_anyone_off_site(
    parameter, target, user, public_client, logout_client
):
    clients = {"user": user, "public": public_client.client, "rp": logout_client}
    response = PARAMETERS[parameter](target, client=clients)
    assert response.status_code < 500
    assert_stays_on_site(response)


def test_the_parameters_do_redirect_to_an_allowed_target(user, public_client, logout_client):
    # The matrix above means something only if the same parameters do redirect when allowed.
    assert _login_next("/account/apps")["Location"] == "/account/apps"
    assert _registration_next("/device")["Location"] == "/device"
    _, challenge = pkce_pair()
    web = DjangoClient()
    web.force_login(user)
    response = web.get("/oauth2/auth", authorize_params(public_client.client.client_id, challenge=challenge))
    assert response.status_code == 302 and response["Location"].startswith("/consent")
    response = _logout_get("https://app.example.com/bye", client={"user": user, "rp": logout_client})
    assert response.status_code == 200  # no id_token_hint: the person confirms first
    response = _logout_post("https://app.example.com/bye", client={"user": user, "rp": logout_client})
    assert response.status_code == 302 and response["Location"].startswith("https://app.example.com/bye")


# Registered: http://127.0.0.1:8765/callback (CALLBACK). Each variant differs in one way.
REDIRECT_URI_TRICKS = {
    "scheme case": "HTTP://127.0.0.1:8765/callback",
    "path case": "http://127.0.0.1:8765/Callback",
    "trailing slash": "http://127.0.0.1:8765/callback/",
    "trailing dot in host": "http://127.0.0.1.:8765/callback",
    "extra query": "http://127.0.0.1:8765/callback?next=https://evil.example",
    "empty query": "http://127.0.0.1:8765/callback?",
    "fragment": "http://127.0.0.1:8765/callback#https://evil.example",
    "userinfo before the host": "http://evil.example@127.0.0.1:8765/callback",
    "registered host as userinfo": "http://127.0.0.1:8765@evil.example/callback",
    "path traversal": "http://127.0.0.1:8765/callback/../../evil",
    "encoded traversal": "http://127.0.0.1:8765/callback/%2e%2e/evil",
    "encoded slash": "http://127.0.0.1:8765/callback%2F..%2Fevil",
    "percent-encoded path": "http://127.0.0.1:8765/%63allback",
    "port out of range": "http://127.0.0.1:65536/callback",
    "port zero": "http://127.0.0.1:0/callback",
    "port with a sign": "http://127.0.0.1:+80/callback",
    "other port on a non-loopback host": "https://app.example.com:8443/callback",
    "other host": "http://localhost:8765/callback",
    "host as a prefix": "http://127.0.0.1:8765.evil.example/callback",
    "path as a prefix": "http://127.0.0.1:8765/callbackevil",
    "semicolon parameter": "http://127.0.0.1:8765/callback;evil",
    "backslash": "http://127.0.0.1:8765\\@evil.example/callback",
    "IDN look-alike (Cyrillic a)": "https://\u0430pp.example.com/callback",
    "IDN punycode of the look-alike": "https://xn--pp-8cd.example.com/callback",
    "full-width dot": "http://127\uff0e0.0.1:8765/callback",
    "NUL byte": "http://127.0.0.1:8765/callback\x00evil",
    "newline": "http://127.0.0.1:8765/callback\nevil",
    "https instead of http": "https://127.0.0.1:8765/callback",
}


@pytest.mark.security("redirect-uri-tricks")
@pytest.mark.parametrize("uri", list(REDIRECT_URI_TRICKS.values()), ids=list(REDIRECT_URI_TRICKS))
def test_a_redirect_uri_must_match_the_registered_one_exactly(uri, browser, make_client):
    client = make_client(
        client_name="exact",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=[CALLBACK, "https://app.example.com/callback"],
    ).client
    _, challenge = pkce_pair()
    response = browser.get(
        "/oauth2/auth", authorize_params(client.client_id, challenge=challenge, redirect_uri=uri)
    )
    assert response.status_code == 400
    assert "Location" not in response
    # The exact registered URI goes through: the refusal above is about the trick, nothing else.
    ok = browser.get("/oauth2/auth", authorize_params(client.client_id, challenge=challenge))
    assert ok.status_code == 302


@pytest.mark.security("redirect-uri-tricks")
def test_a_loopback_redirect_uri_matches_on_any_port_and_in_nothing_else(browser, make_client):
    """RFC 8252 §7.3, RFC 9700 §2.1: a native app listens on whatever port it is given, so a
    registered http://127.0.0.1 or http://[::1] URI matches on any port; all else stays exact."""
    client = make_client(
        client_name="native",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=[CALLBACK, "http://[::1]/callback", "https://app.example.com/callback"],
    ).client
    _, challenge = pkce_pair()

    def answer(uri):
        return browser.get(
            "/oauth2/auth", authorize_params(client.client_id, challenge=challenge, redirect_uri=uri)
        )

    for uri in ("http://127.0.0.1:51234/callback", "http://127.0.0.1/callback", "http://[::1]:1/callback"):
        assert answer(uri).status_code == 302, uri
    for uri in (
        "http://127.0.0.1:51234/callback/",
        "http://127.0.0.1:51234/other",
        "http://localhost:51234/callback",
        "http://[::1]:1/callback?x=1",
        "https://app.example.com:444/callback",
    ):
        assert answer(uri).status_code == 400, uri


UNREGISTRABLE = {
    "a fragment": ("https://app.example.com/cb#x", "fragment"),
    "user information": ("https://user:pw@app.example.com/cb", "user information"),
    "a registered host as user information": ("https://app.example.com@evil.example/cb", "user information"),
    "a wildcard": ("https://*.example.com/cb", "wildcard"),
    "a relative URI": ("/callback", "absolute"),
    "javascript:": ("javascript:alert(1)", "never allowed"),
    "data:": ("data:text/html,hi", "never allowed"),
    "http off loopback": ("http://app.example.com/cb", "https"),
    "whitespace": ("https://app.example.com/c b", "whitespace"),
    "a control character": ("https://app.example.com/cb\x00", "control"),
    "a bad port": ("https://app.example.com:99999/cb", "not a valid URI"),
}


@pytest.mark.security("redirect-uri-tricks")
@pytest.mark.parametrize("uri, why", list(UNREGISTRABLE.values()), ids=list(UNREGISTRABLE))
def test_a_tricky_redirect_uri_cannot_be_registered(uri, why, make_client):
    problem = uri_problem(uri)
    assert problem is not None and why in problem
    with pytest.raises(ValidationError) as refused:
        make_client(client_name="x", redirect_uris=[uri], grant_types=["authorization_code"], scope="openid")
    assert "redirect_uris" in refused.value.message_dict
    assert not Client.objects.exists()

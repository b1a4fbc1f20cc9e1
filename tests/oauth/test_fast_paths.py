"""The hot paths' shortcuts keep the behaviour of the long way round.

- ProtocolFastLaneMiddleware: the JSON protocol endpoints skip the browser-page middleware, but
  still check the host, still get the security headers and CORS, and pages keep the full stack.
- fastsql.insert: a token row written without the ORM's compiler is the row `save()` writes.
"""

import pytest
from django.test import Client as DjangoClient

from ciam.middleware import ProtocolFastLaneMiddleware
from ciam.oauth import fastsql
from ciam.oauth.models import AccessToken, RefreshToken
from tests.oauth.test_token_endpoint import cc

pytestmark = pytest.mark.django_db


def test_the_fast_lane_serves_exactly_the_protocol_endpoints():
    from django.urls import resolve

    views = {path: resolve(path).url_name for path in ProtocolFastLaneMiddleware.PATHS}
    assert views == {
        "/oauth2/token": "token",
        "/oauth2/introspect": "introspect",
        "/oauth2/revoke": "revoke",
        "/userinfo": "userinfo",
        "/.well-known/openid-configuration": "discovery",
        "/.well-known/jwks.json": "jwks",
        "/health/alive": "health-alive",
        "/health/ready": "health-ready",
    }


def test_fast_lane_answers_skip_sessions_but_keep_security_headers(m2m_client, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    web = DjangoClient()
    response = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still ran
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")
    assert int(response["Content-Length"]) == len(response.content)  # keep-alive needs it
    discovery = web.get("/.well-known/openid-configuration", secure=True)
    assert discovery.status_code == 200 and "Strict-Transport-Security" in discovery
    # A page still takes the whole stack: the session cookie, CSRF, frame and CSP headers.
    page = web.get("/login")
    assert "csrftoken" in page.cookies or "csrfmiddlewaretoken" in page.content.decode()
    assert page["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in page


def test_fast_lane_still_refuses_a_host_outside_allowed_hosts(m2m_client, settings):
    settings.ALLOWED_HOSTS = ["id.example.com"]
    response = DjangoClient().get("/.well-known/jwks.json", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert DjangoClient().get("/.well-known/jwks.json", HTTP_HOST="id.example.com").status_code == 200


def test_fast_lane_keeps_cors_for_registered_origins_only(make_client):
    make_client(
        client_name="spa",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=["https://spa.example.com/cb"],
        allowed_cors_origins=["https://spa.example.com"],
    )

    def preflight(origin):
        return DjangoClient().options(
            "/oauth2/token", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
        )

    assert preflight("https://spa.example.com")["Access-Control-Allow-Origin"] == "https://spa.example.com"
    assert "Access-Control-Allow-Origin" not in preflight("https://evil.example")


def test_fastsql_writes_the_row_save_would(m2m_client, user):
    import hashlib

    from django.utils import timezone
    from oauth2_provider.models import set_token_value

    def made(insert: bool, raw: str):
        token = AccessToken(application=m2m_client.client, scope="email", expires=timezone.now(), resource=[])
        set_token_value(token, raw)
        if insert:
            fastsql.insert(token)
        else:
            token.save()
        return token

    fast, slow = made(True, "ciam_at_fast"), made(False, "ciam_at_slow")
    assert fast.pk and not fast._state.adding
    rows = {t.pk: t for t in AccessToken.objects.filter(pk__in=[fast.pk, slow.pk])}
    for field in ("token", "scope", "application_id", "resource", "user_id", "token_family"):
        assert getattr(rows[fast.pk], field) == getattr(rows[slow.pk], field), field
    assert rows[fast.pk].token == ""  # only the digest is stored
    assert (
        len(rows[fast.pk].token_checksum) == 64
        and rows[fast.pk].token_checksum != rows[slow.pk].token_checksum
    )
    assert rows[fast.pk].created and rows[fast.pk].updated
    assert AccessToken.objects.get(token_checksum=hashlib.sha256(b"ciam_at_fast").hexdigest()).pk == fast.pk
    # A refresh token linked to it, the way rotation writes one.
    refresh = RefreshToken(
        user=user, application=m2m_client.client, access_token=fast, resource=[], auth_context={}
    )
    set_token_value(refresh, "ciam_rt_fast")
    fastsql.insert(refresh)
    assert RefreshToken.objects.get(pk=refresh.pk).access_token_id == fast.pk


# --- Client credentials: the kept client, proved unchanged by the INSERT ----------------------


def _change(client, how):
    from clients.services import client_delete, client_secret_rotate, client_set_active, client_update

    if how == "secret rotated":
        return client_secret_rotate(client=client, actor_label="tests").client_secret
    if how == "disabled":
        client_set_active(client=client, active=False, actor_label="tests")
    elif how == "deleted":
        client_delete(client=client, actor_label="tests")
    elif how == "grant removed":
        client_update(
            client=client, grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"]
        )
    elif how == "scope narrowed":
        client_update(client=client, scope="profile")
    return None


@pytest.mark.parametrize(
    "how, status, error",
    [
        ("secret rotated", 401, "invalid_client"),
        ("disabled", 401, "invalid_client"),
        ("deleted", 401, "invalid_client"),
        ("grant removed", 400, "unauthorized_client"),
        ("scope narrowed", 400, "invalid_scope"),
    ],
)
def test_a_change_to_a_kept_client_takes_effect_on_the_next_token_request(
    m2m_client, how, status, error, monkeypatch
):
    from ciam.oauth import clientcache

    forgotten = []
    real_forget = clientcache.forget
    monkeypatch.setattr(clientcache, "forget", lambda cid: forgotten.append(cid) or real_forget(cid))

    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret
    assert cc(client_id, secret, scope="email").status_code == 200
    assert clientcache.cached(client_id) is not None  # this process keeps it: the fast path applies
    new_secret = _change(m2m_client.client, how)
    tokens = AccessToken.objects.count()

    response = cc(client_id, secret, scope="email")
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert AccessToken.objects.count() == tokens  # nothing was written for the stale client
    # The kept (stale) client passed the checks; the INSERT's guard refused it.
    assert forgotten == [client_id]
    if new_secret:
        assert cc(client_id, new_secret, scope="email").status_code == 200


def test_the_fast_path_answers_as_the_generic_path_does(m2m_client, monkeypatch):
    from ciam.oauth import views

    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret
    cc(client_id, secret, scope="email")  # kept from now on
    fast = cc(client_id, secret, scope="email")
    monkeypatch.setattr(views, "_client_credentials_fast", lambda request: None)
    generic = cc(client_id, secret, scope="email")

    assert fast.status_code == generic.status_code == 200
    fast_body, generic_body = fast.json(), generic.json()
    assert fast_body.keys() == generic_body.keys() == {"access_token", "expires_in", "token_type", "scope"}
    assert {k: v for k, v in fast_body.items() if k != "access_token"} == {
        k: v for k, v in generic_body.items() if k != "access_token"
    }
    for header in ("Content-Type", "Cache-Control", "Pragma"):
        assert fast[header] == generic[header]
    assert AccessToken.objects.filter(application=m2m_client.client).count() == 3


# --- Introspection: the kept caller, proved unchanged by the lookup ---------------------------


def _change_caller(client, how):
    from clients.services import client_delete, client_secret_rotate, client_set_active, client_update

    if how == "secret rotated":
        client_secret_rotate(client=client, actor_label="tests")
    elif how == "disabled":
        client_set_active(client=client, active=False, actor_label="tests")
    elif how == "deleted":
        client_delete(client=client, actor_label="tests")
    elif how == "introspection scope removed":
        client_update(client=client, scope="email")


@pytest.mark.parametrize("token_kind", ["access token", "refresh token", "unknown token"])
@pytest.mark.parametrize(
    "how, status",
    [("secret rotated", 401), ("disabled", 401), ("deleted", 401), ("introspection scope removed", 200)],
)
def test_a_change_to_a_kept_resource_server_takes_effect_on_its_next_introspection(
    make_client, m2m_client, flow, public_client, monkeypatch, how, status, token_kind
):
    from ciam.oauth import clientcache
    from tests.conftest import basic, form_post
    from tests.oauth.test_token_endpoint import tokens_for

    forgotten = []
    real_forget = clientcache.forget
    monkeypatch.setattr(clientcache, "forget", lambda cid: forgotten.append(cid) or real_forget(cid))
    rs = make_client(client_name="API", grant_types=["client_credentials"], scope="email ciam:introspect")
    auth = basic(rs.client.client_id, rs.client_secret)
    token = {
        "access token": lambda: cc(m2m_client.client.client_id, m2m_client.client_secret).json()[
            "access_token"
        ],
        "refresh token": lambda: tokens_for(flow, public_client.client)["refresh_token"],
        "unknown token": lambda: "ciam_at_" + "u" * 43,
    }[token_kind]()

    def introspect():
        return form_post(DjangoClient(), "/oauth2/introspect", {"token": token}, HTTP_AUTHORIZATION=auth)

    assert introspect().status_code == 200
    assert clientcache.cached(rs.client.client_id) is not None
    _change_caller(rs.client, how)

    answer = introspect()
    assert answer.status_code == status
    if status == 401:
        assert answer.json()["error"] == "invalid_client"
    else:  # no longer a resource server: another client's token is not its to see
        assert answer.json() == {"active": False}
    assert forgotten == [rs.client.client_id]  # the lookup's proof refused the kept caller

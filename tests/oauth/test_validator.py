"""ciam.oauth.validator: client authentication, authorization codes (single use, PKCE, replay),
token persistence and rotation, ID tokens, asynchronous commit (opt-in)."""

import base64
import json
from datetime import timedelta

import pytest
from django.contrib.auth import hashers
from django.db import connection
from django.test import Client as DjangoClient
from django.test import Client as Web
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.settings import oauth2_settings

from ciam.accounts.authn import SESSION_KEY
from ciam.lib.crypto import token_checksum
from ciam.oauth.introspection import introspect
from ciam.oauth.keys import current_signing_key
from ciam.oauth.models import AccessToken, Grant, RefreshToken
from clients.services import client_update
from tests.helpers import (
    CALLBACK,
    authorize,
    basic,
    cc,
    confidential_tokens,
    consent,
    exchange,
    form_post,
    jwks_set,
    on_postgresql,
    pkce_pair,
    query_of,
    refresh,
    second_connection,
    signed_in,
    tokens_for,
)

pytestmark = pytest.mark.django_db


def assert_oauth_error(response, *statuses):
    assert response.status_code in (statuses or range(400, 500)), (response.status_code, response.content)
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body


# --- Authorization codes and PKCE -------------------------------------------------------------


def test_it_issues_tokens_for_a_public_client_with_pkce(flow, public_client):
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, scope="openid profile email")
    assert code.startswith("ciam_ac_")

    response = exchange(DjangoClient(), public_client.client.client_id, code, verifier)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].startswith("ciam_at_")
    assert body["refresh_token"].startswith("ciam_rt_")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    assert body["id_token"].count(".") == 2
    assert response["Cache-Control"] == "no-store"


def test_it_requires_pkce_for_public_clients(flow, public_client):
    response = flow.authorize(public_client.client.client_id, challenge=None)
    params = query_of(response["Location"])
    assert response["Location"].startswith(CALLBACK)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"


def test_it_requires_pkce_for_confidential_clients_marked_so(browser, make_client):
    client = make_client(client_name="c", redirect_uris=[CALLBACK], scope="openid", pkce_required=True).client
    response = browser.get(
        "/oauth2/auth",
        {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK, "scope": "openid"},
    )
    assert query_of(response["Location"])["error"] == "invalid_request"


@pytest.fixture
def without_pkce(make_client):
    """A confidential client that does not require PKCE (secret in the body)."""
    return make_client(
        client_name="c",
        redirect_uris=[CALLBACK],
        scope="openid",
        pkce_required=False,
        token_endpoint_auth_method="client_secret_post",
    )


def test_it_allows_a_confidential_client_without_pkce_when_not_required(flow, without_pkce):
    result = without_pkce
    code = flow.code(result.client.client_id, challenge=None)
    response = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": result.client.client_id,
            "client_secret": result.client_secret,
        },
    )
    assert response.status_code == 200, response.content


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_the_verifier_of_another_flow(flow, public_client):
    client_id = public_client.client.client_id
    _, challenge = pkce_pair()
    code = flow.code(client_id, challenge=challenge)
    other_verifier, other_challenge = pkce_pair()
    other_code = flow.code(client_id, challenge=other_challenge)  # a live flow of the same client
    response = exchange(DjangoClient(), client_id, code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert exchange(DjangoClient(), client_id, other_code, other_verifier).status_code == 200


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_a_missing_verifier(flow, public_client):
    _, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), public_client.client.client_id, code, None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.security("pkce-downgrade")
def test_it_refuses_a_verifier_for_a_code_issued_without_challenge(flow, without_pkce):
    # PKCE downgrade: the code had no challenge; a verifier must not be accepted as if it had.
    result = without_pkce
    code = flow.code(result.client.client_id, challenge=None)
    verifier, _ = pkce_pair()
    response = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": result.client.client_id,
            "client_secret": result.client_secret,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_replayed_code_fails_and_revokes_what_it_issued(flow, public_client):
    verifier, challenge = pkce_pair()
    client_id = public_client.client.client_id
    code = flow.code(client_id, challenge=challenge)
    first = exchange(DjangoClient(), client_id, code, verifier).json()
    assert AccessToken.objects.filter(application=public_client.client).count() == 1

    replay = exchange(DjangoClient(), client_id, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.filter(application=public_client.client).exists()
    assert not RefreshToken.objects.filter(application=public_client.client, revoked__isnull=True).exists()
    introspected = json.loads(
        DjangoClient()
        .get(  # userinfo with the revoked token
            "/userinfo", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}"
        )
        .content
        or b"{}"
    )
    assert introspected.get("error") == "invalid_token"


@pytest.mark.security("code-injection")
def test_a_code_issued_to_one_client_cannot_be_redeemed_by_another(flow, public_client, make_client):
    other = make_client(
        client_name="other", token_endpoint_auth_method="none", redirect_uris=[CALLBACK], scope="openid"
    ).client
    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), other.client_id, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(flow, public_client):

    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge)
    Grant.objects.filter(code=token_checksum(code)).update(expires=timezone.now() - timedelta(seconds=1))
    response = exchange(DjangoClient(), public_client.client.client_id, code, verifier)
    assert response.json()["error"] == "invalid_grant"


def test_the_token_request_must_repeat_the_redirect_uri_exactly(flow, make_client):
    second = "http://127.0.0.1:8765/other"
    client = make_client(
        client_name="c", token_endpoint_auth_method="none", redirect_uris=[CALLBACK, second], scope="openid"
    ).client
    verifier, challenge = pkce_pair()
    code = flow.code(client.client_id, challenge=challenge)
    response = exchange(DjangoClient(), client.client_id, code, verifier, redirect_uri=second)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}


def test_codes_live_at_most_ten_minutes(settings):

    assert oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS <= 600


def test_an_unallowed_scope_is_invalid_scope(flow, public_client):
    _, challenge = pkce_pair()
    response = flow.authorize(
        public_client.client.client_id, challenge=challenge, scope="openid offline_access"
    )
    assert query_of(response["Location"])["error"] == "invalid_scope"


def test_a_client_without_the_code_grant_is_refused(browser, make_client):
    client = make_client(client_name="m2m", grant_types=["client_credentials"], scope="email").client
    response = browser.get(
        "/oauth2/auth",
        {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK, "scope": "email"},
    )
    # No redirect URI is registered, so nothing may be redirected to.
    assert response.status_code == 400


# --- Client authentication --------------------------------------------------------------------------


def test_a_wrong_secret_is_invalid_client(m2m_client):
    response = cc(m2m_client.client.client_id, "ciam_cs_wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_an_unknown_client_is_invalid_client():
    response = cc("c-does-not-exist", "whatever")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_the_registered_auth_method_is_enforced(m2m_client, make_client):
    # m2m_client is registered for client_secret_basic: the same secret in the body is refused.
    response = cc(m2m_client.client.client_id, m2m_client.client_secret, via="post")
    assert response.status_code == 401
    post_client = make_client(
        client_name="p", grant_types=["client_credentials"], token_endpoint_auth_method="client_secret_post"
    )
    assert cc(post_client.client.client_id, post_client.client_secret, via="post").status_code == 200
    assert cc(post_client.client.client_id, post_client.client_secret, via="basic").status_code == 401


def test_two_authentication_methods_at_once_are_refused(m2m_client):
    response = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "client_credentials",
            "client_id": m2m_client.client.client_id,
            "client_secret": m2m_client.client_secret,
        },
        HTTP_AUTHORIZATION=basic(m2m_client.client.client_id, m2m_client.client_secret),
    )
    assert response.status_code == 401


def test_a_generated_secret_is_checked_without_a_slow_hash(m2m_client, monkeypatch):
    slow_calls = []
    for hasher in (
        hashers.Argon2PasswordHasher,
        hashers.PBKDF2PasswordHasher,
        hashers.BCryptSHA256PasswordHasher,
    ):
        original = hasher.verify

        def spy(self, password, encoded, _original=original, _name=hasher.__name__):
            slow_calls.append(_name)
            return _original(self, password, encoded)

        monkeypatch.setattr(hasher, "verify", spy)

    assert cc(m2m_client.client.client_id, m2m_client.client_secret).status_code == 200
    assert cc(m2m_client.client.client_id, "ciam_cs_wrong-secret").status_code == 401
    assert slow_calls == []


def test_a_supplied_secret_is_checked_with_argon2(make_client):
    result = make_client(
        client_name="migrated", grant_types=["client_credentials"], client_secret="legacy-secret-from-hydra"
    )
    assert result.client.client_secret.startswith("argon2$")
    assert cc(result.client.client_id, "legacy-secret-from-hydra").status_code == 200
    assert cc(result.client.client_id, "legacy-secret-from-hydrA").status_code == 401


def test_a_stored_hash_is_not_accepted_as_the_secret(m2m_client):
    stored = type(m2m_client.client).objects.get(pk=m2m_client.client.pk).client_secret
    assert cc(m2m_client.client.client_id, stored).status_code == 401


# --- Token persistence and refresh tokens -----------------------------------------------------------


def test_a_refresh_token_is_issued_only_to_clients_allowed_the_grant(flow, make_client):
    no_refresh = make_client(
        client_name="spa",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        redirect_uris=["http://127.0.0.1:8765/callback"],
        scope="openid",
    ).client
    body = tokens_for(flow, no_refresh, scope="openid")
    assert "refresh_token" not in body
    assert not RefreshToken.objects.filter(application=no_refresh).exists()


def test_refresh_rotates_the_refresh_token(flow, public_client):
    first = tokens_for(flow, public_client.client)
    second = refresh(public_client.client.client_id, first["refresh_token"])
    assert second.status_code == 200, second.content
    body = second.json()
    assert body["refresh_token"].startswith("ciam_rt_")
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    # The old access token was replaced.
    old = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
    assert old.status_code == 401


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(flow, public_client):
    first = tokens_for(flow, public_client.client)
    second = refresh(public_client.client.client_id, first["refresh_token"]).json()

    reuse = refresh(public_client.client.client_id, first["refresh_token"])

    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # The legitimate holder's newer tokens are gone too (RFC 9700 §4.14.2).
    assert refresh(public_client.client.client_id, second["refresh_token"]).status_code == 400
    assert (
        DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {second['access_token']}").status_code
        == 401
    )


@pytest.mark.security("refresh-token-of-another-client")
def test_a_refresh_token_of_one_client_cannot_be_used_by_another(flow, public_client, make_client):
    other = make_client(
        client_name="other",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["http://127.0.0.1:8765/callback"],
        scope="openid",
    ).client
    body = tokens_for(flow, public_client.client)
    response = refresh(other.client_id, body["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_cannot_widen_the_scope(flow, public_client):
    body = tokens_for(flow, public_client.client, scope="openid email")
    response = refresh(public_client.client.client_id, body["refresh_token"], scope="openid email profile")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_refresh_can_narrow_the_scope(flow, public_client):
    body = tokens_for(flow, public_client.client, scope="openid email")
    response = refresh(public_client.client.client_id, body["refresh_token"], scope="openid")
    assert response.status_code == 200
    assert response.json()["scope"] == "openid"


def test_a_confidential_client_must_authenticate_to_refresh(flow, confidential_client):
    client = confidential_client.client
    body = confidential_tokens(flow, confidential_client)
    unauthenticated = refresh(client.client_id, body["refresh_token"])
    assert unauthenticated.status_code == 401
    ok = refresh(client.client_id, body["refresh_token"], client_secret=confidential_client.client_secret)
    assert ok.status_code == 200


def test_an_idle_refresh_token_expires(flow, public_client, settings):
    body = tokens_for(flow, public_client.client)
    AccessToken.objects.filter(application=public_client.client).update(
        expires=timezone.now() - timedelta(seconds=settings.CIAM_REFRESH_TOKEN_LIFESPAN + 1)
    )
    assert refresh(public_client.client.client_id, body["refresh_token"]).status_code == 400


def test_the_client_refresh_lifespan_is_honoured(flow, public_client):
    client_update(client=public_client.client, refresh_token_lifespan=600)
    body = tokens_for(flow, public_client.client)
    AccessToken.objects.filter(application=public_client.client).update(
        expires=timezone.now() - timedelta(seconds=601)
    )
    assert refresh(public_client.client.client_id, body["refresh_token"]).status_code == 400


def test_a_revoked_refresh_token_is_refused(flow, public_client):
    body = tokens_for(flow, public_client.client)
    form_post(
        DjangoClient(),
        "/oauth2/revoke",
        {"token": body["refresh_token"], "client_id": public_client.client.client_id},
    )
    assert refresh(public_client.client.client_id, body["refresh_token"]).status_code == 400


# --- ID tokens --------------------------------------------------------------------------------------


def test_the_id_token_carries_the_required_claims(flow, public_client, user, settings):
    body = tokens_for(flow, public_client.client, scope="openid email")
    token = jwt.JWT(jwt=body["id_token"], key=jwks_set(), expected_type="JWS")
    header, claims = json.loads(token.header), json.loads(token.claims)
    assert header["alg"] == "RS256" and header["kid"] == current_signing_key().kid
    assert claims["iss"] == settings.CIAM_ISSUER
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == public_client.client.client_id
    assert claims["exp"] - claims["iat"] == 3600
    assert "auth_time" in claims and "at_hash" in claims
    assert claims["email"] == user.email and claims["email_verified"] is True
    assert "name" not in claims  # profile was not granted


def test_the_nonce_reaches_the_id_token(flow, public_client):

    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, extra={"nonce": "n-0S6_WzA2Mj"})
    body = exchange(Web(), public_client.client.client_id, code, verifier).json()
    claims = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set(), expected_type="JWS").claims)
    assert claims["nonce"] == "n-0S6_WzA2Mj"


# --- Garbage in, an OAuth2 error out ----------------------------------------------------------------


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

    verifier, challenge = pkce_pair()
    flow.code(public_client.client.client_id, challenge=challenge)
    stored = Grant.objects.values_list("code", flat=True).get()
    response = exchange(DjangoClient(), public_client.client.client_id, stored, verifier)
    assert assert_oauth_error(response, 400)["error"] == "invalid_grant"


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


# --- Asynchronous commit (CIAM_CC_TOKEN_ASYNC_COMMIT) ---------------------------------------

ASYNC = "SET LOCAL synchronous_commit TO OFF"
ON_POSTGRESQL = on_postgresql("synchronous_commit is PostgreSQL's")


def issue(client, made):
    return form_post(
        client,
        "/oauth2/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(made.client.client_id, made.client_secret),
    )


def sqls(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


def show_synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_it_is_off_unless_the_operator_asks(client, m2m_client, settings):
    assert settings.CIAM_CC_TOKEN_ASYNC_COMMIT is False
    with CaptureQueriesContext(connection) as queries:
        assert issue(client, m2m_client).status_code == 200
    assert ASYNC not in sqls(queries)


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_asked_for_a_client_credentials_token_is_committed_without_waiting_and_seen_at_once(
    client, m2m_client, settings
):
    settings.CIAM_CC_TOKEN_ASYNC_COMMIT = True
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = issue(client, m2m_client)
        assert response.status_code == 200
        statements = sqls(queries)
        at = statements.index(ASYNC)
        assert statements[at + 1].startswith('INSERT INTO "oauth_accesstoken"')
        # For that token's transaction only: this connection's next writes wait for the disk.
        assert show_synchronous_commit() == "on"
        # Committed: another connection sees the token at once.
        with second_connection() as other:
            row = other.execute(
                "SELECT count(*) FROM oauth_accesstoken WHERE token_checksum = %s",
                [token_checksum(response.json()["access_token"])],
            ).fetchone()
        assert row[0] == 1
        assert introspect(response.json()["access_token"])["active"] is True


@ON_POSTGRESQL
@pytest.mark.django_db
def test_inside_a_transaction_it_is_never_asked(client, m2m_client, settings):
    # (Test transactions wrap every request here: the whole transaction would be affected.)
    settings.CIAM_CC_TOKEN_ASYNC_COMMIT = True
    with CaptureQueriesContext(connection) as queries:
        assert issue(client, m2m_client).status_code == 200
    assert ASYNC not in sqls(queries)


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_tokens_of_a_person_always_wait_for_the_disk(flow, public_client, settings):
    settings.CIAM_CC_TOKEN_ASYNC_COMMIT = True
    with CaptureQueriesContext(connection) as queries:
        tokens = tokens_for(flow, public_client.client)
        assert refresh(public_client.client.client_id, tokens["refresh_token"]).status_code == 200
    assert any(sql.startswith("INSERT") for sql in sqls(queries))
    assert ASYNC not in sqls(queries)


def test_auth_time_amr_acr_and_sid_reach_the_id_token_and_survive_refresh(user, public_client):
    web = signed_in(user, auth_age=120)
    session_auth = web.session[SESSION_KEY]
    verifier, challenge = pkce_pair()
    location = authorize(web, public_client.client.client_id, code_challenge=challenge)["Location"]
    code = query_of(consent(web, location, scopes=["email"])["Location"])["code"]
    tokens = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()
    claims = json.loads(jwt.JWT(jwt=tokens["id_token"], key=jwks_set(), expected_type="JWS").claims)
    assert claims["auth_time"] == session_auth["auth_time"]
    assert claims["amr"] == ["pwd"] and claims["acr"] == "1" and claims["sid"] == session_auth["sid"]

    refreshed = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public_client.client.client_id,
        },
    ).json()
    claims = json.loads(jwt.JWT(jwt=refreshed["id_token"], key=jwks_set(), expected_type="JWS").claims)
    assert claims["auth_time"] == session_auth["auth_time"] and claims["sid"] == session_auth["sid"]

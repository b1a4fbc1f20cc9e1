"""/oauth2/token: client credentials, refresh tokens, client authentication and lifetimes."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import hashers
from django.test import Client as DjangoClient
from django.utils import timezone
from jwcrypto import jwk, jwt

from ciam.oauth.models import AccessToken, RefreshToken
from clients.services import client_update
from tests.helpers import basic, cc, confidential_tokens, form_post, refresh, tokens_for

pytestmark = pytest.mark.django_db


# --- Client credentials -------------------------------------------------------------------------


def test_client_credentials_issues_an_opaque_prefixed_access_token(m2m_client):
    response = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].startswith("ciam_at_")
    assert len(body["access_token"]) >= len("ciam_at_") + 43  # 256 random bits
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "email"
    assert "refresh_token" not in body
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_client_credentials_without_scope_grants_no_scope(m2m_client):
    body = cc(m2m_client.client.client_id, m2m_client.client_secret).json()
    assert body.get("scope", "") == ""
    token = AccessToken.objects.get(application=m2m_client.client)
    assert token.scope == ""


def test_client_credentials_refuses_a_scope_the_client_is_not_allowed(m2m_client):
    response = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email profile")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


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


def test_a_client_without_the_grant_is_unauthorized_client(confidential_client):
    response = cc(confidential_client.client.client_id, confidential_client.client_secret, via="post")
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


def test_a_disabled_client_gets_no_token(m2m_client):
    type(m2m_client.client).objects.filter(pk=m2m_client.client.pk).update(is_active=False)
    response = cc(m2m_client.client.client_id, m2m_client.client_secret)
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


def test_per_client_access_token_lifespan(m2m_client):
    client_update(client=m2m_client.client, access_token_lifespan=300)
    body = cc(m2m_client.client.client_id, m2m_client.client_secret).json()
    assert body["expires_in"] == 300
    token = AccessToken.objects.get(application=m2m_client.client)
    remaining = (token.expires - timezone.now()).total_seconds()
    assert 290 < remaining <= 300


def test_jwt_access_tokens_are_rfc9068_and_verify_against_the_jwks(make_client, settings):
    result = make_client(
        client_name="jwt",
        grant_types=["client_credentials"],
        scope="email",
        access_token_strategy="jwt",
        audience=["https://api.example.com"],
    )
    body = cc(result.client.client_id, result.client_secret, scope="email").json()
    keyset = jwk.JWKSet.from_json(DjangoClient().get("/.well-known/jwks.json").content.decode())
    token = jwt.JWT(jwt=body["access_token"], key=keyset, expected_type="JWS")
    header = json.loads(token.header)
    claims = json.loads(token.claims)
    assert header["typ"] == "at+jwt"
    assert header["kid"] in [k["kid"] for k in json.loads(keyset.export(private_keys=False))["keys"]]
    assert claims["iss"] == settings.CIAM_ISSUER
    assert claims["sub"] == result.client.client_id
    assert claims["client_id"] == result.client.client_id
    assert claims["aud"] == ["https://api.example.com"]
    assert claims["scope"] == "email"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]
    # It is also known to the server: introspectable and revocable like an opaque one.
    introspected = form_post(
        DjangoClient(),
        "/oauth2/introspect",
        {"token": body["access_token"]},
        HTTP_AUTHORIZATION=basic(result.client.client_id, result.client_secret),
    ).json()
    assert introspected["active"] is True


# --- Refresh tokens -----------------------------------------------------------------------------


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

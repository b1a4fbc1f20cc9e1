"""OpenID Connect: discovery, JWKS and key rotation, ID tokens, userinfo, RP-initiated logout."""

import json

import pytest
from django.core.management import call_command
from django.test import Client as DjangoClient
from jwcrypto import jwk, jwt

from ciam.oauth.keys import current_signing_key, decrypt_private
from ciam.oauth.models import SigningKey
from tests.helpers import cc, jwks_set, query_of, tokens_for

pytestmark = pytest.mark.django_db


def test_discovery_lists_every_endpoint_and_capability(settings):
    response = DjangoClient().get("/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    issuer = settings.CIAM_ISSUER
    assert doc["issuer"] == issuer
    assert doc["authorization_endpoint"] == issuer + "/oauth2/auth"
    assert doc["token_endpoint"] == issuer + "/oauth2/token"
    assert doc["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert doc["userinfo_endpoint"] == issuer + "/userinfo"
    assert doc["revocation_endpoint"] == issuer + "/oauth2/revoke"
    assert doc["introspection_endpoint"] == issuer + "/oauth2/introspect"
    assert doc["end_session_endpoint"] == issuer + "/oauth2/sessions/logout"
    assert set(doc["grant_types_supported"]) >= {"authorization_code", "refresh_token", "client_credentials"}
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email", "offline_access"} <= set(doc["scopes_supported"])
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email", "name"} <= set(
        doc["claims_supported"]
    )


def test_the_jwks_publishes_the_signing_key_with_its_kid_and_no_private_part():
    key = current_signing_key()
    published = DjangoClient().get("/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in published] == [key.kid]
    entry = published[0]
    assert entry["kty"] == "RSA" and entry["alg"] == "RS256" and entry["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(entry)
    assert len(jwk.JWK(**entry).export_public()) > 0
    assert int.from_bytes(jwk.base64url_decode(entry["n"]), "big").bit_length() == 2048


def test_the_private_key_is_encrypted_at_rest():
    current_signing_key()
    record = SigningKey.objects.get()
    assert '"d"' not in record.private_jwk_encrypted
    assert '"d"' in decrypt_private(record.private_jwk_encrypted)


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(flow, public_client):
    old = current_signing_key().kid
    call_command("rotate_keys")
    new = current_signing_key().kid
    assert new != old
    kids = [k["kid"] for k in DjangoClient().get("/.well-known/jwks.json").json()["keys"]]
    assert kids[0] == new and old in kids

    body = tokens_for(flow, public_client.client)
    header = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set(), expected_type="JWS").header)
    assert header["kid"] == new

    retired = SigningKey.objects.get(kid=old)
    assert retired.status == "retired (published)"


def test_a_retired_key_leaves_the_jwks_when_its_tokens_have_expired():
    from django.utils import timezone

    old = current_signing_key().kid
    call_command("rotate_keys")
    SigningKey.objects.filter(kid=old).update(publish_until=timezone.now())
    kids = [k["kid"] for k in DjangoClient().get("/.well-known/jwks.json").json()["keys"]]
    assert old not in kids


def test_rotate_keys_if_missing_creates_only_one(capsys):
    call_command("rotate_keys", "--if-missing")
    call_command("rotate_keys", "--if-missing")
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


def test_es256_keys_are_supported(flow, public_client):
    call_command("rotate_keys", "--algorithm", "ES256")
    body = tokens_for(flow, public_client.client)
    header = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set(), expected_type="JWS").header)
    assert header["alg"] == "ES256"


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
    from django.test import Client as Web

    from tests.helpers import exchange, pkce_pair

    verifier, challenge = pkce_pair()
    code = flow.code(public_client.client.client_id, challenge=challenge, extra={"nonce": "n-0S6_WzA2Mj"})
    body = exchange(Web(), public_client.client.client_id, code, verifier).json()
    claims = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set(), expected_type="JWS").claims)
    assert claims["nonce"] == "n-0S6_WzA2Mj"


def test_userinfo_releases_only_the_claims_of_granted_scopes(flow, public_client, user):
    body = tokens_for(flow, public_client.client, scope="openid email")
    response = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"] == str(user.pk)
    assert claims["email"] == "alice@example.com"
    assert "name" not in claims and "given_name" not in claims

    full = tokens_for(flow, public_client.client, scope="openid profile email")
    from tests.helpers import form_post

    claims = form_post(
        DjangoClient(), "/userinfo", {}, HTTP_AUTHORIZATION=f"Bearer {full['access_token']}"
    ).json()
    assert claims["name"] == "Alice Liddell" and claims["family_name"] == "Liddell"


def test_userinfo_needs_a_valid_token_with_openid(m2m_client):
    anonymous = DjangoClient().get("/userinfo")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_token"
    assert "Bearer" in anonymous["WWW-Authenticate"]
    garbage = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION="Bearer garbage")
    assert garbage.status_code == 401
    m2m = cc(m2m_client.client.client_id, m2m_client.client_secret, scope="email").json()["access_token"]
    no_openid = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {m2m}")
    assert no_openid.status_code == 403
    assert no_openid.json()["error"] == "insufficient_scope"


# --- RP-initiated logout ----------------------------------------------------------------------------


def test_logout_with_a_valid_hint_ends_the_session_and_returns_to_the_client(flow, confidential_client):
    from tests.helpers import confidential_tokens

    body = confidential_tokens(flow, confidential_client)

    response = flow.web.get(
        "/oauth2/sessions/logout",
        {
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://app.example.com/bye",
            "state": "bye-state",
        },
    )

    assert response.status_code == 302
    assert response["Location"].startswith("https://app.example.com/bye")
    assert query_of(response["Location"])["state"] == "bye-state"
    assert "_auth_user_id" not in flow.web.session


def test_logout_without_a_hint_asks_for_confirmation(flow):
    response = flow.web.get("/oauth2/sessions/logout")
    assert response.status_code == 200
    assert b"Sign out" in response.content


def test_logout_with_an_unknown_client_id_is_a_400_page_not_a_500(flow):
    # Found by the property-based tests: the toolkit's lookup raised DoesNotExist.
    response = flow.web.get(
        "/oauth2/sessions/logout",
        {"client_id": "c-nope", "post_logout_redirect_uri": "https://app.example.com/bye"},
    )
    assert response.status_code == 400
    assert "Location" not in response

"""Discovery and the JWKS (ciam.oauth.views.discovery)."""

import pytest
from django.test import Client as DjangoClient
from jwcrypto import jwk

from ciam.oauth.keys import current_signing_key

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

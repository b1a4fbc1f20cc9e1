"""ciam.oauth.tokens: token formats (opaque, RFC 9068 JWT) and revocation."""

import json

import pytest
from django.test import Client as DjangoClient
from jwcrypto import jwk, jwt

from tests.helpers import basic, cc, form_post

pytestmark = pytest.mark.django_db


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

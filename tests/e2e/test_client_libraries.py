"""End to end against a live server, with client libraries nobody here wrote: Authlib and
requests-oauthlib. The person's part (sign in, consent) is driven through the real pages with a
`requests` session, the way a browser would submit them."""

import html
import json
import re
import time
from urllib.parse import urljoin

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from jwcrypto import jwk, jwt

from ciam.accounts.models import User
from clients.services import client_create
from tests.helpers import CALLBACK, PASSWORD, query_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def person(_fast_password_hashing):
    return User.objects.create_user(
        email="erin@example.com",
        password=PASSWORD,
        name="Erin Example",
        given_name="Erin",
        family_name="Example",
        email_verified=True,
    )


def sign_in_and_consent(
    base: str, authorize_url: str, *, email: str = "erin@example.com", deny_scopes: tuple[str, ...] = ()
) -> str:
    """Follow the authorization URL through /login and /consent; return the callback URL."""
    web = requests.Session()
    response = web.get(authorize_url, allow_redirects=False, timeout=10)
    for _ in range(6):
        assert response.status_code in (200, 302), response.text[:500]
        location = response.headers.get("Location", "")
        if location.startswith(CALLBACK) or location.startswith("https://app.example.com/"):
            return location
        if response.status_code == 302:
            response = web.get(urljoin(base, location), allow_redirects=False, timeout=10)
            continue
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text).group(1)
        if 'name="password"' in response.text:
            # Every hidden field, as a browser sends them (the CSRF token, the login challenge).
            hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
            response = web.post(
                urljoin(base, "/login"),
                allow_redirects=False,
                timeout=10,
                data={
                    **{k: html.unescape(v) for k, v in hidden.items()},
                    "email": email,
                    "password": PASSWORD,
                },
            )
        else:
            challenge = re.search(r'name="consent_challenge" value="([^"]+)"', response.text).group(1)
            scopes = [
                s
                for s in re.findall(r'name="grant_scope" value="([^"]+)"', response.text)
                if s not in deny_scopes
            ]
            response = web.post(
                urljoin(base, "/consent"),
                allow_redirects=False,
                timeout=10,
                data={
                    "csrfmiddlewaretoken": csrf,
                    "consent_challenge": challenge,
                    "grant_scope": scopes,
                    "allow": "1",
                },
            )
    raise AssertionError("the flow did not reach the client's callback")


def verified_id_token(base: str, id_token: str, *, audience: str, nonce: str | None = None) -> dict:
    """Validate an ID token the way a relying party does: signature from the JWKS, then claims."""
    keyset = jwk.JWKSet.from_json(requests.get(f"{base}/.well-known/jwks.json", timeout=10).text)
    token = jwt.JWT(
        jwt=id_token,
        key=keyset,
        expected_type="JWS",
        check_claims={"iss": base, "aud": audience, "exp": None},
    )
    claims = json.loads(token.claims)
    if nonce is not None:
        assert claims["nonce"] == nonce
    assert claims["iat"] <= time.time() + 5
    return claims


# --- Authlib ------------------------------------------------------------------------------------


def test_authlib_client_credentials(live_issuer):
    result = client_create(client_name="svc", grant_types=["client_credentials"], scope="email")
    session = OAuth2Session(
        result.client.client_id,
        result.client_secret,
        token_endpoint_auth_method="client_secret_basic",
        scope="email",
    )
    token = session.fetch_token(f"{live_issuer}/oauth2/token", grant_type="client_credentials")
    assert token["access_token"].startswith("ciam_at_")
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "email"

    post_client = client_create(
        client_name="svc2",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_post",
    )
    session = OAuth2Session(
        post_client.client.client_id,
        post_client.client_secret,
        token_endpoint_auth_method="client_secret_post",
    )
    assert session.fetch_token(f"{live_issuer}/oauth2/token", grant_type="client_credentials")["access_token"]


def test_authlib_authorization_code_with_pkce_refresh_and_revoke(live_issuer, person):
    discovery = requests.get(f"{live_issuer}/.well-known/openid-configuration", timeout=10).json()
    result = client_create(
        client_name="CLI",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email",
        redirect_uris=[CALLBACK],
    )
    client_id = result.client.client_id
    session = OAuth2Session(
        client_id,
        redirect_uri=CALLBACK,
        scope="openid profile email",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier, nonce = generate_token(64), generate_token(16)
    url, state = session.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    callback = sign_in_and_consent(live_issuer, url)

    assert query_of(callback)["iss"] == live_issuer
    token = session.fetch_token(
        discovery["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    assert token["access_token"].startswith("ciam_at_") and token["refresh_token"].startswith("ciam_rt_")
    claims = verified_id_token(live_issuer, token["id_token"], audience=client_id, nonce=nonce)
    assert claims["sub"] == str(person.pk)
    assert claims["email"] == "erin@example.com"

    userinfo = session.get(discovery["userinfo_endpoint"]).json()
    assert userinfo["sub"] == str(person.pk) and userinfo["name"] == "Erin Example"

    refreshed = session.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]

    revoked = session.revoke_token(
        discovery["revocation_endpoint"], token=refreshed["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200
    after = requests.get(
        discovery["userinfo_endpoint"],
        timeout=10,
        headers={"Authorization": f"Bearer {refreshed['access_token']}"},
    )
    assert after.status_code == 401


def test_authlib_sees_only_the_granted_claims(live_issuer, person):
    result = client_create(
        client_name="narrow",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid profile email",
        redirect_uris=[CALLBACK],
    )
    session = OAuth2Session(
        result.client.client_id,
        redirect_uri=CALLBACK,
        scope="openid profile email",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(f"{live_issuer}/oauth2/auth", code_verifier=verifier)
    callback = sign_in_and_consent(live_issuer, url, deny_scopes=("profile",))
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=callback, code_verifier=verifier
    )
    assert set(token["scope"].split()) == {"openid", "email"}
    assert "refresh_token" not in token  # the client is not allowed the refresh_token grant
    userinfo = session.get(f"{live_issuer}/userinfo").json()
    assert userinfo["email"] == "erin@example.com" and "name" not in userinfo


# --- requests-oauthlib -----------------------------------------------------------------------------


def test_requests_oauthlib_confidential_client_with_pkce(live_issuer, person, monkeypatch):
    from requests_oauthlib import OAuth2Session as RequestsOAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live test server speaks plain http
    result = client_create(
        client_name="Server",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email",
        redirect_uris=["https://app.example.com/callback"],
        token_endpoint_auth_method="client_secret_basic",
    )
    session = RequestsOAuth2Session(
        result.client.client_id,
        redirect_uri="https://app.example.com/callback",
        scope=["openid", "email"],
        pkce="S256",
    )
    url, state = session.authorization_url(f"{live_issuer}/oauth2/auth")
    callback = sign_in_and_consent(live_issuer, url)
    assert query_of(callback)["state"] == state
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token", authorization_response=callback, client_secret=result.client_secret
    )
    assert token["access_token"].startswith("ciam_at_")
    verified_id_token(live_issuer, token["id_token"], audience=result.client.client_id)
    assert session.get(f"{live_issuer}/userinfo").json()["email"] == "erin@example.com"
    refreshed = session.refresh_token(
        f"{live_issuer}/oauth2/token", auth=(result.client.client_id, result.client_secret)
    )
    assert refreshed["access_token"] != token["access_token"]


def test_requests_oauthlib_backend_application(live_issuer, monkeypatch):
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session as RequestsOAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    result = client_create(client_name="batch", grant_types=["client_credentials"], scope="email")
    session = RequestsOAuth2Session(client=BackendApplicationClient(client_id=result.client.client_id))
    token = session.fetch_token(
        f"{live_issuer}/oauth2/token",
        client_id=result.client.client_id,
        client_secret=result.client_secret,
        scope=["email"],
    )
    assert token["access_token"].startswith("ciam_at_")
    introspection = requests.post(
        f"{live_issuer}/oauth2/introspect",
        data={"token": token["access_token"]},
        auth=(result.client.client_id, result.client_secret),
        timeout=10,
    ).json()
    assert introspection["active"] is True and introspection["client_id"] == result.client.client_id


def test_discovery_and_jwks_are_consistent_on_a_live_server(live_issuer):
    discovery = requests.get(f"{live_issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == live_issuer
    keys = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    assert keys and all("kid" in k for k in keys)

"""What an outside review found, tried as an attacker would: unauthenticated 500s, a registration
that could not be updated, guessable client secrets, and NUL characters that only PostgreSQL
refuses. Each test names the attack; CHECKLIST.md lists them."""

import json

import pytest
import requests
from django.test import Client as DjangoClient

from ciam.accounts.models import FailedAttempt, User
from clients.models import Client
from tests.helpers import CALLBACK, authorize_params, basic, call, cc, form_post, pkce_pair, query_of

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def post_json(path, body, **extra):
    return DjangoClient().post(path, body, content_type="application/json", **extra)


# --- Unauthenticated 500s -----------------------------------------------------------------------


@pytest.mark.security("unauthenticated-crash")
@pytest.mark.parametrize("claims", ["{x", "[1, 2]", '"a string"', "{" * 5000])
def test_a_malformed_claims_parameter_goes_back_to_the_client_as_invalid_request(
    browser, public_client, claims
):
    _, challenge = pkce_pair()
    params = authorize_params(public_client.client.client_id, challenge=challenge, state="s9", claims=claims)
    response = browser.get("/oauth2/auth", params)
    assert response.status_code == 302
    answer = query_of(response["Location"])
    assert response["Location"].startswith(CALLBACK)
    assert answer["error"] == "invalid_request" and "claims" in answer["error_description"]
    assert answer["state"] == "s9"


@pytest.mark.security("unauthenticated-crash")
def test_a_malformed_claims_parameter_for_an_unknown_client_is_the_error_page(browser):
    response = browser.get("/oauth2/auth", authorize_params("c-nobody", claims="{x"))
    assert response.status_code == 400 and "Location" not in response


@pytest.mark.security("unauthenticated-crash")
@pytest.mark.parametrize("path", ["/oauth2/register", "/admin/clients", "/admin/identities"])
def test_a_deeply_nested_json_body_is_a_400(path, settings, admin_bearer):
    settings.CIAM_DCR_ENABLED = True
    for body in (DEEP, '{"client_name": ' + "[" * 40 + "]" * 40 + "}"):
        response = post_json(path, body, HTTP_AUTHORIZATION=admin_bearer)
        assert response.status_code == 400, response.content[:200]
        assert "nested" in response.json()["error_description"]
    assert not Client.objects.exists()


# --- RFC 7592: an update with what the registration's own GET returned --------------------------


@pytest.mark.security("dcr-update-crash")
@pytest.mark.django_db(transaction=True)
def test_a_registration_can_be_put_back_exactly_as_its_get_returned_it(live_issuer, settings):
    settings.CIAM_DCR_ENABLED = True
    created = requests.post(
        f"{live_issuer}/oauth2/register",
        json={"client_name": "dyn", "redirect_uris": ["https://app.example.com/cb"], "scope": "openid"},
        timeout=10,
    ).json()
    auth = {"Authorization": f"Bearer {created['registration_access_token']}"}
    uri = created["registration_client_uri"]
    current = requests.get(uri, headers=auth, timeout=10).json()
    assert current["token_endpoint_auth_method"] == "client_secret_basic"
    put = requests.put(uri, json={**current, "client_name": "renamed"}, headers=auth, timeout=10)
    assert put.status_code == 200, put.text
    assert put.json()["client_name"] == "renamed"
    assert put.json()["token_endpoint_auth_method"] == "client_secret_basic"
    again = requests.put(uri, json=put.json(), headers=auth, timeout=10)
    assert again.status_code == 200, again.text


# --- Client secrets a person chooses, and guessing them -----------------------------------------


@pytest.mark.security("client-secret-guessing")
@pytest.mark.parametrize("secret", ["sixsix", "x" * 23, "abababababababababababab"])
def test_a_weak_chosen_client_secret_is_refused(api, secret):
    response = call(
        api, "post", "/admin/clients", {"grant_types": ["client_credentials"], "client_secret": secret}
    )
    assert response.status_code == 400 and "client_secret" in response.json()["error_description"]
    assert not Client.objects.exists()


@pytest.mark.security("client-secret-guessing")
def test_guessing_a_client_secret_is_throttled_per_client_and_address_never_the_right_secret(
    m2m_client, settings
):
    settings.CIAM_CLIENT_AUTH_MAX_FAILURES = 3
    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret

    def attempt(candidate, ip="203.0.113.7", via="basic"):
        body = {"grant_type": "client_credentials"}
        if via == "basic":
            return form_post(
                DjangoClient(REMOTE_ADDR=ip),
                "/oauth2/token",
                body,
                HTTP_AUTHORIZATION=basic(client_id, candidate),
            )
        return form_post(
            DjangoClient(REMOTE_ADDR=ip),
            "/oauth2/token",
            {**body, "client_id": client_id, "client_secret": candidate},
        )

    for n in range(3):
        assert attempt(f"guess-{n}", via="basic" if n % 2 else "post").status_code == 401
    refused = attempt("guess-3")
    assert refused.status_code == 429 and refused.json()["error"] == "invalid_client"
    assert 0 < int(refused["Retry-After"]) <= settings.CIAM_LOGIN_FAILURE_WINDOW
    # The right secret still works from that very address, and from elsewhere.
    assert attempt(secret).status_code == 200
    assert attempt(secret, ip="198.51.100.9").status_code == 200
    # Another address guessing is counted on its own; so is another client from the same one.
    assert attempt("guess", ip="198.51.100.9").status_code == 401
    assert cc("c-someone-else", "guess").status_code == 401
    # Revocation and introspection are the same endpoint guard.
    revoke = form_post(
        DjangoClient(REMOTE_ADDR="203.0.113.7"),
        "/oauth2/revoke",
        {"token": "x"},
        HTTP_AUTHORIZATION=basic(client_id, "g"),
    )
    assert revoke.status_code == 429
    rows = FailedAttempt.objects.filter(kind=FailedAttempt.Kind.CLIENT_SECRET)
    assert rows.filter(key=client_id, ip_address="203.0.113.7").count() >= 4
    assert not rows.filter(key__contains="guess").exists()  # the secret tried is never kept


# --- NUL characters: the same 400 on SQLite and PostgreSQL --------------------------------------


@pytest.mark.security("nul-in-json")
@pytest.mark.parametrize(
    "body, field",
    [
        ({"client_name": "a\x00b"}, "client_name"),
        ({"metadata": {"team": "a\x00b"}}, "metadata.team"),
        ({"metadata": {"k\x00": "v"}}, "metadata.k\\u0000"),
        ({"metadata": {"deep": [{"x": ["ok", "n\x00"]}]}}, "metadata.deep.0.x.1"),
        ({"contacts": ["a\x00@example.com"]}, "contacts.0"),
        ({"owner": "\x00"}, "owner"),
    ],
)
def test_a_nul_character_in_a_client_is_a_400_naming_the_field(api, body, field):
    response = call(api, "post", "/admin/clients", {"grant_types": ["client_credentials"], **body})
    assert response.status_code == 400, response.content
    assert response.json()["error_description"].startswith(f"{field}: Null characters")
    assert not Client.objects.exists()


@pytest.mark.security("nul-in-json")
def test_a_nul_character_in_an_identity_or_a_registration_is_a_400_naming_the_field(api, settings, user):
    settings.CIAM_DCR_ENABLED = True
    created = call(api, "post", "/admin/identities", {"email": "n@example.com", "given_name": "N\x00"})
    assert created.status_code == 400 and "given_name" in created.json()["error_description"]
    patched = call(api, "patch", f"/admin/identities/{user.pk}", {"name": "\x00"})
    assert patched.status_code == 400 and "name" in patched.json()["error_description"]
    registered = post_json(
        "/oauth2/register", json.dumps({"client_name": "x\x00", "grant_types": ["client_credentials"]})
    )
    assert registered.status_code == 400
    assert registered.json()["error_description"].startswith("client_name: Null characters")
    assert not User.objects.filter(email="n@example.com").exists() and not Client.objects.exists()

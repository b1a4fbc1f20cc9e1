"""The official ory-hydra-client SDK (from PyPI) against a live server, with an admin token."""

import re

import ory_hydra_client as hydra
import pytest
import requests
from ory_hydra_client.api.jwk_api import JwkApi
from ory_hydra_client.api.metadata_api import MetadataApi
from ory_hydra_client.api.o_auth2_api import OAuth2Api

from ciam.api.services import admin_token_create
from clients.services import client_create
from tests.helpers import live_m2m_token, tokens_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sdk(live_issuer):
    _, token = admin_token_create(actor=None, name="sdk tests")
    configuration = hydra.Configuration(host=live_issuer, access_token=token)
    api_client = hydra.ApiClient(configuration, header_name="Authorization", header_value=f"Bearer {token}")
    return OAuth2Api(api_client)


def next_token(link: str) -> str | None:
    match = re.search(r'page_token=([^&>]+)>; rel="next"', link or "")
    return requests.utils.unquote(match.group(1)) if match else None


def test_the_sdk_creates_reads_patches_replaces_and_deletes_clients(sdk, live_issuer):
    created = sdk.create_o_auth2_client(
        hydra.OAuth2Client(
            client_name="sdk-client",
            grant_types=["client_credentials"],
            scope="email",
            token_endpoint_auth_method="client_secret_post",
            owner="team-a",
            metadata={"tier": "gold"},
        )
    )
    assert created.client_id.startswith("c-") and created.client_secret.startswith("ciam_cs_")
    assert created.created_at is not None and created.client_secret_expires_at == 0

    fetched = sdk.get_o_auth2_client(created.client_id)
    assert fetched.client_name == "sdk-client" and fetched.client_secret is None
    assert fetched.metadata == {"tier": "gold"} and fetched.owner == "team-a"

    patched = sdk.patch_o_auth2_client(
        created.client_id,
        [
            hydra.JsonPatch(op="replace", path="/client_name", value="patched"),
            hydra.JsonPatch(op="add", path="/contacts/-", value="ops@example.com"),
            hydra.JsonPatch(op="remove", path="/metadata/tier"),
        ],
    )
    assert (
        patched.client_name == "patched"
        and patched.contacts == ["ops@example.com"]
        and patched.metadata == {}
    )
    assert patched.client_secret is None  # the patch did not touch it

    fetched.client_name = "replaced"
    replaced = sdk.set_o_auth2_client(created.client_id, fetched)
    assert replaced.client_name == "replaced" and replaced.client_secret is None
    token = requests.post(
        f"{live_issuer}/oauth2/token",
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": created.client_id,
            "client_secret": created.client_secret,
        },
    )
    assert token.status_code == 200  # PUT kept the secret

    sdk.delete_o_auth2_client(created.client_id)
    with pytest.raises(hydra.exceptions.NotFoundException):
        sdk.get_o_auth2_client(created.client_id)


def test_the_sdk_lists_clients_page_by_page_and_filters(sdk):
    for n in range(5):
        client_create(
            client_name=f"paged-{n}", grant_types=["client_credentials"], owner="team-b" if n < 2 else ""
        )
    seen, token, pages = [], None, 0
    while True:
        response = sdk.list_o_auth2_clients_with_http_info(page_size=2, page_token=token)
        seen.extend(c.client_name for c in response.data)
        pages += 1
        assert 'rel="first"' in response.headers["Link"]
        token = next_token(response.headers["Link"])
        if token is None:
            break
    assert sorted(seen) == [f"paged-{n}" for n in range(5)] and pages == 3
    assert [c.client_name for c in sdk.list_o_auth2_clients(client_name="paged-3")] == ["paged-3"]
    assert sorted(c.client_name for c in sdk.list_o_auth2_clients(owner="team-b")) == ["paged-0", "paged-1"]


def test_the_sdk_reports_validation_errors_naming_the_field(sdk):
    with pytest.raises(hydra.exceptions.BadRequestException) as caught:
        sdk.create_o_auth2_client(
            hydra.OAuth2Client(client_name="bad", redirect_uris=["http://evil.example/cb"])
        )
    assert "redirect_uris" in caught.value.body


def test_the_sdk_introspects_and_lists_and_revokes_consent_sessions(sdk, live_issuer, flow, user):

    app = client_create(
        client_name="App",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email",
        redirect_uris=["http://127.0.0.1:8765/callback"],
    ).client
    tokens = tokens_for(flow, app, scope="openid email")

    introspected = sdk.introspect_o_auth2_token(token=tokens["access_token"])
    assert (
        introspected.active is True
        and introspected.client_id == app.client_id
        and introspected.sub == str(user.pk)
    )
    assert sdk.introspect_o_auth2_token(token="garbage").active is False

    sessions = sdk.list_o_auth2_consent_sessions(subject=str(user.pk))
    assert len(sessions) == 1
    assert sessions[0].consent_request.client.client_id == app.client_id
    assert set(sessions[0].grant_scope) == {"openid", "email"}

    sdk.revoke_o_auth2_consent_sessions(subject=str(user.pk), client=app.client_id)
    assert sdk.list_o_auth2_consent_sessions(subject=str(user.pk)) == []
    assert sdk.introspect_o_auth2_token(token=tokens["access_token"]).active is False


def test_the_sdk_reads_and_rotates_keys_and_reads_the_version(sdk, live_issuer):
    jwk_api = JwkApi(sdk.api_client)
    before = jwk_api.get_json_web_key_set("hydra.openid.id-token")
    created = jwk_api.create_json_web_key_set(
        "hydra.openid.id-token", hydra.CreateJsonWebKeySet(alg="ES256", kid="ignored", use="sig")
    )
    after = jwk_api.get_json_web_key_set("hydra.openid.id-token")
    assert created.keys[0].alg == "ES256"
    assert {k.kid for k in after.keys} >= {k.kid for k in before.keys} | {created.keys[0].kid}
    assert all(k.d is None for k in after.keys)  # public parts only
    assert MetadataApi(sdk.api_client).get_version().version.startswith("v")


def test_the_sdk_revokes_every_token_of_a_client(sdk, live_issuer):
    result, token = live_m2m_token(live_issuer)
    sdk.delete_o_auth2_token(client_id=result.client.client_id)
    assert sdk.introspect_o_auth2_token(token=token).active is False


def test_the_sdk_drives_a_login_and_consent_flow(sdk, live_issuer, settings):
    """The SDK's own models parse every answer of the login and consent provider API."""
    settings.CIAM_LOGIN_URL = "http://127.0.0.1:9/login"
    settings.CIAM_CONSENT_URL = "http://127.0.0.1:9/consent"
    client = client_create(
        client_name="sdk-app",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=["http://127.0.0.1:8765/callback"],
    ).client
    browser = requests.Session()
    start = browser.get(
        f"{live_issuer}/oauth2/auth",
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": "http://127.0.0.1:8765/callback",
            "scope": "openid email",
            "state": "sdk-state",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=10,
    )
    challenge = re.search(r"login_challenge=([^&]+)", start.headers["Location"]).group(1)
    login = sdk.get_o_auth2_login_request(challenge)
    assert login.skip is False and login.client.client_id == client.client_id
    assert login.requested_scope == ["openid", "email"] and login.client.client_secret is None
    accepted = sdk.accept_o_auth2_login_request(
        challenge,
        accept_o_auth2_login_request=hydra.AcceptOAuth2LoginRequest(subject="sdk-user", remember=True),
    )
    to_consent = browser.get(accepted.redirect_to, allow_redirects=False, timeout=10)
    consent_challenge = re.search(r"consent_challenge=([^&]+)", to_consent.headers["Location"]).group(1)
    consent = sdk.get_o_auth2_consent_request(consent_challenge)
    assert consent.subject == "sdk-user" and consent.requested_scope == ["openid", "email"]
    rejected = sdk.reject_o_auth2_consent_request(
        consent_challenge, reject_o_auth2_request=hydra.RejectOAuth2Request(error="access_denied")
    )
    back = browser.get(rejected.redirect_to, allow_redirects=False, timeout=10)
    assert "error=access_denied" in back.headers["Location"] and "state=sdk-state" in back.headers["Location"]
    with pytest.raises(hydra.ApiException) as gone:
        sdk.get_o_auth2_consent_request(consent_challenge)
    assert gone.value.status == 410


def test_the_sdk_ends_a_persons_sign_in_sessions_but_not_their_tokens(
    sdk, live_issuer, flow, user, public_client
):
    tokens = tokens_for(flow, public_client.client)
    assert flow.web.get("/account/apps").status_code == 200
    sdk.revoke_o_auth2_login_sessions(subject=user.email)
    assert flow.web.get("/account/apps")["Location"].startswith("/login?")  # signed out everywhere
    userinfo = requests.get(
        f"{live_issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert userinfo.status_code == 200  # tokens stay valid, as Hydra
    with pytest.raises(hydra.ApiException) as refused:
        sdk.revoke_o_auth2_login_sessions()
    assert refused.value.status == 400

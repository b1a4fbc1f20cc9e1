"""The admin API for clients (clients.apis), Hydra's dialect."""

import pytest

from ciam.audit.models import AuditEvent
from clients.models import Client
from clients.services import client_create
from tests.helpers import call, cc, refresh, tokens_for

pytestmark = pytest.mark.django_db


FIELDS = {
    "client_id",
    "client_name",
    "redirect_uris",
    "grant_types",
    "response_types",
    "scope",
    "audience",
    "token_endpoint_auth_method",
    "post_logout_redirect_uris",
    "allowed_cors_origins",
    "skip_consent",
    "owner",
    "contacts",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "metadata",
    "access_token_strategy",
    "created_at",
    "updated_at",
    "pkce_required",
}


def test_create_answers_201_with_location_every_field_and_the_secret_once(api):
    response = call(
        api, "post", "/admin/clients", {"client_name": "svc", "grant_types": ["client_credentials"]}
    )
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"/admin/clients/{body['client_id']}"
    assert set(body) >= FIELDS and body["client_secret"].startswith("ciam_cs_")
    assert body["redirect_uris"] == [] and body["metadata"] == {} and body["owner"] == ""
    fetched = api.get(f"/admin/clients/{body['client_id']}").json()
    assert set(fetched) >= FIELDS and "client_secret" not in fetched
    assert all("client_secret" not in c for c in api.get("/admin/clients").json())


def test_a_chosen_client_id_and_secret_are_accepted(api):
    body = call(
        api,
        "post",
        "/admin/clients",
        {
            "client_id": "legacy-app",
            "client_secret": "legacy-secret-of-a-migrated-app",
            "grant_types": ["client_credentials"],
        },
    ).json()
    assert body["client_id"] == "legacy-app" and body["client_secret"] == "legacy-secret-of-a-migrated-app"
    assert cc("legacy-app", "legacy-secret-of-a-migrated-app").status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, "redirect_uris"),
        ({"grant_types": "client_credentials,oops"}, "grant_types"),
        ({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}, "grant_types"),
        ({"scope": 42}, "scope"),
        ({"skip_consent": "yes"}, "skip_consent"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"brand_new_field": 1}, "brand_new_field"),
        ({"jwks_uri": "https://example.com/jwks"}, "jwks_uri"),
        ({"client_id": "has space"}, "client_id"),
        ({"client_secret": "short", "grant_types": ["client_credentials"]}, "client_secret"),
        ({"access_token_lifespan": "soon"}, "access_token_lifespan"),
    ],
)
def test_validation_errors_name_the_field_and_write_nothing(api, body, field):
    before = Client.objects.count()
    response = call(api, "post", "/admin/clients", {"client_name": "x", **body})
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["error"] == "invalid_request" and field in payload["error_description"]
    assert Client.objects.count() == before


def test_unknown_ids_are_404_with_an_error_body(api):
    for method in ("get", "put", "patch", "delete"):
        response = call(api, method, "/admin/clients/c-nope", [] if method == "patch" else {})
        assert response.status_code in (404, 400), method
        assert response.json()["error"]
    assert api.get("/admin/clients/c-nope").status_code == 404
    assert api.post("/admin/clients/c-nope/secret").status_code == 404


def test_put_replaces_the_client_and_keeps_the_secret_unless_sent(api):
    body = call(
        api,
        "post",
        "/admin/clients",
        {"client_name": "svc", "grant_types": ["client_credentials"], "owner": "team", "scope": "email"},
    ).json()
    path = f"/admin/clients/{body['client_id']}"
    replaced = call(api, "put", path, {"client_name": "svc2", "grant_types": ["client_credentials"]}).json()
    assert replaced["client_name"] == "svc2" and replaced["owner"] == "" and replaced["scope"] == ""
    assert "client_secret" not in replaced
    assert cc(body["client_id"], body["client_secret"]).status_code == 200
    with_secret = call(
        api,
        "put",
        path,
        {"grant_types": ["client_credentials"], "client_secret": "a new chosen secret, long enough"},
    )
    assert with_secret.json()["client_secret"] == "a new chosen secret, long enough"
    assert cc(body["client_id"], "a new chosen secret, long enough").status_code == 200
    moved = call(api, "put", path, {"client_id": "other-id", "grant_types": ["client_credentials"]})
    assert moved.status_code == 400 and "client_id" in moved.json()["error_description"]


@pytest.mark.parametrize(
    "patch, field",
    [
        ([{"op": "move", "from": "/owner", "path": "/client_name"}], ""),
        ([{"op": "replace", "path": "/client_id", "value": "x"}], "client_id"),
        ([{"op": "replace", "path": "/redirect_uris", "value": ["http://evil.example/"]}], "redirect_uris"),
        ([{"op": "remove", "path": "/does-not-exist"}], ""),
        ({"op": "replace"}, ""),
        ([], ""),
        (["not an operation"], ""),
    ],
)
def test_bad_patches_are_400(api, m2m_client, patch, field):
    response = call(api, "patch", f"/admin/clients/{m2m_client.client.client_id}", patch)
    assert response.status_code == 400, response.content
    assert field in response.json()["error_description"]


def test_rotating_a_secret_over_the_api(api, m2m_client):
    body = api.post(f"/admin/clients/{m2m_client.client.client_id}/secret").json()
    assert body["client_secret"].startswith("ciam_cs_")
    assert cc(m2m_client.client.client_id, m2m_client.client_secret).status_code == 401
    assert cc(m2m_client.client.client_id, body["client_secret"]).status_code == 200


def test_paging_parameters_are_checked(api):
    assert api.get("/admin/clients", {"page_size": "zero"}).status_code == 400
    assert api.get("/admin/clients", {"page_size": "0"}).status_code == 400
    assert api.get("/admin/clients", {"page_token": "forged"}).status_code == 400
    for n in range(3):
        client_create(client_name=f"c{n}", grant_types=["client_credentials"])
    assert len(api.get("/admin/clients", {"page_size": "10000"}).json()) == 3  # clamped, not refused


def test_deleting_a_clients_tokens_revokes_access_and_refresh_tokens(api, flow, public_client):

    tokens = tokens_for(flow, public_client.client)
    assert api.delete(f"/admin/oauth2/tokens?client_id={public_client.client.client_id}").status_code == 204
    assert refresh(public_client.client.client_id, tokens["refresh_token"]).status_code == 400
    assert api.delete("/admin/oauth2/tokens").status_code == 400
    assert api.delete("/admin/oauth2/tokens?client_id=c-nope").status_code == 404


@pytest.mark.security("patch-silently-ignored")
def test_enabled_is_writable_through_patch_put_and_create_and_audited(api, m2m_client):
    client_id, secret = m2m_client.client.client_id, m2m_client.client_secret
    path = f"/admin/clients/{client_id}"
    disabled = call(api, "patch", path, [{"op": "replace", "path": "/enabled", "value": False}])
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert cc(client_id, secret).status_code == 401
    assert AuditEvent.objects.filter(event="client.disabled", client_id=client_id).count() == 1
    assert not AuditEvent.objects.filter(event="client.updated", client_id=client_id).exists()
    # A PUT that leaves `enabled` out keeps it; one that says true enables the client again.
    kept = call(api, "put", path, {"grant_types": ["client_credentials"], "scope": "email"}).json()
    assert kept["enabled"] is False
    enabled = call(
        api, "put", path, {"grant_types": ["client_credentials"], "scope": "email", "enabled": True}
    )
    assert enabled.json()["enabled"] is True and cc(client_id, secret).status_code == 200
    assert AuditEvent.objects.filter(event="client.enabled", client_id=client_id).count() == 1
    created = call(api, "post", "/admin/clients", {"grant_types": ["client_credentials"], "enabled": False})
    assert created.status_code == 201 and created.json()["enabled"] is False
    assert Client.objects.get(client_id=created.json()["client_id"]).is_active is False
    assert call(api, "patch", path, [{"op": "replace", "path": "/enabled", "value": "no"}]).status_code == 400


@pytest.mark.security("patch-silently-ignored")
@pytest.mark.parametrize("field", ["created_at", "updated_at", "client_secret_expires_at"])
def test_a_patch_of_a_read_only_field_is_a_400_naming_it(api, m2m_client, field):
    path = f"/admin/clients/{m2m_client.client.client_id}"
    before = api.get(path).json()
    response = call(api, "patch", path, [{"op": "replace", "path": f"/{field}", "value": 1}])
    assert response.status_code == 400 and field in response.json()["error_description"]
    assert api.get(path).json() == before


APP = {"grant_types": ["authorization_code"], "redirect_uris": ["https://bank.example/cb"], "scope": "openid"}


def test_require_mfa_is_a_boolean_field_of_the_api_and_its_document(api):
    created = call(api, "post", "/admin/clients", {**APP, "client_name": "bank", "require_mfa": True})
    assert created.status_code == 201 and created.json()["require_mfa"] is True
    plain = call(api, "post", "/admin/clients", {**APP, "client_name": "notes"}).json()
    assert plain["require_mfa"] is False
    wrong = call(api, "post", "/admin/clients", {**APP, "client_name": "x", "require_mfa": "yes"})
    assert wrong.status_code == 400 and "require_mfa" in wrong.json()["error_description"]
    patched = call(
        api,
        "patch",
        f"/admin/clients/{plain['client_id']}",
        [{"op": "replace", "path": "/require_mfa", "value": True}],
    )
    assert patched.json()["require_mfa"] is True
    document = api.get("/admin/openapi.json").json()
    schema = document["components"]["schemas"]
    described = [
        s["properties"]["require_mfa"] for s in schema.values() if "require_mfa" in s.get("properties", {})
    ]
    assert described and all(
        p["type"] == "boolean" and "second factor" in p["description"] for p in described
    )

"""The admin REST API at the HTTP level: authentication on every endpoint, bad input everywhere."""

import json
import uuid

import pytest
from django.test import Client as DjangoClient

from ciam.accounts.models import User
from ciam.api.services import admin_token_create, admin_token_revoke
from ciam.audit.models import AuditEvent
from clients.models import Client
from clients.services import client_create
from tests.helpers import cc, form_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(db):
    return admin_token_create(actor=None, name="api tests")[1]


@pytest.fixture
def api(token):
    return DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")


def endpoints(client_id="c-x", identity=None):
    identity = identity or uuid.uuid4()
    return [
        ("get", "/admin/clients"),
        ("post", "/admin/clients"),
        ("get", f"/admin/clients/{client_id}"),
        ("put", f"/admin/clients/{client_id}"),
        ("patch", f"/admin/clients/{client_id}"),
        ("delete", f"/admin/clients/{client_id}"),
        ("post", f"/admin/clients/{client_id}/secret"),
        ("post", "/admin/oauth2/introspect"),
        ("delete", f"/admin/oauth2/tokens?client_id={client_id}"),
        ("get", "/admin/oauth2/auth/sessions/consent?subject=x"),
        ("delete", "/admin/oauth2/auth/sessions/consent?subject=x&all=true"),
        ("get", "/admin/keys/hydra.openid.id-token"),
        ("post", "/admin/keys/hydra.openid.id-token"),
        ("get", "/admin/identities"),
        ("post", "/admin/identities"),
        ("get", f"/admin/identities/{identity}"),
        ("patch", f"/admin/identities/{identity}"),
        ("delete", f"/admin/identities/{identity}"),
        ("get", "/admin/version"),
        ("get", "/admin/openapi.json"),
    ]


def call(web, method, path, body=None, **extra):
    if body is None or method in ("get", "delete"):
        return getattr(web, method)(path, **extra)
    return getattr(web, method)(path, json.dumps(body), content_type="application/json", **extra)


def test_every_admin_endpoint_answers_401_without_a_token(m2m_client):
    before = (Client.objects.count(), User.objects.count())
    for method, path in endpoints(m2m_client.client.client_id):
        response = call(DjangoClient(), method, path, {})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response["WWW-Authenticate"].startswith("Bearer"), (method, path)
        assert response.json()["error"] == "unauthorized"
    assert (Client.objects.count(), User.objects.count()) == before


@pytest.mark.parametrize("header", ["Bearer ciam_pat_" + "x" * 43, "Bearer garbage", "Basic YTpi", "Bearer "])
def test_a_wrong_token_is_401(m2m_client, header):
    for method, path in endpoints(m2m_client.client.client_id)[:3]:
        assert call(DjangoClient(HTTP_AUTHORIZATION=header), method, path).status_code == 401


def test_a_revoked_admin_token_is_401(db):
    record, token = admin_token_create(actor=None, name="short-lived")
    web = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert web.get("/admin/clients").status_code == 200
    admin_token_revoke(actor=None, token=record)
    for method, path in endpoints():
        assert call(web, method, path, {}).status_code == 401, (method, path)


def test_an_m2m_client_with_the_ciam_admin_scope_may_administer(make_client):
    admin_client = make_client(
        client_name="provisioner", grant_types=["client_credentials"], scope="ciam:admin email"
    )
    with_scope = cc(admin_client.client.client_id, admin_client.client_secret, scope="ciam:admin").json()
    without = cc(admin_client.client.client_id, admin_client.client_secret, scope="email").json()
    assert (
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {with_scope['access_token']}")
        .get("/admin/clients")
        .status_code
        == 200
    )
    assert (
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {without['access_token']}").get("/admin/clients").status_code
        == 401
    )
    created = call(
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {with_scope['access_token']}"),
        "post",
        "/admin/clients",
        {"client_name": "from-m2m", "grant_types": ["client_credentials"]},
    )
    assert created.status_code == 201
    event = AuditEvent.objects.get(event="client.created", client_id=created.json()["client_id"])
    assert event.actor_label == f"client:{admin_client.client.client_id}"


def test_a_persons_token_with_ciam_admin_is_not_an_admin_credential(flow, make_client):
    from tests.helpers import tokens_for

    app = make_client(
        client_name="app",
        token_endpoint_auth_method="none",
        redirect_uris=["http://127.0.0.1:8765/callback"],
        scope="openid ciam:admin",
    ).client
    tokens = tokens_for(flow, app, scope="openid ciam:admin")
    assert (
        DjangoClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").get("/admin/clients").status_code
        == 401
    )


# --- Clients -----------------------------------------------------------------------------------------

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
        {"client_id": "legacy-app", "client_secret": "legacy-secret", "grant_types": ["client_credentials"]},
    ).json()
    assert body["client_id"] == "legacy-app" and body["client_secret"] == "legacy-secret"
    assert cc("legacy-app", "legacy-secret").status_code == 200


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


@pytest.mark.parametrize(
    "raw, content_type, status",
    [
        ("{not json", "application/json", 400),
        ("[1, 2, 3]", "application/json", 400),
        ('"a string"', "application/json", 400),
        ("client_name=x", "application/x-www-form-urlencoded", 415),
        ("<xml/>", "application/xml", 415),
    ],
)
def test_bad_bodies_are_4xx(api, raw, content_type, status):
    response = api.post("/admin/clients", raw, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]


def test_a_huge_body_is_413(api):
    response = api.post(
        "/admin/clients", json.dumps({"client_name": "x" * 2_000_000}), content_type="application/json"
    )
    assert response.status_code == 413


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
        api, "put", path, {"grant_types": ["client_credentials"], "client_secret": "new-chosen-one"}
    )
    assert with_secret.json()["client_secret"] == "new-chosen-one"
    assert cc(body["client_id"], "new-chosen-one").status_code == 200
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


# --- Tokens, consents, keys, identities, version -----------------------------------------------------


def test_deleting_a_clients_tokens_revokes_access_and_refresh_tokens(api, flow, public_client):
    from tests.helpers import refresh, tokens_for

    tokens = tokens_for(flow, public_client.client)
    assert api.delete(f"/admin/oauth2/tokens?client_id={public_client.client.client_id}").status_code == 204
    assert refresh(public_client.client.client_id, tokens["refresh_token"]).status_code == 400
    assert api.delete("/admin/oauth2/tokens").status_code == 400
    assert api.delete("/admin/oauth2/tokens?client_id=c-nope").status_code == 404


def test_consent_session_deletion_needs_a_valid_combination(api, user):
    assert api.delete(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}").status_code == 400
    assert (
        api.delete(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}&client=x&all=true").status_code
        == 400
    )
    assert api.delete("/admin/oauth2/auth/sessions/consent").status_code == 400
    assert api.get("/admin/oauth2/auth/sessions/consent").status_code == 400
    assert api.get("/admin/oauth2/auth/sessions/consent?subject=not-a-uuid").json() == []


def test_keys_show_public_parts_only_and_unknown_sets_are_404(api):
    keys = api.get("/admin/keys/hydra.openid.id-token").json()["keys"]
    assert keys and all("d" not in k for k in keys)
    assert api.get("/admin/keys/unknown-set").status_code == 404
    assert call(api, "post", "/admin/keys/hydra.openid.id-token", {"alg": "HS256"}).status_code == 400
    assert (
        call(api, "post", "/admin/keys/hydra.openid.id-token", {"alg": "RS256", "use": "enc"}).status_code
        == 400
    )


def test_identities_crud_never_returns_a_password_or_hash(api):
    created = call(
        api,
        "post",
        "/admin/identities",
        {"email": "Ivy@Example.com", "password": "a long password 77", "name": "Ivy"},
    )
    assert created.status_code == 201
    body = created.json()
    text = json.dumps(body)
    assert (
        body["email"] == "ivy@example.com"
        and "password" not in text
        and "argon2" not in text
        and "md5" not in text
    )
    identity = f"/admin/identities/{body['id']}"
    assert api.get(identity).json()["name"] == "Ivy"
    patched = call(api, "patch", identity, {"name": "Ivy L.", "state": "inactive", "locked": True}).json()
    assert patched["name"] == "Ivy L." and patched["state"] == "inactive" and patched["locked"] is True
    assert call(api, "patch", identity, {"password": "short"}).status_code == 400
    assert call(api, "patch", identity, {"email": "other@example.com"}).status_code == 400
    assert call(api, "patch", identity, {"unknown": 1}).status_code == 400
    listed = api.get("/admin/identities", {"credentials_identifier": "ivy@example.com"}).json()
    assert [i["id"] for i in listed] == [body["id"]] and all("password" not in json.dumps(i) for i in listed)
    assert call(api, "post", "/admin/identities", {"email": "ivy@example.com"}).status_code == 400
    assert call(api, "post", "/admin/identities", {"email": "not-an-email"}).status_code == 400
    assert api.delete(identity).status_code == 204
    assert api.get(identity).status_code == 404
    assert api.get("/admin/identities/not-a-uuid").status_code == 404


def test_the_version_is_public_at_slash_version_and_protected_under_admin():
    assert DjangoClient().get("/version").json()["version"].startswith("v")
    assert DjangoClient().get("/admin/version").status_code == 401


def test_admin_introspection_over_the_api_takes_a_form(api, m2m_client):
    token = cc(m2m_client.client.client_id, m2m_client.client_secret).json()["access_token"]
    assert form_post(api, "/admin/oauth2/introspect", {"token": token}).json()["active"] is True
    assert call(api, "post", "/admin/oauth2/introspect", {"token": token}).status_code == 415
    assert form_post(api, "/admin/oauth2/introspect", {}).status_code == 400

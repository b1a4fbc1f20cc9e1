"""The scope catalogue (ciam.oauth.scopes): any valid scope token for a client, as in Hydra;
descriptions on the consent page; the claims a scope releases; the admin API and console page."""

import json

import pytest
from django.test import Client as DjangoClient
from jwcrypto import jwt

from ciam.audit.models import AuditEvent
from ciam.oauth.models import Scope
from ciam.oauth.scopes import BUILTIN, seed
from tests.helpers import CALLBACK, call, cc, form_post, jwks_set, pkce_pair, tokens_for

pytestmark = pytest.mark.django_db


def test_the_built_in_scopes_are_in_the_catalogue_and_cim_scopes_seeds_it(settings):
    assert set(BUILTIN) <= set(Scope.objects.filter(builtin=True).values_list("name", flat=True))
    settings.CIAM_EXTRA_SCOPES = ["reports:read", "bad scope"]
    seed()
    assert Scope.objects.get(name="reports:read").description == ""
    assert not Scope.objects.filter(name="bad scope").exists()


def test_a_client_with_its_own_scope_works_at_once_like_in_hydra(api):
    """The seeds' curl session: `"scope": "api"`, a token with Basic, introspection."""
    created = call(
        api,
        "post",
        "/admin/clients",
        {"client_name": "svc", "grant_types": ["client_credentials"], "scope": "api"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    token = cc(body["client_id"], body["client_secret"], scope="api")
    assert token.status_code == 200 and token.json()["scope"] == "api"
    answer = form_post(api, "/admin/oauth2/introspect", {"token": token.json()["access_token"]}).json()
    assert answer["active"] is True and answer["scope"] == "api"
    listed = {s["name"]: s for s in api.get("/admin/scopes").json()}
    assert listed["api"]["description"] == "" and listed["api"]["clients"] == 1


def test_the_scope_api_creates_describes_and_deletes_and_audits(api):
    created = call(
        api,
        "post",
        "/admin/scopes",
        {"name": "invoices:read", "description": "Read your invoices", "claims": ["email"]},
    )
    assert created.status_code == 201 and created["Location"] == "/admin/scopes/invoices:read"
    assert created.json() == {
        "name": "invoices:read",
        "description": "Read your invoices",
        "claims": ["email"],
        "builtin": False,
        "privileged": False,
        "clients": 0,
    }
    patched = call(api, "patch", "/admin/scopes/invoices:read", {"description": "See your invoices"})
    assert patched.json()["description"] == "See your invoices"
    assert api.delete("/admin/scopes/invoices:read").status_code == 204
    assert api.get("/admin/scopes/invoices:read").status_code == 404
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"scope.created", "scope.updated", "scope.deleted"} <= events


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "has space"}, "name"),
        ({"name": 'quote"d'}, "name"),
        ({"name": "ciam:root"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "openid"}, "name"),
        ({"name": "ok", "claims": ["password"]}, "claims"),
        ({"name": "ok", "claims": "email"}, "claims"),
        ({"name": "ok", "description": "x" * 301}, "description"),
        ({"name": "ok", "description": 5}, "description"),
        ([1], ""),
    ],
)
def test_bad_scopes_are_400_naming_the_field(api, body, field):
    response = call(api, "post", "/admin/scopes", body)
    assert response.status_code == 400, response.content
    assert response.json()["error_description"].startswith(field)
    assert not Scope.objects.filter(name="ok").exists()


def test_built_in_scopes_cannot_be_deleted_or_have_their_claims_changed_and_used_ones_stay(api, m2m_client):
    assert api.delete("/admin/scopes/openid").status_code == 400
    assert call(api, "patch", "/admin/scopes/email", {"claims": ["sub"]}).status_code == 400
    assert call(api, "patch", "/admin/scopes/email", {"description": "Your e-mail"}).status_code == 200
    assert call(api, "patch", "/admin/scopes/email", {"name": "other"}).status_code == 400
    used = api.delete("/admin/scopes/email")  # the m2m client has it
    assert used.status_code == 400
    call(api, "post", "/admin/clients", {"grant_types": ["client_credentials"], "scope": "api"})
    in_use = api.delete("/admin/scopes/api")
    assert in_use.status_code == 409 and "1 client" in in_use.json()["error_description"]


def test_privileged_scopes_never_go_to_dynamically_registered_clients(settings):
    settings.CIAM_DCR_ENABLED = True
    for scope in ("ciam:admin", "ciam:anything"):
        refused = DjangoClient().post(
            "/oauth2/register",
            json.dumps({"grant_types": ["client_credentials"], "scope": f"api {scope}"}),
            content_type="application/json",
        )
        assert refused.status_code == 400 and scope in refused.json()["error_description"]
    ok = DjangoClient().post(
        "/oauth2/register",
        json.dumps({"grant_types": ["client_credentials"], "scope": "api"}),
        content_type="application/json",
    )
    assert ok.status_code == 201


def test_the_consent_page_shows_a_description_or_else_the_plain_name(browser, make_client):
    client = make_client(
        client_name="Reports",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid invoices:read api",
        redirect_uris=[CALLBACK],
    ).client
    Scope.objects.filter(name="invoices:read").update(description="Read your invoices")
    _, challenge = pkce_pair()
    response = browser.get(
        "/oauth2/auth",
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid invoices:read api",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    page = browser.get(response["Location"]).content.decode()
    assert "Read your invoices" in page
    assert '<span class="scope-name scope-name-plain">api</span>' in page


def test_a_custom_scope_releases_the_claims_the_catalogue_gives_it(flow, make_client, user):
    client = make_client(
        client_name="Mailer",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        scope="openid mail",
        redirect_uris=[CALLBACK],
    ).client
    Scope.objects.filter(name="mail").update(claims=["email"])
    body = tokens_for(flow, client, scope="openid mail")
    claims = json.loads(jwt.JWT(jwt=body["id_token"], key=jwks_set()).claims)
    assert claims["email"] == user.email and "name" not in claims
    userinfo = DjangoClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    assert userinfo["email"] == user.email and "name" not in userinfo


def test_the_console_scopes_page_flags_undescribed_scopes_and_edits_them(console, make_client):
    make_client(grant_types=["client_credentials"], scope="api")
    page = console.get("/console/scopes").content.decode()
    assert "1 scope without a description" in page and "no description" in page
    added = console.post("/console/scopes", {"name": "orders:write", "description": "Place orders"})
    assert added.status_code == 302 and Scope.objects.get(name="orders:write").description == "Place orders"
    refused = console.post("/console/scopes", {"name": "bad name"})
    assert refused.status_code == 400 and "not a valid scope name" in refused.content.decode()
    described = console.post("/console/scopes/api", {"description": "Use the API", "claims": ["email"]})
    assert described.status_code == 302
    assert Scope.objects.get(name="api").claims == ["email"]
    assert "without a description" not in console.get("/console/scopes").content.decode()
    assert console.post("/console/scopes/orders:write/delete").status_code == 302
    assert not Scope.objects.filter(name="orders:write").exists()
    console.post("/console/scopes/openid/delete")
    assert Scope.objects.filter(name="openid").exists()

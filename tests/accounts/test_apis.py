"""The admin API for identities (ciam.accounts.apis)."""

import json

import pytest

from tests.helpers import call

pytestmark = pytest.mark.django_db


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

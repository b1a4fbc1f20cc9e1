"""clients.serializers.ClientSerializer: the one input shape of a client (admin API, dynamic
registration, `ciam import`): strict JSON types, Hydra's read-only and unsupported fields, every
problem at once, the rules of clients.rules on the client as it would be stored."""

import pytest

from clients.serializers import ClientSerializer, client_json
from clients.services import client_snapshot

pytestmark = pytest.mark.django_db

M2M = {"client_name": "svc", "grant_types": ["client_credentials"]}


def errors(data, **kwargs) -> dict:
    body = ClientSerializer(data=data, **kwargs)
    assert not body.is_valid()
    return body.errors


@pytest.mark.parametrize(
    "field, value",
    [
        ("skip_consent", "yes"),
        ("pkce_required", 1),
        ("access_token_lifespan", "3600"),
        ("access_token_lifespan", True),
        ("client_name", 42),
        ("scope", ["email"]),
        ("metadata", [1, 2]),
        ("redirect_uris", [1]),
        ("token_endpoint_auth_method", "private_key_jwt"),
    ],
)
def test_json_types_are_strict(field, value):
    assert field in errors({**M2M, field: value})


def test_unknown_fields_are_refused_and_unsupported_ones_unless_empty():
    found = errors({**M2M, "brand_new": 1, "jwks_uri": "https://x.example/jwks"})
    assert set(found) >= {"brand_new", "jwks_uri"}
    assert ClientSerializer(data={**M2M, "jwks_uri": "", "frontchannel_logout_uri": None}).is_valid()


def test_what_hydra_s_sdks_send_back_is_accepted_and_ignored(m2m_client):
    echoed = client_json(m2m_client.client)
    body = ClientSerializer(instance=m2m_client.client, data=echoed)
    assert body.is_valid(), body.errors
    assert "created_at" not in body.validated_data and "client_secret_expires_at" not in body.validated_data
    # `enabled` is writable; echoed back unchanged, it changes nothing.
    assert body.validated_data["enabled"] is m2m_client.client.is_active


def test_every_problem_is_reported_at_once():
    found = errors(
        {
            "client_name": "x",
            "redirect_uris": ["http://evil.example/cb"],
            "grant_types": ["authorization_code", "password"],
            "skip_consent": "yes",
            "client_secret": "short",
        }
    )
    assert {"redirect_uris", "grant_types", "skip_consent", "client_secret"} <= set(found)


def test_a_space_separated_string_is_a_list():
    body = ClientSerializer(data={**M2M, "audience": "api-a api-b"})
    assert body.is_valid(), body.errors
    assert body.service_fields()["audience"] == ["api-a", "api-b"]


def test_a_replacement_is_checked_over_the_defaults_and_a_partial_change_over_the_client(public_client):
    # Replacing with only a name: the defaults (a confidential code client) need a redirect URI.
    assert "redirect_uris" in errors({"client_name": "x"}, instance=public_client.client)
    # The same body as a partial change keeps the client's own redirect URIs.
    assert ClientSerializer(instance=public_client.client, data={"client_name": "x"}, partial=True).is_valid()
    assert client_snapshot(public_client.client)["redirect_uris"]


def test_the_client_id_cannot_change_and_a_chosen_one_must_be_well_formed(m2m_client):
    assert "client_id" in errors({**M2M, "client_id": "other"}, instance=m2m_client.client)
    assert "client_id" in errors({**M2M, "client_id": "has space"})


def test_a_caller_may_be_limited_to_some_fields():
    found = errors({**M2M, "skip_consent": True}, allowed=frozenset({"client_name", "grant_types"}))
    assert found["skip_consent"] == ["Not allowed here."]

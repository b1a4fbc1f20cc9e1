"""clients.services: the writes (a secret shown once, revisions, audit rows)."""

import re

import pytest
from django.core.exceptions import ValidationError

from ciam.audit.models import AuditEvent
from ciam.oauth.models import AccessToken
from clients.models import Client
from clients.services import (
    ClientConflict,
    client_create,
    client_delete,
    client_secret_rotate,
    client_update,
)
from tests.helpers import cc

pytestmark = pytest.mark.django_db


CB = "https://app.example.com/cb"


def refused(field: str, **fields) -> str:
    with pytest.raises(ValidationError) as caught:
        client_create(**fields)
    assert field in caught.value.message_dict, caught.value.message_dict
    return " ".join(caught.value.message_dict[field])


def test_a_new_client_gets_a_c_prefixed_id_and_a_256_bit_secret():
    result = client_create(client_name="svc", grant_types=["client_credentials"])
    assert re.fullmatch(r"c-[A-Za-z0-9_\-]{22}", result.client.client_id)
    assert result.client_secret.startswith("ciam_cs_")
    assert len(result.client_secret) - len("ciam_cs_") >= 43  # 32 random bytes, base64url
    stored = Client.objects.get(pk=result.client.pk)
    assert stored.client_secret.startswith("ciam_hmac_sha256$")
    assert result.client_secret not in stored.client_secret
    assert stored.secret_kind == "generated"


def test_a_chosen_client_id_is_kept_and_must_be_unique():
    client_create(client_id="my-app", client_name="a", grant_types=["client_credentials"])
    assert Client.objects.filter(client_id="my-app").exists()
    assert "already exists" in refused("client_id", client_id="my-app", grant_types=["client_credentials"])
    refused("client_id", client_id="has space", grant_types=["client_credentials"])


def test_hydra_defaults_apply_when_fields_are_missing():
    client = client_create(redirect_uris=[CB]).client
    assert client.grant_types == ["authorization_code"]
    assert client.response_types == ["code"]
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.pkce_required is True
    assert client.access_token_strategy == "opaque"


def test_a_public_client_has_no_secret_and_always_pkce():
    result = client_create(token_endpoint_auth_method="none", redirect_uris=["http://localhost:3000/cb"])
    assert result.client_secret is None
    assert result.client.client_secret == ""
    assert result.client.client_type == "public"
    assert result.client.requires_pkce()
    assert "always required" in refused(
        "pkce_required", token_endpoint_auth_method="none", redirect_uris=[CB], pkce_required=False
    )
    refused("client_secret", token_endpoint_auth_method="none", redirect_uris=[CB], client_secret="abcdefgh")


def test_a_chosen_secret_must_be_long_and_varied_and_gets_a_slow_hash():
    refused("client_secret", grant_types=["client_credentials"], client_secret="sixsix")
    refused("client_secret", grant_types=["client_credentials"], client_secret="abcabcabcabcabcabcabcabc")
    result = client_create(grant_types=["client_credentials"], client_secret="a chosen one, 24 or more")
    assert result.client.client_secret.startswith("argon2$")
    assert result.client.secret_kind == "supplied"


def test_a_refused_create_writes_nothing():
    before = (Client.objects.count(), AuditEvent.objects.count())
    refused("redirect_uris", redirect_uris=["http://evil.example/"])
    assert (Client.objects.count(), AuditEvent.objects.count()) == before


def test_update_changes_only_what_is_given_and_rechecks_the_rules():
    client = client_create(client_name="before", redirect_uris=[CB], scope="openid").client
    updated = client_update(client=client, client_name="after").client
    assert updated.name == "after" and updated.scope == "openid" and updated.revision == 2
    with pytest.raises(ValidationError) as caught:
        client_update(client=client, redirect_uris=[])
    assert "redirect_uris" in caught.value.message_dict
    assert Client.objects.get(pk=client.pk).redirect_uri_list == [CB]


def test_update_detects_a_concurrent_change():
    client = client_create(redirect_uris=[CB]).client
    client_update(client=client, client_name="first", expected_revision=1)
    with pytest.raises(ClientConflict):
        client_update(client=client, client_name="second", expected_revision=1)
    assert Client.objects.get(pk=client.pk).name == "first"


def test_switching_public_and_confidential_manages_the_secret():
    client = client_create(token_endpoint_auth_method="none", redirect_uris=[CB]).client
    to_confidential = client_update(client=client, token_endpoint_auth_method="client_secret_basic")
    assert to_confidential.client_secret.startswith("ciam_cs_")
    to_public = client_update(client=client, token_endpoint_auth_method="none")
    assert to_public.client_secret is None
    assert Client.objects.get(pk=client.pk).client_secret == ""


def test_rotating_the_secret_invalidates_the_old_one():
    result = client_create(grant_types=["client_credentials"])
    rotated = client_secret_rotate(client=result.client)
    assert rotated.client_secret != result.client_secret
    assert cc(result.client.client_id, result.client_secret).status_code == 401
    assert cc(result.client.client_id, rotated.client_secret).status_code == 200
    with pytest.raises(ValidationError):
        client_secret_rotate(
            client=client_create(token_endpoint_auth_method="none", redirect_uris=[CB]).client
        )


def test_deleting_a_client_revokes_its_tokens_and_is_audited():
    result = client_create(grant_types=["client_credentials"])
    cc(result.client.client_id, result.client_secret)
    assert AccessToken.objects.count() == 1
    client_delete(client=result.client, actor_label="tests")
    assert AccessToken.objects.count() == 0
    assert not Client.objects.filter(client_id=result.client.client_id).exists()
    events = list(
        AuditEvent.objects.filter(client_id=result.client.client_id).values_list("event", flat=True)
    )
    assert {"client.created", "client.deleted", "client.tokens_revoked"} <= set(events)


def test_every_write_is_audited_without_secrets():
    result = client_create(grant_types=["client_credentials"], actor_label="ops")
    client_update(client=result.client, client_name="renamed")
    rotated = client_secret_rotate(client=result.client)
    events = AuditEvent.objects.filter(client_id=result.client.client_id)
    assert {"client.created", "client.updated", "client.secret_rotated"} <= set(
        events.values_list("event", flat=True)
    )
    text = str(list(events.values()))
    assert result.client_secret not in text and rotated.client_secret not in text

"""clients.services: the rules every caller shares, each refusal naming its field."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

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


def test_a_public_client_cannot_use_client_credentials():
    message = refused("grant_types", token_endpoint_auth_method="none", grant_types=["client_credentials"])
    assert "public client" in message


def test_authorization_code_needs_a_redirect_uri():
    assert "redirect URI" in refused("redirect_uris", grant_types=["authorization_code"])


def test_refresh_token_alone_is_refused():
    refused("grant_types", grant_types=["refresh_token"])


@pytest.mark.parametrize("grant", ["implicit", "password", "urn:ietf:params:oauth:grant-type:jwt-bearer", ""])
def test_unknown_grant_types_are_refused(grant):
    if grant:
        refused("grant_types", grant_types=[grant], redirect_uris=[CB])


@pytest.mark.parametrize(
    "uri, why",
    [
        ("http://app.example.com/cb", "non-loopback"),
        ("https://app.example.com/cb#frag", "fragment"),
        ("https://*.example.com/cb", "wildcard"),
        ("https://user:pw@app.example.com/cb", "user information"),
        ("javascript:alert(1)", "never allowed"),
        ("data:text/html,hi", "never allowed"),
        ("/relative/cb", "absolute"),
        ("https:///nohost", "no host"),
        ("https://app.example.com/c b", "whitespace"),
        ("https://app.example.com:99999/cb", "not a valid URI"),
    ],
)
def test_bad_redirect_uris_are_refused_with_a_reason(uri, why):
    assert why in refused("redirect_uris", redirect_uris=[uri])


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:8765/callback",
        "http://127.0.0.1/cb",
        "http://[::1]:9000/cb",
        "https://app.example.com/cb?x=1",
        "com.example.app:/oauth2redirect",
        "myapp://callback",
    ],
)
def test_good_redirect_uris_are_accepted(uri):
    client = client_create(redirect_uris=[uri], token_endpoint_auth_method="none").client
    assert client.redirect_uri_list == [uri]


def test_post_logout_uris_follow_the_same_rules():
    refused(
        "post_logout_redirect_uris", redirect_uris=[CB], post_logout_redirect_uris=["http://evil.example/"]
    )


def test_cors_origins_must_be_bare_origins():
    refused("allowed_cors_origins", redirect_uris=[CB], allowed_cors_origins=["https://app.example.com/path"])
    refused("allowed_cors_origins", redirect_uris=[CB], allowed_cors_origins=["myapp://x"])
    client = client_create(redirect_uris=[CB], allowed_cors_origins=["https://app.example.com"]).client
    assert client.allowed_cors_origins == ["https://app.example.com"]


def test_unknown_scopes_are_refused(settings):
    assert "not a known scope" in refused("scope", redirect_uris=[CB], scope="openid telepathy")
    settings.CIAM_EXTRA_SCOPES = ["telepathy"]
    assert client_create(redirect_uris=[CB], scope="openid telepathy").client.scope == "openid telepathy"


def test_response_types_other_than_code_are_refused():
    assert "implicit" in refused("response_types", redirect_uris=[CB], response_types=["token"])
    refused("response_types", grant_types=["client_credentials"], response_types=["code"])


@pytest.mark.parametrize(
    "field, value",
    [
        ("token_endpoint_auth_method", "private_key_jwt"),
        ("access_token_strategy", "paseto"),
        ("skip_consent", "yes"),
        ("metadata", ["not", "an", "object"]),
        ("access_token_lifespan", 5),
        ("access_token_lifespan", "3600"),
        ("client_uri", "ftp://example.com"),
        ("logo_uri", "javascript:alert(1)"),
        ("audience", [1, 2]),
        ("client_name", "x" * 300),
        ("nonsense_field", 1),
    ],
)
def test_wrong_types_and_values_name_the_field(field, value):
    refused(field, redirect_uris=[CB], **{field: value})


def test_a_chosen_secret_must_be_six_characters_and_gets_a_slow_hash():
    refused("client_secret", grant_types=["client_credentials"], client_secret="short")
    result = client_create(grant_types=["client_credentials"], client_secret="sixsix")
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


# --- The create_client management command ---------------------------------------------------------


def test_create_client_prints_the_id_and_the_secret_once(capsys):
    call_command(
        "create_client", "--name", "cli-m2m", "--grant-type", "client_credentials", "--scope", "email"
    )
    out = capsys.readouterr().out
    client_id = re.search(r"CLIENT ID\t(c-\S+)", out).group(1)
    secret = re.search(r"CLIENT SECRET\t(ciam_cs_\S+)", out).group(1)
    assert cc(client_id, secret, scope="email").status_code == 200


def test_create_client_makes_a_public_cli_client(capsys):
    call_command(
        "create_client",
        "--name",
        "cli",
        "--grant-type",
        "authorization_code,refresh_token",
        "--scope",
        "openid profile email",
        "--redirect-uri",
        "http://127.0.0.1:4446/callback",
        "--token-endpoint-auth-method",
        "none",
    )
    out = capsys.readouterr().out
    assert "CLIENT SECRET" not in out
    client = Client.objects.get(name="cli")
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert client.is_public and client.scope == "openid profile email"


def test_create_client_reports_every_refusal():
    with pytest.raises(CommandError) as caught:
        call_command(
            "create_client",
            "--grant-type",
            "client_credentials",
            "--token-endpoint-auth-method",
            "none",
            "--redirect-uri",
            "http://evil.example/cb",
        )
    assert "grant_types" in str(caught.value) and "redirect_uris" in str(caught.value)
    assert not Client.objects.exists()

"""The admin API's client JSON: Ory Hydra v2's OAuth2Client (names, types, every field present)."""

from rest_framework import serializers

from clients.models import Client
from clients.services import CLIENT_FIELDS, client_snapshot


def _timestamp(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def client_json(client: Client, *, secret: str | None = None) -> dict:
    """Every field of the contract, even when empty; `client_secret` only when just generated or set."""
    body = {
        "client_id": client.client_id,
        **client_snapshot(client),  # every writable field, as the services take them
        "pkce_required": client.requires_pkce(),  # as enforced (public clients always)
        "enabled": client.is_active,
        "client_secret_expires_at": 0,
        "created_at": _timestamp(client.created),
        "updated_at": _timestamp(client.updated),
    }
    if secret is not None:
        body["client_secret"] = secret
    return body


# Hydra fields a caller may echo back (e.g. a client read with GET, then PUT): accepted and ignored.
READ_ONLY = {
    "client_id",
    "created_at",
    "updated_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
    "enabled",
}
# Hydra fields this server does not implement: accepted only when empty.
UNSUPPORTED = {
    "jwks",
    "jwks_uri",
    "subject_type",
    "sector_identifier_uri",
    "request_uris",
    "request_object_signing_alg",
    "token_endpoint_auth_signing_alg",
    "userinfo_signed_response_alg",
    "frontchannel_logout_uri",
    "frontchannel_logout_session_required",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "skip_logout_consent",
    "authorization_code_grant_access_token_lifespan",
    "authorization_code_grant_id_token_lifespan",
    "authorization_code_grant_refresh_token_lifespan",
    "client_credentials_grant_access_token_lifespan",
    "device_authorization_grant_access_token_lifespan",
    "device_authorization_grant_id_token_lifespan",
    "device_authorization_grant_refresh_token_lifespan",
    "implicit_grant_access_token_lifespan",
    "implicit_grant_id_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan",
    "refresh_token_grant_access_token_lifespan",
    "refresh_token_grant_id_token_lifespan",
    "refresh_token_grant_refresh_token_lifespan",
}


def split_client_body(data) -> tuple[dict, str | None, str | None]:
    """(service fields, chosen client_id, chosen client_secret) from a request body.

    Unknown fields are refused by name; unsupported Hydra fields are refused unless empty.
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError({"": "The body must be a JSON object (an OAuth2Client)."})
    errors: dict[str, str] = {}
    fields: dict = {}
    for key, value in data.items():
        if key in CLIENT_FIELDS:
            fields[key] = value
        elif key in READ_ONLY or key in {"client_secret"}:
            continue
        elif key in UNSUPPORTED:
            if value not in (None, "", [], {}, False, 0):
                errors[key] = "Not supported by this server."
        else:
            errors[key] = "Unknown field."
    if errors:
        raise serializers.ValidationError(errors)
    client_id = data.get("client_id")
    secret = data.get("client_secret")
    if client_id is not None and not isinstance(client_id, str):
        raise serializers.ValidationError({"client_id": "Must be a string."})
    if secret is not None and not isinstance(secret, str):
        raise serializers.ValidationError({"client_secret": "Must be a string."})
    return fields, client_id or None, secret or None


class OAuth2ClientSerializer(serializers.Serializer):
    """For the OpenAPI document: Hydra's OAuth2Client as this server reads and writes it."""

    client_id = serializers.CharField(required=False, help_text="Generated (c-...) unless given on create.")
    client_name = serializers.CharField(required=False, allow_blank=True)
    client_secret = serializers.CharField(required=False, help_text="Returned once, on create or rotation.")
    redirect_uris = serializers.ListField(child=serializers.CharField(), required=False)
    grant_types = serializers.ListField(child=serializers.CharField(), required=False)
    response_types = serializers.ListField(child=serializers.CharField(), required=False)
    scope = serializers.CharField(required=False, allow_blank=True)
    audience = serializers.ListField(child=serializers.CharField(), required=False)
    token_endpoint_auth_method = serializers.ChoiceField(
        choices=["none", "client_secret_basic", "client_secret_post"], required=False
    )
    post_logout_redirect_uris = serializers.ListField(child=serializers.CharField(), required=False)
    allowed_cors_origins = serializers.ListField(child=serializers.CharField(), required=False)
    skip_consent = serializers.BooleanField(required=False)
    owner = serializers.CharField(required=False, allow_blank=True)
    contacts = serializers.ListField(child=serializers.CharField(), required=False)
    client_uri = serializers.CharField(required=False, allow_blank=True)
    logo_uri = serializers.CharField(required=False, allow_blank=True)
    policy_uri = serializers.CharField(required=False, allow_blank=True)
    tos_uri = serializers.CharField(required=False, allow_blank=True)
    metadata = serializers.DictField(required=False)
    access_token_strategy = serializers.ChoiceField(choices=["opaque", "jwt"], required=False)
    pkce_required = serializers.BooleanField(required=False)
    access_token_lifespan = serializers.IntegerField(required=False, allow_null=True)
    refresh_token_lifespan = serializers.IntegerField(required=False, allow_null=True)
    id_token_lifespan = serializers.IntegerField(required=False, allow_null=True)
    enabled = serializers.BooleanField(read_only=True)
    client_secret_expires_at = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class JsonPatchOperationSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["add", "remove", "replace"])
    path = serializers.CharField()
    value = serializers.JSONField(required=False)

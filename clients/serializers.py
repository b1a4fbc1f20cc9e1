"""The client's JSON: Ory Hydra v2's OAuth2Client, read and written.

`ClientSerializer` is the one input shape of a client: the admin API (create, replace, JSON
Patch), dynamic registration (RFC 7591/7592) and `ciam import` (through the admin API) all parse
bodies with it, and the OpenAPI document describes clients from it, so the document cannot
drift from what is accepted. Its fields check the JSON types strictly (a string is not a boolean,
"3600" is not a number); its validation then applies clients.rules to the client as it would be
stored, and reports every field's problem at once. `client_json` is the output shape.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from clients import rules
from clients.models import AccessTokenStrategy, Client, TokenEndpointAuthMethod
from clients.services import client_snapshot


def _timestamp(value) -> str | None:
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
READ_ONLY = frozenset(
    {
        "created_at",
        "updated_at",
        "client_secret_expires_at",
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
    }
)
# Hydra fields this server does not implement: accepted only when empty.
UNSUPPORTED = frozenset(
    {
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
)


class StrictCharField(serializers.CharField):
    """A JSON string, and only that (DRF's CharField turns numbers into strings)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false (DRF's BooleanField also takes "yes", 1 and "on")."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (DRF's IntegerField also takes "60" and true)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StringListField(serializers.ListField):
    """A list of strings; a space-separated string is taken as its words."""

    child = StrictCharField(allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.split()
        return super().to_internal_value(data)


def _optional(field_class, **kwargs):
    return field_class(required=False, **kwargs)


class ClientSerializer(serializers.Serializer):
    """Hydra's OAuth2Client as this server accepts it. The client as it would be stored must keep
    every rule: the body over Hydra's defaults (a create, or a replacement of `instance`), or with
    `partial`, the body over `instance`'s current fields."""

    client_id = _optional(
        StrictCharField, help_text="Generated (c-...) unless given on create; never changed."
    )
    client_name = _optional(StrictCharField, allow_blank=True, trim_whitespace=False)
    client_secret = _optional(
        StrictCharField,
        write_only=True,
        trim_whitespace=False,
        help_text="A chosen secret (a strong one is generated unless given); returned once.",
    )
    redirect_uris = _optional(StringListField)
    grant_types = _optional(StringListField)
    response_types = _optional(StringListField)
    scope = _optional(StrictCharField, allow_blank=True, trim_whitespace=False, help_text="Space separated.")
    audience = _optional(StringListField)
    token_endpoint_auth_method = _optional(
        serializers.ChoiceField, choices=[v for v in TokenEndpointAuthMethod.values if v is not None]
    )
    post_logout_redirect_uris = _optional(StringListField)
    allowed_cors_origins = _optional(StringListField)
    skip_consent = _optional(StrictBooleanField)
    owner = _optional(StrictCharField, allow_blank=True, trim_whitespace=False)
    contacts = _optional(StringListField)
    client_uri = _optional(StrictCharField, allow_blank=True, trim_whitespace=False)
    logo_uri = _optional(StrictCharField, allow_blank=True, trim_whitespace=False)
    policy_uri = _optional(StrictCharField, allow_blank=True, trim_whitespace=False)
    tos_uri = _optional(StrictCharField, allow_blank=True, trim_whitespace=False)
    metadata = _optional(serializers.DictField)
    access_token_strategy = _optional(serializers.ChoiceField, choices=AccessTokenStrategy.values)
    pkce_required = _optional(StrictBooleanField, help_text="Always true for public clients.")
    require_mfa = _optional(
        StrictBooleanField,
        help_text="Every sign-in for this client needs a second factor (a TOTP code or a passkey); "
        'its ID tokens then carry acr "2" and amr with "mfa". Default false.',
    )
    access_token_lifespan = _optional(StrictIntegerField, allow_null=True, help_text="Seconds.")
    refresh_token_lifespan = _optional(StrictIntegerField, allow_null=True, help_text="Idle seconds.")
    id_token_lifespan = _optional(StrictIntegerField, allow_null=True, help_text="Seconds.")
    enabled = _optional(
        StrictBooleanField,
        help_text="false disables the client: no new tokens, and its tokens introspect as inactive "
        "until it is enabled again (audited). Kept as it is when a PUT leaves it out.",
    )
    # Output only (accepted in a body and ignored, as Hydra's SDKs send them back).
    client_secret_expires_at = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def __init__(self, *args, allowed: frozenset[str] | None = None, **kwargs):
        """`allowed`: the only fields this caller may set (dynamic registration's narrower set)."""
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"": "The body must be a JSON object (an OAuth2Client)."})
        problems: dict[str, list[str]] = {}
        for key, value in data.items():
            if key in UNSUPPORTED:
                if value not in (None, "", [], {}, False, 0):
                    problems[key] = ["Not supported by this server."]
            elif key not in self.fields and key not in READ_ONLY:
                problems[key] = ["Unknown field."]
            elif self.allowed is not None and key in self.fields and key not in self.allowed | READ_ONLY:
                problems[key] = ["Not allowed here."]
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # The rules too, on the fields whose type was right: every problem at once.
            typed = {k: v for k, v in data.items() if k in self.fields and k not in exc.detail}
            raise serializers.ValidationError({**self._problems(typed), **problems, **exc.detail}) from exc
        if problems:
            raise serializers.ValidationError({**self._problems(values), **problems})
        return values

    def _problems(self, values: dict[str, Any]) -> dict[str, list[str]]:
        """What clients.rules and the ID and secret rules find wrong with these (typed) values."""
        fields = {k: v for k, v in values.items() if k in rules.CLIENT_FIELDS}
        if self.partial and self.instance is not None:
            current = client_snapshot(self.instance)
        else:
            current = rules.CLIENT_FIELDS
        problems: dict[str, list[str]] = {}
        if isinstance(values.get("client_id"), str):
            if self.instance is not None and values["client_id"] != self.instance.client_id:
                problems["client_id"] = ["The client ID cannot be changed."]
            elif self.instance is None and (problem := rules.client_id_problem(values["client_id"])):
                problems["client_id"] = [problem]
        secret = values.get("client_secret")
        if isinstance(secret, str) and (problem := rules.supplied_secret_problem(secret)):
            problems["client_secret"] = [problem]
        try:
            rules.checked_client({**current, **fields})
        except DjangoValidationError as exc:
            problems = {**exc.message_dict, **problems}
        return problems

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        problems = self._problems(attrs)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def service_fields(self) -> dict[str, Any]:
        """The validated body as clients.services take it (client_id and client_secret apart)."""
        return {k: v for k, v in self.validated_data.items() if k in rules.CLIENT_FIELDS}


class JsonPatchOperationSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["add", "remove", "replace"])
    path = serializers.CharField()
    value = serializers.JSONField(required=False)

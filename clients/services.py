"""Rules for OAuth2 clients. Every caller (console, REST API, CLI, management commands) writes
clients through these functions, so a rule lives in exactly one place.

Errors are `django.core.exceptions.ValidationError` with a dict naming the field (Hydra's JSON
names), so a form shows them inline and the API answers 400 naming the field.
"""

import ipaddress
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from ciam.audit.services import audit_record
from ciam.oauth.models import AccessToken, Grant, IDToken, RefreshToken
from ciam.oauth.scopes import known_scopes
from clients.models import (
    AccessTokenStrategy,
    Client,
    GrantType,
    ResponseType,
    SecretKind,
    TokenEndpointAuthMethod,
)

GENERATED_SECRET_PREFIX = "ciam_cs_"
CLIENT_ID_PREFIX = "c-"
MIN_SUPPLIED_SECRET_LENGTH = 6
MAX_URI_LENGTH = 2048
MAX_URIS = 100
MIN_LIFESPAN, MAX_LIFESPAN = 60, 10 * 365 * 24 * 3600

_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._~:@+\-]{1,255}")
_SCOPE_TOKEN_RE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")  # RFC 6749 §3.3 scope-token
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_FORBIDDEN_SCHEMES = {"javascript", "data", "vbscript", "file", "about", "blob"}
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

# Fields a caller may set, with the value a new client gets when it is not given (Hydra's).
CLIENT_FIELDS: dict[str, Any] = {
    "client_name": "",
    "grant_types": None,
    "response_types": None,
    "scope": "",
    "redirect_uris": [],
    "post_logout_redirect_uris": [],
    "allowed_cors_origins": [],
    "audience": [],
    "token_endpoint_auth_method": TokenEndpointAuthMethod.CLIENT_SECRET_BASIC.value,
    "skip_consent": False,
    "pkce_required": True,
    "access_token_strategy": AccessTokenStrategy.OPAQUE.value,
    "owner": "",
    "contacts": [],
    "client_uri": "",
    "logo_uri": "",
    "policy_uri": "",
    "tos_uri": "",
    "metadata": {},
    "access_token_lifespan": None,
    "refresh_token_lifespan": None,
    "id_token_lifespan": None,
}


@dataclass(frozen=True)
class ClientWithSecret:
    """A client and, when one was just generated or set, its secret in clear (shown once)."""

    client: Client
    client_secret: str | None


class ClientConflict(Exception):
    """The client changed since the caller read it (optimistic locking)."""


def generate_client_secret() -> str:
    """256 random bits behind a readable prefix (secret scanners can spot leaks)."""
    return GENERATED_SECRET_PREFIX + secrets.token_urlsafe(32)


def generate_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def hash_client_secret(secret: str, *, generated: bool) -> str:
    """A keyed fast hash for generated secrets; Argon2 for anything a person chose."""
    return make_password(secret, hasher="ciam_hmac_sha256" if generated else "argon2")


# --- Validation ----------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _string_list(value: Any, field: str, errors: _Errors) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors.add(field, "Must be a list of strings.")
        return []
    if len(value) > MAX_URIS:
        errors.add(field, f"At most {MAX_URIS} entries are allowed.")
        return []
    result: list[str] = []
    for item in value:
        item = item.strip()
        if item and item not in result:
            result.append(item)
    return result


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def uri_problem(uri: str, *, kind: str = "redirect") -> str | None:
    """Why `uri` cannot be registered as a redirect URI, or None if it can.

    Exact URIs only: absolute, no fragment (RFC 6749 §3.1.2), no wildcard, no user info,
    `http` only for loopback hosts (RFC 8252 §7.3), custom schemes for native apps (§7.1).
    """
    if len(uri) > MAX_URI_LENGTH:
        return f"'{uri[:60]}…' is longer than {MAX_URI_LENGTH} characters."
    if any(ch.isspace() or ord(ch) < 32 for ch in uri):
        return f"'{uri}' contains whitespace or control characters."
    if "*" in uri:
        return f"'{uri}' contains a wildcard; register each URI exactly."
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"'{uri}' is not a valid URI."
    scheme = parts.scheme.lower()
    if not scheme or not _SCHEME_RE.fullmatch(parts.scheme):
        return f"'{uri}' is not an absolute URI (it needs a scheme such as https://)."
    if parts.fragment or "#" in uri:
        return f"'{uri}' has a fragment (#...); redirect URIs must not (RFC 6749 §3.1.2)."
    if scheme in _FORBIDDEN_SCHEMES:
        return f"'{uri}' uses the '{scheme}' scheme, which is never allowed."
    if "@" in parts.netloc:
        return f"'{uri}' contains user information (user@host), which is not allowed."
    if scheme in {"http", "https"}:
        if not host:
            return f"'{uri}' has no host."
        if scheme == "http" and not _is_loopback(host):
            return f"'{uri}' uses http on a non-loopback host; use https (http is only for localhost)."
    elif kind == "origin":
        return f"'{uri}' must be an http(s) origin."
    return None


def _uri_list(value: Any, field: str, errors: _Errors) -> list[str]:
    uris = _string_list(value, field, errors)
    for uri in uris:
        problem = uri_problem(uri)
        if problem:
            errors.add(field, problem)
    return uris


def _origins(value: Any, errors: _Errors) -> list[str]:
    origins = _string_list(value, "allowed_cors_origins", errors)
    for origin in origins:
        problem = uri_problem(origin, kind="origin")
        parts = urlsplit(origin) if problem is None else None
        if problem is None and (parts.path not in ("", "/") or parts.query):
            problem = f"'{origin}' must be an origin (scheme://host[:port]) with no path or query."
        if problem:
            errors.add("allowed_cors_origins", problem)
    return [o.rstrip("/") for o in origins]


def _web_uri(value: Any, field: str, errors: _Errors) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        errors.add(field, "Must be a string (an absolute https URL).")
        return ""
    value = value.strip()
    problem = uri_problem(value)
    if problem is None and urlsplit(value).scheme.lower() not in {"http", "https"}:
        problem = f"'{value}' must be an http(s) URL."
    if problem:
        errors.add(field, problem)
    return value


def _text(value: Any, field: str, errors: _Errors, *, max_length: int = 255) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(field, "Must be a string.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(field, f"Must be at most {max_length} characters.")
    return value


def _bool(value: Any, field: str, errors: _Errors) -> bool:
    if not isinstance(value, bool):
        errors.add(field, "Must be true or false.")
        return False
    return value


def _lifespan(value: Any, field: str, errors: _Errors) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, "Must be a whole number of seconds, or empty for the default.")
        return None
    if not MIN_LIFESPAN <= value <= MAX_LIFESPAN:
        errors.add(field, f"Must be between {MIN_LIFESPAN} and {MAX_LIFESPAN} seconds.")
    return value


def _choice(value: Any, field: str, choices: type, errors: _Errors) -> str:
    if value not in choices.values:
        allowed = ", ".join(v for v in choices.values if v)
        errors.add(field, f"'{value}' is not supported; use one of: {allowed}.")
    return value if isinstance(value, str) else ""


def validate_client_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Normalize and check a complete set of client fields; raise ValidationError naming fields."""
    errors = _Errors()
    unknown = sorted(set(data) - set(CLIENT_FIELDS))
    for name in unknown:
        errors.add(name, "Unknown field.")
    clean: dict[str, Any] = {}

    clean["client_name"] = _text(data.get("client_name"), "client_name", errors)
    clean["owner"] = _text(data.get("owner"), "owner", errors)
    method = _choice(
        data.get("token_endpoint_auth_method"), "token_endpoint_auth_method", TokenEndpointAuthMethod, errors
    )
    public = method == TokenEndpointAuthMethod.NONE

    grant_types = _string_list(data.get("grant_types"), "grant_types", errors) or [
        GrantType.AUTHORIZATION_CODE.value
    ]
    for grant in grant_types:
        if grant not in GrantType.values:
            errors.add(
                "grant_types", f"'{grant}' is not a supported grant type; use: {', '.join(GrantType.values)}."
            )
    if public and GrantType.CLIENT_CREDENTIALS in grant_types:
        errors.add(
            "grant_types",
            "A public client (token_endpoint_auth_method 'none') cannot use "
            "client_credentials: it has no secret to authenticate with.",
        )
    if GrantType.REFRESH_TOKEN in grant_types and not (
        {GrantType.AUTHORIZATION_CODE, GrantType.DEVICE_CODE} & set(grant_types)
    ):
        errors.add(
            "grant_types",
            "refresh_token needs authorization_code or the device code grant "
            "(a refresh token is only ever issued with one of them).",
        )
    clean["grant_types"] = grant_types

    has_code = GrantType.AUTHORIZATION_CODE in grant_types
    response_types = _string_list(data.get("response_types"), "response_types", errors)
    if not response_types and has_code:
        response_types = [ResponseType.CODE.value]
    for response_type in response_types:
        if response_type not in ResponseType.values:
            errors.add(
                "response_types",
                f"'{response_type}' is not supported; only 'code' is "
                "(implicit and hybrid flows are refused, RFC 9700 §2.1.2).",
            )
    if ResponseType.CODE in response_types and not has_code:
        errors.add("response_types", "'code' needs the authorization_code grant type.")
    clean["response_types"] = response_types

    scope_value = data.get("scope")
    if scope_value is not None and not isinstance(scope_value, str):
        errors.add("scope", "Must be a space-separated string of scopes.")
        scope_value = ""
    scopes: list[str] = []
    known = known_scopes()
    for scope in (scope_value or "").split():
        if not _SCOPE_TOKEN_RE.fullmatch(scope):
            errors.add("scope", f"'{scope}' is not a valid scope name (RFC 6749 §3.3).")
        elif scope not in known:
            errors.add(
                "scope",
                f"'{scope}' is not a known scope; known scopes: {', '.join(known)} "
                "(add a deployment's own with CIAM_SCOPES).",
            )
        elif scope not in scopes:
            scopes.append(scope)
    clean["scope"] = " ".join(scopes)

    clean["redirect_uris"] = _uri_list(data.get("redirect_uris"), "redirect_uris", errors)
    if has_code and not clean["redirect_uris"]:
        errors.add("redirect_uris", "The authorization_code grant needs at least one redirect URI.")
    clean["post_logout_redirect_uris"] = _uri_list(
        data.get("post_logout_redirect_uris"), "post_logout_redirect_uris", errors
    )
    clean["allowed_cors_origins"] = _origins(data.get("allowed_cors_origins"), errors)
    clean["audience"] = _string_list(data.get("audience"), "audience", errors)
    clean["contacts"] = _string_list(data.get("contacts"), "contacts", errors)
    for contact in clean["contacts"]:
        if len(contact) > 254:
            errors.add("contacts", "Each contact must be at most 254 characters.")
    for field in ("client_uri", "logo_uri", "policy_uri", "tos_uri"):
        clean[field] = _web_uri(data.get(field), field, errors)

    clean["token_endpoint_auth_method"] = method
    clean["skip_consent"] = _bool(data.get("skip_consent", False), "skip_consent", errors)
    pkce = data.get("pkce_required", True)
    clean["pkce_required"] = _bool(pkce, "pkce_required", errors)
    if public and pkce is False:
        errors.add("pkce_required", "PKCE is always required for public clients.")
    if public:
        clean["pkce_required"] = True
    clean["access_token_strategy"] = _choice(
        data.get("access_token_strategy"), "access_token_strategy", AccessTokenStrategy, errors
    )
    metadata = data.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        errors.add("metadata", "Must be a JSON object.")
        metadata = {}
    elif len(json.dumps(metadata)) > 16384:
        errors.add("metadata", "Must be at most 16 KiB of JSON.")
    clean["metadata"] = metadata
    for field in ("access_token_lifespan", "refresh_token_lifespan", "id_token_lifespan"):
        clean[field] = _lifespan(data.get(field), field, errors)

    errors.raise_if_any()
    return clean


def _check_client_id(client_id: Any) -> str:
    if not isinstance(client_id, str) or not _CLIENT_ID_RE.fullmatch(client_id):
        raise ValidationError(
            {"client_id": ["Must be 1 to 255 characters from letters, digits and . _ ~ : @ + -"]}
        )
    if Client.objects.filter(client_id=client_id).exists():
        raise ValidationError({"client_id": [f"A client with the ID '{client_id}' already exists."]})
    return client_id


def _check_supplied_secret(secret: Any) -> str:
    if not isinstance(secret, str) or len(secret) < MIN_SUPPLIED_SECRET_LENGTH:
        raise ValidationError(
            {
                "client_secret": [
                    f"A chosen secret must be at least {MIN_SUPPLIED_SECRET_LENGTH} characters "
                    "(leave it out to have a strong one generated)."
                ]
            }
        )
    if len(secret) > 512:
        raise ValidationError({"client_secret": ["Must be at most 512 characters."]})
    return secret


def _apply(client: Client, clean: dict[str, Any]) -> None:
    client.name = clean["client_name"]
    client.grant_types = clean["grant_types"]
    client.response_types = clean["response_types"]
    client.scope = clean["scope"]
    client.redirect_uris = " ".join(clean["redirect_uris"])
    client.post_logout_redirect_uris = " ".join(clean["post_logout_redirect_uris"])
    client.allowed_origins = " ".join(clean["allowed_cors_origins"])
    client.audience = clean["audience"]
    client.token_endpoint_auth_method = clean["token_endpoint_auth_method"]
    client.client_type = Client.CLIENT_PUBLIC if client.is_public else Client.CLIENT_CONFIDENTIAL
    client.skip_authorization = clean["skip_consent"]
    client.pkce_required = clean["pkce_required"]
    client.access_token_strategy = clean["access_token_strategy"]
    client.owner = clean["owner"]
    client.contacts = clean["contacts"]
    for field in (
        "client_uri",
        "logo_uri",
        "policy_uri",
        "tos_uri",
        "metadata",
        "access_token_lifespan",
        "refresh_token_lifespan",
        "id_token_lifespan",
    ):
        setattr(client, field, clean[field])


def _set_secret(client: Client, secret: str | None) -> str | None:
    """Give a confidential client a secret (generated unless supplied); clear a public one's."""
    if client.is_public:
        # Nothing to hash; stops the toolkit's field from hashing the empty string on save.
        client.hash_client_secret = False
        client.client_secret = ""
        client.secret_kind = SecretKind.NONE
        return None
    client.hash_client_secret = True
    generated = secret is None
    plain = generate_client_secret() if generated else secret
    client.client_secret = hash_client_secret(plain, generated=generated)
    client.secret_kind = SecretKind.GENERATED if generated else SecretKind.SUPPLIED
    return plain


def client_snapshot(client: Client) -> dict[str, Any]:
    """The writable fields of a client, as the services take them (for updates and PUT)."""
    return {
        "client_name": client.name,
        "grant_types": list(client.grant_types),
        "response_types": list(client.response_types),
        "scope": client.scope,
        "redirect_uris": client.redirect_uri_list,
        "post_logout_redirect_uris": client.post_logout_redirect_uri_list,
        "allowed_cors_origins": client.allowed_cors_origins,
        "audience": list(client.audience),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "skip_consent": client.skip_authorization,
        "pkce_required": client.pkce_required,
        "access_token_strategy": client.access_token_strategy,
        "owner": client.owner,
        "contacts": list(client.contacts),
        "client_uri": client.client_uri,
        "logo_uri": client.logo_uri,
        "policy_uri": client.policy_uri,
        "tos_uri": client.tos_uri,
        "metadata": dict(client.metadata),
        "access_token_lifespan": client.access_token_lifespan,
        "refresh_token_lifespan": client.refresh_token_lifespan,
        "id_token_lifespan": client.id_token_lifespan,
    }


# --- Writes ----------------------------------------------------------------------------------


@transaction.atomic
def client_create(
    *,
    actor: Any = None,
    actor_label: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
    **fields: Any,
) -> ClientWithSecret:
    """Register a client. Returns it with its secret in clear (the only time it is shown).

    `fields` are Hydra's names (see CLIENT_FIELDS); missing ones take Hydra's defaults. A
    confidential client gets a generated 256-bit secret unless one (≥ 6 characters) is supplied.
    """
    id_error = None
    if client_id is not None:
        try:
            _check_client_id(client_id)
        except ValidationError as exc:
            id_error = exc
    try:
        clean = validate_client_fields({**CLIENT_FIELDS, **fields})
    except ValidationError as exc:
        # Report every problem at once: the fields' and the chosen client ID's.
        raise ValidationError({**exc.message_dict, **(id_error.message_dict if id_error else {})}) from exc
    if id_error is not None:
        raise id_error
    client = Client(client_id=client_id if client_id is not None else generate_client_id())
    _apply(client, clean)
    if client.is_public and client_secret is not None:
        raise ValidationError(
            {"client_secret": ["A public client (token_endpoint_auth_method 'none') has no secret."]}
        )
    plain = _set_secret(client, _check_supplied_secret(client_secret) if client_secret is not None else None)
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError as exc:
        raise ValidationError({"client_id": ["A client with this ID already exists."]}) from exc
    audit_record(
        event="client.created",
        actor=actor,
        actor_label=actor_label,
        client_id=client.client_id,
        detail={
            "client_name": client.name,
            "grant_types": client.grant_types,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
        },
    )
    return ClientWithSecret(client=client, client_secret=plain)


@transaction.atomic
def client_update(
    *,
    client: Client,
    actor: Any = None,
    actor_label: str = "",
    expected_revision: int | None = None,
    client_secret: str | None = None,
    **changes: Any,
) -> ClientWithSecret:
    """Change some fields of a client (the others keep their values); all rules re-checked.

    A client that becomes confidential gets a generated secret (returned once); one that becomes
    public loses its secret. `client_secret` sets a chosen secret. With `expected_revision`, a
    concurrent change since the caller read the client raises ClientConflict.
    """
    locked = Client.objects.select_for_update().get(pk=client.pk)
    if expected_revision is not None and locked.revision != expected_revision:
        raise ClientConflict(
            f"The client was changed by someone else (revision {locked.revision}, "
            f"expected {expected_revision}); reload it and try again."
        )
    was_public = locked.is_public
    clean = validate_client_fields({**client_snapshot(locked), **changes})
    _apply(locked, clean)
    plain = None
    if locked.is_public and client_secret is not None:
        raise ValidationError(
            {"client_secret": ["A public client (token_endpoint_auth_method 'none') has no secret."]}
        )
    if client_secret is not None:
        plain = _set_secret(locked, _check_supplied_secret(client_secret))
    elif locked.is_public != was_public:
        plain = _set_secret(locked, None)
    locked.revision += 1
    locked.save()
    audit_record(
        event="client.updated",
        actor=actor,
        actor_label=actor_label,
        client_id=locked.client_id,
        detail={"fields": sorted(changes) + (["client_secret"] if client_secret is not None else [])},
    )
    return ClientWithSecret(client=locked, client_secret=plain)


@transaction.atomic
def client_secret_rotate(*, client: Client, actor: Any = None, actor_label: str = "") -> ClientWithSecret:
    """Replace a confidential client's secret with a new generated one, returned once."""
    locked = Client.objects.select_for_update().get(pk=client.pk)
    if locked.is_public:
        raise ValidationError({"client_secret": ["A public client has no secret to rotate."]})
    plain = _set_secret(locked, None)
    locked.revision += 1
    locked.save(update_fields=["client_secret", "hash_client_secret", "secret_kind", "revision", "updated"])
    audit_record(
        event="client.secret_rotated", actor=actor, actor_label=actor_label, client_id=locked.client_id
    )
    return ClientWithSecret(client=locked, client_secret=plain)


@transaction.atomic
def client_set_active(*, client: Client, active: bool, actor: Any = None, actor_label: str = "") -> Client:
    """Enable or disable a client. A disabled client gets no token and its tokens introspect as
    inactive; they come back to life if it is enabled again before they expire."""
    Client.objects.filter(pk=client.pk).update(is_active=active, revision=F("revision") + 1)
    client.refresh_from_db()
    audit_record(
        event="client.enabled" if active else "client.disabled",
        actor=actor,
        actor_label=actor_label,
        client_id=client.client_id,
    )
    return client


@transaction.atomic
def client_tokens_revoke(*, client: Client, actor: Any = None, actor_label: str = "") -> int:
    """Revoke every access and refresh token, code and ID token of a client."""
    refresh = RefreshToken.objects.filter(application=client, revoked__isnull=True).count()
    RefreshToken.objects.filter(application=client).delete()
    access, _ = AccessToken.objects.filter(application=client).delete()
    Grant.objects.filter(application=client).delete()
    IDToken.objects.filter(application=client).delete()
    audit_record(
        event="client.tokens_revoked",
        actor=actor,
        actor_label=actor_label,
        client_id=client.client_id,
        detail={"access_tokens": access, "refresh_tokens": refresh},
    )
    return access + refresh


@transaction.atomic
def client_delete(*, client: Client, actor: Any = None, actor_label: str = "") -> None:
    """Delete a client and, with it, every token it holds."""
    client_id = client.client_id
    client_tokens_revoke(client=client, actor=actor, actor_label=actor_label)
    client.delete()
    audit_record(event="client.deleted", actor=actor, actor_label=actor_label, client_id=client_id)

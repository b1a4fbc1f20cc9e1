"""The rules of an OAuth2 client: which URIs may be registered, which grant types go together,
which values each field takes. Pure functions, no database: the services call them before
every write (clients.services), and the admin API's serializer and the console's form call the
same ones, so a rule lives in exactly one place.

Errors are `django.core.exceptions.ValidationError` with a dict naming each field (Hydra's JSON
names), every field's problems at once.
"""

import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from ciam.oauth.scopes import scope_problem
from clients.models import AccessTokenStrategy, GrantType, ResponseType, TokenEndpointAuthMethod

# A secret a person chose: long enough that guessing it online is hopeless, even unthrottled
# (Hydra's own floor, 6 characters, is not). Generated secrets carry 256 random bits.
MIN_SUPPLIED_SECRET_LENGTH = 24
MIN_SUPPLIED_SECRET_DISTINCT = 8
MAX_URI_LENGTH = 2048
MAX_URIS = 100
MIN_LIFESPAN, MAX_LIFESPAN = 60, 10 * 365 * 24 * 3600

_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._~:@+\-]{1,255}")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_FORBIDDEN_SCHEMES = {"javascript", "data", "vbscript", "file", "about", "blob"}
# Network schemes that are never a native app's own (RFC 8252 §7.1): no browser hands a
# redirect to an app through them.
_NOT_APP_SCHEMES = {
    "ftp",
    "ftps",
    "sftp",
    "ssh",
    "telnet",
    "gopher",
    "mailto",
    "news",
    "nntp",
    "ws",
    "wss",
    "ldap",
    "ldaps",
    "smb",
    "irc",
    "tel",
    "sms",
    "git",
    "svn",
    "rtsp",
}
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
    "require_mfa": False,
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
    if kind == "redirect" and scheme in _NOT_APP_SCHEMES:
        return (
            f"'{uri}' uses the '{scheme}' scheme: use https, http on a loopback address, or a native "
            "app's own scheme (e.g. com.example.app:/callback, RFC 8252 §7.1)."
        )
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


def redirect_uri_problem(uri: str, *, public: bool) -> str | None:
    """Why `uri` cannot be a redirect URI of a public (or confidential) client, or None: the one
    rule for the API, the console's form and its live check."""
    if problem := uri_problem(uri):
        return problem
    if not public and urlsplit(uri).scheme.lower() not in {"http", "https"}:
        return (
            f"'{uri}': a confidential (web) client redirects to https (or http on a loopback "
            "address); a custom scheme is for a native app, a public client (RFC 8252 §7.1)."
        )
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
        if problem is None:
            parts = urlsplit(origin)
            if parts.path not in ("", "/") or parts.query:
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


def _choice(value: Any, field: str, choices: type[models.TextChoices], errors: _Errors) -> str:
    if value not in choices.values:
        allowed = ", ".join(v for v in choices.values if v)
        errors.add(field, f"'{value}' is not supported; use one of: {allowed}.")
    return value if isinstance(value, str) else ""


def checked_client(data: dict[str, Any]) -> dict[str, Any]:
    """A complete set of client fields, normalized and checked against every rule: the fields
    as the services store them. Raises ValidationError naming each field in error (all at once)."""
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
    for scope in (scope_value or "").split():
        if problem := scope_problem(scope):
            errors.add("scope", problem)
        elif scope not in scopes:
            scopes.append(scope)
    clean["scope"] = " ".join(scopes)

    clean["redirect_uris"] = _string_list(data.get("redirect_uris"), "redirect_uris", errors)
    for uri in clean["redirect_uris"]:
        if problem := redirect_uri_problem(uri, public=public):
            errors.add("redirect_uris", problem)
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
    clean["require_mfa"] = _bool(data.get("require_mfa", False), "require_mfa", errors)
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


def client_id_problem(client_id: Any) -> str | None:
    """Why `client_id` cannot be chosen as a client ID (its uniqueness aside), or None."""
    if not isinstance(client_id, str) or not _CLIENT_ID_RE.fullmatch(client_id):
        return "Must be 1 to 255 characters from letters, digits and . _ ~ : @ + -"
    return None


def supplied_secret_problem(secret: Any) -> str | None:
    """Why a secret a person chose cannot be used, or None."""
    if not isinstance(secret, str) or len(secret) < MIN_SUPPLIED_SECRET_LENGTH:
        return (
            f"A chosen secret must be at least {MIN_SUPPLIED_SECRET_LENGTH} characters "
            "(leave it out to have a strong one generated)."
        )
    if len(secret) > 512:
        return "Must be at most 512 characters."
    if len(set(secret)) < MIN_SUPPLIED_SECRET_DISTINCT:
        return (
            f"A chosen secret must use at least {MIN_SUPPLIED_SECRET_DISTINCT} different characters "
            "(leave it out to have a strong one generated)."
        )
    return None

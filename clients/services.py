"""Writes to OAuth2 clients. Every caller (console, admin API, dynamic registration, management
commands) writes clients through these functions, each checked against clients.rules and
audited in the same transaction.

Errors are `django.core.exceptions.ValidationError` with a dict naming the field (Hydra's JSON
names), so a form shows them inline and the API answers 400 naming the field.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ciam.audit.services import audit_record
from ciam.lib.crypto import token_checksum
from ciam.lib.http import Conflict
from ciam.oauth import scopes as scope_catalogue
from ciam.oauth.models import IDToken
from ciam.oauth.tokens import token_revoke_by_digest, tokens_revoke
from clients import rules
from clients.models import Client, SecretKind, TryRun
from clients.rules import CLIENT_FIELDS

GENERATED_SECRET_PREFIX = "ciam_cs_"
CLIENT_ID_PREFIX = "c-"


@dataclass(frozen=True)
class ClientWithSecret:
    """A client and, when one was just generated or set, its secret in clear (shown once)."""

    client: Client
    client_secret: str | None


class ClientConflict(Conflict):
    """The client changed since the caller read it (optimistic locking)."""


def generate_client_secret() -> str:
    """256 random bits behind a readable prefix (secret scanners can spot leaks)."""
    return GENERATED_SECRET_PREFIX + secrets.token_urlsafe(32)


def generate_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def hash_client_secret(secret: str, *, generated: bool) -> str:
    """A keyed fast hash for generated secrets; Argon2 for anything a person chose."""
    return make_password(secret, hasher="ciam_hmac_sha256" if generated else "argon2")


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
    client.require_mfa = clean["require_mfa"]
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


def _chosen_secret(client: Client, secret: str | None) -> str | None:
    """A secret a person chose, checked (None: generate one)."""
    if secret is None:
        return None
    if client.is_public:
        raise ValidationError(
            {"client_secret": ["A public client (token_endpoint_auth_method 'none') has no secret."]}
        )
    problem = rules.supplied_secret_problem(secret)
    if problem:
        raise ValidationError({"client_secret": [problem]})
    return secret


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
    plain = secret if secret is not None else generate_client_secret()
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
        "require_mfa": client.require_mfa,
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

    `fields` are Hydra's names (see clients.rules.CLIENT_FIELDS); missing ones take Hydra's
    defaults. A confidential client gets a generated 256-bit secret unless one is supplied.
    """
    problems: dict[str, list[str]] = {}
    if client_id is not None:
        problem = rules.client_id_problem(client_id)
        if problem is None and Client.objects.filter(client_id=client_id).exists():
            problem = f"A client with the ID '{client_id}' already exists."
        if problem:
            problems["client_id"] = [problem]
    try:
        clean = rules.checked_client({**CLIENT_FIELDS, **fields})
    except ValidationError as exc:
        # Report every problem at once: the fields' and the chosen client ID's.
        raise ValidationError({**exc.message_dict, **problems}) from exc
    if problems:
        raise ValidationError(problems)
    client = Client(client_id=client_id if client_id is not None else generate_client_id())
    _apply(client, clean)
    plain = _set_secret(client, _chosen_secret(client, client_secret))
    try:
        with transaction.atomic():
            client.save()
            scope_catalogue.record(client.scopes)
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
    clean = rules.checked_client({**client_snapshot(locked), **changes})
    _apply(locked, clean)
    plain = None
    if client_secret is not None:
        plain = _set_secret(locked, _chosen_secret(locked, client_secret))
    elif locked.is_public != was_public:
        plain = _set_secret(locked, None)
    locked.save()
    scope_catalogue.record(locked.scopes)
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
    locked.save(update_fields=["client_secret", "hash_client_secret", "secret_kind", "updated"])
    audit_record(
        event="client.secret_rotated", actor=actor, actor_label=actor_label, client_id=locked.client_id
    )
    return ClientWithSecret(client=locked, client_secret=plain)


@transaction.atomic
def client_set_active(*, client: Client, active: bool, actor: Any = None, actor_label: str = "") -> Client:
    """Enable or disable a client. A disabled client gets no token and its tokens introspect as
    inactive; they come back to life if it is enabled again before they expire."""
    Client.objects.filter(pk=client.pk).update(is_active=active)
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
    revoked = tokens_revoke(client=client)
    IDToken.objects.filter(application=client).delete()
    audit_record(
        event="client.tokens_revoked",
        actor=actor,
        actor_label=actor_label,
        client_id=client.client_id,
        detail=revoked,
    )
    return revoked["access_tokens"] + revoked["refresh_tokens"]


@transaction.atomic
def client_delete(*, client: Client, actor: Any = None, actor_label: str = "") -> None:
    """Delete a client and, with it, every token it holds."""
    client_id = client.client_id
    client_tokens_revoke(client=client, actor=actor, actor_label=actor_label)
    client.delete()
    audit_record(event="client.deleted", actor=actor, actor_label=actor_label, client_id=client_id)


# --- Try it -----------------------------------------------------------------------------------


@transaction.atomic
def try_run_start(*, client: Client, actor: Any) -> tuple[TryRun, str]:
    """Start a Try it run of `client` for the administrator `actor`: the run and its key (the
    last path segment of its callback, TryRun.callback_uri). The tokens of the administrator's
    earlier runs of this client are revoked first: one run at a time."""
    try_runs_revoke(client=client, actor=actor)
    key = secrets.token_urlsafe(24)
    run = TryRun.objects.create(
        client=client,
        started_by=actor,
        key_digest=token_checksum(key),
        expires=timezone.now() + TryRun.LIFESPAN,
    )
    audit_record(
        event="client.tried",
        actor=actor,
        client_id=client.client_id,
        detail={"redirect_uri": "console (this run only)"},
    )
    return run, key


def try_run_returned(*, client: Client, actor: Any, key: str) -> TryRun | None:
    """The browser is back at the run's callback: the console's callback is no longer allowed.
    The run, or None if `actor` has no such run waiting (already back, or expired)."""
    updated = TryRun.objects.filter(
        client=client,
        started_by=actor,
        key_digest=token_checksum(key),
        returned__isnull=True,
        expires__gt=timezone.now(),
    ).update(returned=timezone.now())
    return TryRun.objects.get(key_digest=token_checksum(key)) if updated else None


def try_run_keep_tokens(*, run: TryRun, tokens: dict) -> None:
    """Remember (as digests) the tokens the run obtained, to revoke them later."""
    run.token_digests = [
        token_checksum(tokens[name]) for name in ("refresh_token", "access_token") if tokens.get(name)
    ]
    run.save(update_fields=["token_digests"])


@transaction.atomic
def try_runs_revoke(*, client: Client, actor: Any, key: str | None = None) -> int:
    """Revoke the tokens of `actor`'s Try it runs of `client` (only the run `key`, if given) that
    are not revoked yet; how many runs that was."""
    runs = TryRun.objects.select_for_update().filter(client=client, started_by=actor, revoked__isnull=True)
    if key is not None:
        runs = runs.filter(key_digest=token_checksum(key))
    for run in runs:
        # The refresh token first: revoking it ends its access token too.
        for digest in run.token_digests:
            token_revoke_by_digest(actor=actor, digest=digest)
    return runs.update(revoked=timezone.now())

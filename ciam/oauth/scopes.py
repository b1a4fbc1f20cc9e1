"""The scope catalogue (ciam.oauth.models.Scope) and django-oauth-toolkit's scopes backend.

Any RFC 6749 scope token may be given to a client, as in Hydra; the catalogue says what each one
means to a person (the consent page), which claims it releases, and whether it is built in. A
scope first seen on a client is added without a description (`record`); `CIAM_SCOPES` adds its
names too (`seed`, after each migrate). A request for a scope outside the client's list is
`invalid_scope`; no scope is ever granted by default (the toolkit's default grants `__all__`).
"""

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import BaseScopes

from ciam.audit.services import audit_record
from ciam.lib.http import Conflict
from ciam.oauth.models import Scope

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,200}")
PRIVILEGED_PREFIX = "ciam:"

# name -> (what the consent page says, the claims it releases). Kept in the catalogue by
# migrations (oauth 0003) and `seed`; they cannot be deleted.
BUILTIN: dict[str, tuple[str, list[str]]] = {
    "openid": ("Sign you in with your account", ["sub"]),
    "profile": (
        "See your name and basic profile",
        ["name", "given_name", "family_name", "picture", "locale", "zoneinfo", "updated_at"],
    ),
    "email": ("See your e-mail address", ["email", "email_verified"]),
    "offline_access": ("Keep access while you are away (refresh tokens)", []),
    "offline": ("Keep access while you are away (refresh tokens)", []),
    # A client allowed this scope is a resource server: it may introspect any token.
    "ciam:introspect": ("Check any token presented to this service (resource servers)", []),
    # Only honoured in a client-credentials token: such a client may use the admin API.
    "ciam:admin": ("Administer this identity service (clients, users, keys)", []),
}


# The person's claims a scope may release (ciam.oauth.validator.get_additional_claims has them).
PERSON_CLAIMS = (
    "sub",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "picture",
    "locale",
    "zoneinfo",
    "updated_at",
)
MAX_DESCRIPTION = 300


def scope_problem(name: str) -> str | None:
    """Why `name` cannot be a scope, or None."""
    if not SCOPE_TOKEN.fullmatch(name):
        return (
            f"'{name}' is not a valid scope name (RFC 6749 §3.3: printable ASCII, "
            "without spaces, quotes or backslashes)."
        )
    if name.startswith(PRIVILEGED_PREFIX) and name not in BUILTIN:
        return (
            f"'{name}': names starting with '{PRIVILEGED_PREFIX}' are reserved for this server's own scopes."
        )
    return None


def known_scopes() -> dict[str, str]:
    """Every catalogued scope and its description ("" until an administrator gives one)."""
    return dict(Scope.objects.values_list("name", "description"))


def descriptions(names: Iterable[str]) -> dict[str, str]:
    """What the consent page says for each of `names`: its description, or "" (the page then
    shows the plain name) until an administrator gives one."""
    names = list(names)
    described = dict(Scope.objects.filter(name__in=names).values_list("name", "description"))
    return {name: described.get(name) or "" for name in names}


def released_claims(names: Iterable[str]) -> set[str]:
    """The claims the scopes `names` release: a built-in scope's from BUILTIN (they cannot be
    changed), the others' from the catalogue (no query when all are built in)."""
    names = set(names)
    released = {claim for name in names & set(BUILTIN) for claim in BUILTIN[name][1]}
    custom = names - set(BUILTIN)
    if custom:
        rows = Scope.objects.filter(name__in=custom).values_list("claims", flat=True)
        released.update(claim for claims in rows for claim in claims)
    return released


def record(names: Iterable[str]) -> None:
    """Add the scopes among `names` the catalogue does not have yet, without a description."""
    names = set(names)
    if not names:
        return
    missing = names - set(Scope.objects.filter(name__in=names).values_list("name", flat=True))
    with transaction.atomic():
        for name in sorted(missing):
            Scope.objects.get_or_create(name=name)


def seed() -> None:
    """The built-in scopes (as BUILTIN says) and the names in CIAM_SCOPES, in the catalogue."""
    for name, (description, claims) in BUILTIN.items():
        Scope.objects.update_or_create(
            name=name, defaults={"description": description, "claims": claims, "builtin": True}
        )
    record(name for name in settings.CIAM_EXTRA_SCOPES if scope_problem(name) is None)


# --- The catalogue's services (the admin API and the console call these) ---------------------


def _checked(description: Any, claims: Any, errors: dict[str, list[str]]) -> tuple[str, list[str]]:
    if not isinstance(description, str):
        errors["description"] = ["Must be a string."]
        description = ""
    elif len(description.strip()) > MAX_DESCRIPTION:
        errors["description"] = [f"At most {MAX_DESCRIPTION} characters."]
    if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
        errors["claims"] = ["Must be a list of claim names."]
        claims = []
    unknown = sorted(set(claims) - set(PERSON_CLAIMS))
    if unknown:
        errors["claims"] = [
            f"Unknown claims: {', '.join(unknown)}; this server has: {', '.join(PERSON_CLAIMS)}."
        ]
    return description.strip(), [c for c in PERSON_CLAIMS if c in claims]


@transaction.atomic
def scope_create(*, name: Any, description: Any = "", claims: Any = None, actor: Any = None) -> Scope:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name:
        errors["name"] = ["A scope needs a name."]
    elif problem := scope_problem(name):
        errors["name"] = [problem]
    elif Scope.objects.filter(name=name).exists():
        errors["name"] = [f"The scope '{name}' already exists."]
    description, claims = _checked(description, [] if claims is None else claims, errors)
    if errors:
        raise ValidationError(errors)
    scope = Scope.objects.create(name=name, description=description, claims=claims)
    audit_record(event="scope.created", actor=actor, detail={"scope": name})
    return scope


@transaction.atomic
def scope_update(*, scope: Scope, actor: Any = None, **changes: Any) -> Scope:
    """Change a scope's description or claims (a built-in scope's description only)."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(changes) - {"description", "claims"})
    for name in unknown:
        errors[name] = ["Only description and claims can be changed."]
    if scope.builtin and "claims" in changes and changes["claims"] != scope.claims:
        errors["claims"] = ["The claims of a built-in scope cannot be changed."]
    description, claims = _checked(
        changes.get("description", scope.description), changes.get("claims", scope.claims), errors
    )
    if errors:
        raise ValidationError(errors)
    scope.description, scope.claims = description, claims
    scope.save(update_fields=["description", "claims", "updated_at"])
    audit_record(event="scope.updated", actor=actor, detail={"scope": scope.name, "fields": sorted(changes)})
    return scope


def clients_using(name: str):
    """The clients allowed the scope `name` (their `scope` is a space-separated list)."""
    return get_application_model().objects.filter(
        Q(scope=name)
        | Q(scope__startswith=f"{name} ")
        | Q(scope__endswith=f" {name}")
        | Q(scope__contains=f" {name} ")
    )


@transaction.atomic
def scope_delete(*, scope: Scope, actor: Any = None) -> None:
    if scope.builtin:
        raise ValidationError({"name": [f"'{scope.name}' is built in and cannot be deleted."]})
    using = clients_using(scope.name).count()
    if using:
        raise Conflict(
            f"'{scope.name}' is allowed to {using} client{'s' if using != 1 else ''}; "
            "remove it from them first."
        )
    scope.delete()
    audit_record(event="scope.deleted", actor=actor, detail={"scope": scope.name})


class ClientScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return known_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        if application is None:
            return list(known_scopes())
        return application.scopes

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return []

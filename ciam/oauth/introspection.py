"""Token introspection (RFC 7662) with Hydra's field set.

One indexed lookup by digest: access tokens first, then refresh tokens (or the other way round
when `token_type_hint` says so). Anything invalid, expired, revoked, of a disabled client or,
for a caller that may only see its own tokens, of another client, is `{"active": false}`.
"""

import json
import uuid
from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone

from ciam.oauth import fastsql
from ciam.oauth.crypto import token_checksum
from ciam.oauth.models import AccessToken, RefreshToken
from ciam.oauth.tokens import token_audience
from clients.models import Client

INACTIVE = {"active": False}
INTROSPECT_ANY_SCOPE = "ciam:introspect"


def may_introspect_any(client) -> bool:
    """A resource server: a client allowed the `ciam:introspect` scope."""
    return INTROSPECT_ANY_SCOPE in client.scopes


def _ts(value) -> int:
    return int(value.timestamp())


def _subject(token) -> str:
    return str(token.user_id) if token.user_id else token.application.client_id


def _access(token: AccessToken) -> dict | None:
    if token.is_expired() or not token.application.is_active:
        return None
    return {
        "active": True,
        "client_id": token.application.client_id,
        "scope": token.scope,
        "sub": _subject(token),
        "exp": _ts(token.expires),
        "iat": _ts(token.created),
        "nbf": _ts(token.created),
        "iss": settings.CIAM_ISSUER,
        "aud": token_audience(token.application),
        "token_type": "Bearer",
        "token_use": "access_token",
    }


def refresh_token_expires(token: RefreshToken):
    lifespan = token.application.refresh_token_lifespan or settings.CIAM_REFRESH_TOKEN_LIFESPAN
    return token.access_token.expires + timedelta(seconds=lifespan)


def _refresh(token: RefreshToken) -> dict | None:
    if token.revoked is not None or token.access_token_id is None or not token.application.is_active:
        return None
    expires = refresh_token_expires(token)
    if expires <= timezone.now():
        return None
    return {
        "active": True,
        "client_id": token.application.client_id,
        "scope": token.access_token.scope,
        "sub": _subject(token),
        "exp": _ts(expires),
        "iat": _ts(token.created),
        "nbf": _ts(token.created),
        "iss": settings.CIAM_ISSUER,
        "aud": token_audience(token.application),
        "token_type": "Bearer",
        "token_use": "refresh_token",
    }


def introspect(
    token: str,
    *,
    token_type_hint: str = "",
    caller=None,
    required_scopes: list[str] | None = None,
    verify_caller: bool = False,
) -> dict:
    """What is known about `token`, as an RFC 7662 response body.

    `caller` is the authenticated client asking; None means a trusted backend (admin API).
    `verify_caller`: the caller is the client this process keeps, not re-read; the access-token
    lookup proves it still enabled at the same revision in the same statement, or raises
    ClientChanged (the caller then authenticates again the checked way).
    """
    if not token or len(token) > 8192:
        if verify_caller:
            _prove_unchanged(caller)
        return INACTIVE
    digest = token_checksum(token)
    lookups = [_lookup_access, _lookup_refresh]
    if token_type_hint == "refresh_token" and not verify_caller:
        lookups.reverse()  # (a digest is in one table only: the order is only about speed)
    for lookup in lookups:
        answer = lookup(digest, caller, verify_caller=verify_caller)
        verify_caller = False  # the first lookup proved it
        if answer is not None:
            break
    else:
        return INACTIVE
    if required_scopes and not set(required_scopes) <= set(answer["scope"].split()):
        return INACTIVE
    return answer


def _visible(token, caller) -> bool:
    return caller is None or may_introspect_any(caller) or token.application_id == caller.pk


def _prove_unchanged(caller) -> None:
    from ciam.oauth.validator import ClientChanged

    if not fastsql.fetchone(_CALLER_UNCHANGED, [caller.pk, caller.revision])[0]:
        raise ClientChanged(caller.client_id)


_CALLER_EXISTS = (
    f"EXISTS (SELECT 1 FROM {Client._meta.db_table} WHERE id = %s AND revision = %s AND is_active = %s)"
)
_CALLER_UNCHANGED = f"SELECT {_CALLER_EXISTS}"
_TOKEN_COLUMNS = (
    "t.application_id, t.user_id, t.scope, t.expires, t.created, c.client_id, c.audience, c.is_active"
)
_LOOKUP_ACCESS = (
    f"SELECT {_TOKEN_COLUMNS} FROM {AccessToken._meta.db_table} t "
    f"JOIN {Client._meta.db_table} c ON c.id = t.application_id WHERE t.token_checksum = %s"
)
# The same lookup, and in the same statement whether the caller is unchanged: always one row.
_LOOKUP_ACCESS_AND_CALLER = (
    f"SELECT {_CALLER_EXISTS} AS caller_ok, {_TOKEN_COLUMNS} FROM (SELECT 1 AS one) AS x "
    f"LEFT JOIN {AccessToken._meta.db_table} t ON t.token_checksum = %s "
    f"LEFT JOIN {Client._meta.db_table} c ON c.id = t.application_id"
)


def _lookup_access(digest: str, caller, *, verify_caller: bool = False) -> dict | None:
    """One indexed join, without the ORM's per-query compilation (the hot path of resource servers)."""
    if verify_caller:
        caller_ok, *row = fastsql.fetchone(
            _LOOKUP_ACCESS_AND_CALLER, [caller.pk, caller.revision, True, digest]
        )
        if not caller_ok:
            from ciam.oauth.validator import ClientChanged

            raise ClientChanged(caller.client_id)
        row = row if row[0] is not None else None
    else:
        row = fastsql.fetchone(_LOOKUP_ACCESS, [digest])
    if row is None:
        return None
    application_id, user_id, scope, expires, created, client_id, audience, active = row
    if timezone.is_naive(expires):  # SQLite hands raw queries naive UTC datetimes
        expires, created = (timezone.make_aware(v, UTC) for v in (expires, created))
    if caller is not None and not may_introspect_any(caller) and application_id != caller.pk:
        return None
    if not active or expires <= timezone.now():
        return None
    if isinstance(audience, str):
        audience = json.loads(audience)
    return {
        "active": True,
        "client_id": client_id,
        "scope": scope,
        "sub": str(uuid.UUID(str(user_id))) if user_id else client_id,
        "exp": _ts(expires),
        "iat": _ts(created),
        "nbf": _ts(created),
        "iss": settings.CIAM_ISSUER,
        "aud": list(audience) or [client_id],
        "token_type": "Bearer",
        "token_use": "access_token",
    }


def _lookup_refresh(digest: str, caller, *, verify_caller: bool = False) -> dict | None:
    # With an unchecked caller the access lookup runs first and proves it: never asked here.
    assert not verify_caller
    token = (
        RefreshToken.objects.select_related("application", "access_token")
        .filter(token_checksum=digest, revoked__isnull=True)
        .first()
    )
    if token is None or not _visible(token, caller):
        return None
    return _refresh(token)

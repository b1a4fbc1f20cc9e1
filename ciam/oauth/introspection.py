"""Token introspection (RFC 7662) with Hydra's field set.

One indexed lookup by digest: access tokens first, then refresh tokens (or the other way round
when `token_type_hint` says so). Anything invalid, expired, revoked, of a disabled client or,
for a caller that may only see its own tokens, of another client, is `{"active": false}`.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ciam.lib.crypto import token_checksum
from ciam.oauth.models import AccessToken, RefreshToken
from ciam.oauth.tokens import audience, token_audience

INACTIVE = {"active": False}
INTROSPECT_ANY_SCOPE = "ciam:introspect"
# What an answer needs of an access token and its client: one row of one indexed join.
_ACCESS_ROW = (
    "application_id",
    "user_id",
    "user__subject",
    "scope",
    "expires",
    "created",
    "application__client_id",
    "application__audience",
    "application__is_active",
    "ext",
    "granted_audience",
)


def may_introspect_any(client) -> bool:
    """A resource server: a client allowed the `ciam:introspect` scope."""
    return INTROSPECT_ANY_SCOPE in client.scopes


def _ts(value) -> int:
    return int(value.timestamp())


def _visible(token, caller) -> bool:
    return caller is None or may_introspect_any(caller) or token.application_id == caller.pk


def _answer(token, *, scope: str, expires, token_use: str) -> dict:
    client = token.application
    return {
        "active": True,
        "client_id": client.client_id,
        "scope": scope,
        "sub": token.user.oidc_subject if token.user_id else client.client_id,
        "exp": _ts(expires),
        "iat": _ts(token.created),
        "nbf": _ts(token.created),
        "iss": settings.CIAM_ISSUER,
        "aud": token.access_token.granted_audience or token_audience(client),
        "token_type": "Bearer",
        "token_use": token_use,
    }


def _lookup_access(digest: str, caller) -> dict | None:
    rows = list(AccessToken.objects.filter(token_checksum=digest).order_by().values_list(*_ACCESS_ROW)[:1])
    if not rows:
        return None
    (client_pk, user_id, subject, scope, expires, created, client_id, registered, active, ext, granted) = (
        rows[0]
    )
    if caller is not None and not may_introspect_any(caller) and client_pk != caller.pk:
        return None
    if not active or expires <= timezone.now():
        return None
    answer = {
        "active": True,
        "client_id": client_id,
        "scope": scope,
        "sub": subject or (str(user_id) if user_id else client_id),
        "exp": _ts(expires),
        "iat": _ts(created),
        "nbf": _ts(created),
        "iss": settings.CIAM_ISSUER,
        "aud": granted or audience(registered, client_id),
        "token_type": "Bearer",
        "token_use": "access_token",
    }
    if ext:
        answer["ext"] = ext  # a consent app's session.access_token (Hydra's `ext`)
    return answer


def refresh_token_expires(token: RefreshToken):
    lifespan = token.application.refresh_token_lifespan or settings.CIAM_REFRESH_TOKEN_LIFESPAN
    return token.access_token.expires + timedelta(seconds=lifespan)


def _lookup_refresh(digest: str, caller) -> dict | None:
    token = (
        RefreshToken.objects.select_related("application", "access_token", "user")
        .filter(token_checksum=digest, revoked__isnull=True)
        .first()
    )
    if token is None or not _visible(token, caller):
        return None
    if token.access_token_id is None or not token.application.is_active:
        return None
    expires = refresh_token_expires(token)
    if expires <= timezone.now():
        return None
    return _answer(token, scope=token.access_token.scope, expires=expires, token_use="refresh_token")


def introspect(
    token: str, *, token_type_hint: str = "", caller=None, required_scopes: list[str] | None = None
) -> dict:
    """What is known about `token`, as an RFC 7662 response body.

    `caller` is the authenticated client asking; None means a trusted backend (admin API).
    """
    if not token or not isinstance(token, str) or len(token) > 8192:
        return INACTIVE
    digest = token_checksum(token)
    lookups = [_lookup_access, _lookup_refresh]
    if token_type_hint == "refresh_token":
        lookups.reverse()  # (a digest is in one table only: the order is only about speed)
    for lookup in lookups:
        answer = lookup(digest, caller)
        if answer is not None:
            break
    else:
        return INACTIVE
    if required_scopes and not set(required_scopes) <= set(answer["scope"].split()):
        return INACTIVE
    return answer

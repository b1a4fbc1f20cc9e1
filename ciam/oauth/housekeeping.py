"""What the janitor may delete: rows that can no longer be used for anything.

Care is needed with the toolkit's links: a refresh token is refused once its access token is
gone, so an expired access token is kept while its refresh token may still be used; an ID token
is kept while an access token points to it (deleting it would cascade).
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from ciam.console.models import AdminAuthFailure
from ciam.oauth.models import AccessToken, DeviceGrant, Grant, IDToken, RefreshToken, TokenIssuance
from clients.models import Client
from consent.models import AccountLock, Consent, LoginFailure


def _refresh_lifespan() -> timedelta:
    longest = Client.objects.aggregate(m=Max("refresh_token_lifespan"))["m"] or 0
    return timedelta(seconds=max(settings.CIAM_REFRESH_TOKEN_LIFESPAN, longest))


def purgeable(*, keep: timedelta = timedelta(0)) -> dict[str, QuerySet]:
    """Name -> rows that can go, each older than `keep` beyond its own end."""
    now = timezone.now()
    cutoff = now - keep
    refresh_window = _refresh_lifespan()
    return {
        "refresh tokens": RefreshToken.objects.filter(
            Q(revoked__lt=cutoff - refresh_window)
            | Q(revoked__isnull=True, access_token__expires__lt=cutoff - refresh_window)
            | Q(access_token__isnull=True, created__lt=cutoff - refresh_window)
        ),
        "access tokens": AccessToken.objects.filter(expires__lt=cutoff).filter(
            Q(refresh_token__isnull=True) | Q(expires__lt=cutoff - refresh_window)
        ),
        "ID tokens": IDToken.objects.filter(expires__lt=cutoff, access_token__isnull=True),
        "authorization codes": Grant.objects.filter(expires__lt=cutoff),
        "device codes": DeviceGrant.objects.filter(expires__lt=cutoff),
        # A consent nobody asked to remember only served one authorization long since over.
        "stale consents": Consent.objects.filter(remember=False, updated_at__lt=cutoff - refresh_window),
        "sign-in failures": LoginFailure.objects.filter(
            at__lt=cutoff - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)
        ),
        "expired lockouts": AccountLock.objects.filter(until__lt=cutoff),
        "admin API auth failures": AdminAuthFailure.objects.filter(
            at__lt=cutoff - timedelta(seconds=settings.CIAM_LOGIN_FAILURE_WINDOW)
        ),
        "issuance counters": TokenIssuance.objects.filter(hour__lt=cutoff - timedelta(days=8)),
        "sessions": Session.objects.filter(expire_date__lt=cutoff),
    }


# The links the toolkit declares ON DELETE SET NULL (Django emulates them; the database does not).
_SET_NULL = {
    AccessToken: [(RefreshToken, "access_token_id")],
    RefreshToken: [(AccessToken, "source_refresh_token_id")],
}


def _delete_keys(model, keys: list) -> int:
    """Delete rows by primary key in two short statements, without loading them into Python."""
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(keys))
    with transaction.atomic(), connection.cursor() as cursor:
        for referrer, column in _SET_NULL.get(model, []):
            cursor.execute(
                f"UPDATE {quote(referrer._meta.db_table)} SET {quote(column)} = NULL "
                f"WHERE {quote(column)} IN ({marks})",
                keys,
            )
        cursor.execute(
            f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} IN ({marks})",
            keys,
        )
        return cursor.rowcount


def purge(queryset: QuerySet, *, batch_size: int, progress: Callable[[int], None] | None = None) -> int:
    """Delete in batches of primary keys (short transactions: token issuance is never blocked)."""
    deleted = 0
    while True:
        keys = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not keys:
            return deleted
        deleted += _delete_keys(queryset.model, keys)
        if progress:
            progress(deleted)

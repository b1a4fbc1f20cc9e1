"""What the janitor may delete of the protocol's rows: those that can no longer be used.

Care is needed with the toolkit's links: a refresh token is refused once its access token is
gone, so an expired access token is kept while its refresh token may still be used; an ID token
is kept while an access token points to it (deleting it would cascade).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from oauth2_provider.models import get_application_model

from ciam.oauth.models import (
    AccessToken,
    AuthorizationFlow,
    DeviceGrant,
    Grant,
    IDToken,
    LogoutFlow,
    RefreshToken,
    TokenIssuance,
)


def refresh_window() -> timedelta:
    """The longest a refresh token may live past its access token (deployment or any client)."""
    longest = get_application_model().objects.aggregate(m=Max("refresh_token_lifespan"))["m"] or 0
    return timedelta(seconds=max(settings.CIAM_REFRESH_TOKEN_LIFESPAN, longest))


def purgeable(cutoff: datetime) -> dict[str, QuerySet]:
    """Name -> the protocol's rows that can go, each ended before `cutoff`."""
    window = refresh_window()
    return {
        "refresh tokens": RefreshToken.objects.filter(
            Q(revoked__lt=cutoff - window)
            | Q(revoked__isnull=True, access_token__expires__lt=cutoff - window)
            | Q(access_token__isnull=True, created__lt=cutoff - window)
        ),
        "access tokens": AccessToken.objects.filter(expires__lt=cutoff).filter(
            Q(refresh_token__isnull=True) | Q(expires__lt=cutoff - window)
        ),
        "ID tokens": IDToken.objects.filter(expires__lt=cutoff, access_token__isnull=True),
        "authorization codes": Grant.objects.filter(expires__lt=cutoff),
        "device codes": DeviceGrant.objects.filter(expires__lt=cutoff),
        "sign-in and consent flows": AuthorizationFlow.objects.filter(expires_at__lt=cutoff),
        "logout flows": LogoutFlow.objects.filter(expires_at__lt=cutoff),
        "issuance counters": TokenIssuance.objects.filter(hour__lt=cutoff - timedelta(days=8)),
    }


def purge(queryset: QuerySet, *, batch_size: int, progress: Callable[[int], None] | None = None) -> int:
    """Delete in batches of primary keys: short transactions, so token issuance is never blocked."""
    deleted = 0
    while True:
        keys = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not keys:
            return deleted
        _, per_model = queryset.model.objects.filter(pk__in=keys).delete()
        deleted += per_model.get(queryset.model._meta.label, 0)
        if progress:
            progress(deleted)

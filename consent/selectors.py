"""Reads for the person's pages."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from ciam.oauth.models import AccessToken, RefreshToken
from clients.models import Client
from consent.models import Consent


def consent_for(*, user, client) -> Consent | None:
    return Consent.objects.filter(user=user, client=client).first()


def stale(*, before) -> QuerySet:
    """Consents nobody asked to remember, last used before `before` (the janitor's)."""
    return Consent.objects.filter(remember=False, updated_at__lt=before)


def connected_apps(*, user) -> list[dict]:
    """Every application the person allowed, or that holds a live token for them."""
    apps: dict[int, dict] = {}
    for consent in Consent.objects.filter(user=user).select_related("client").order_by("-granted_at"):
        apps[consent.client_id] = {
            "client": consent.client,
            "scopes": consent.scopes,
            "granted_at": consent.granted_at,
            "remembered": consent.remember,
        }
    now = timezone.now()
    live_client_ids = set(
        AccessToken.objects.filter(user=user, expires__gt=now).values_list("application_id", flat=True)
    ) | set(
        RefreshToken.objects.filter(user=user, revoked__isnull=True).values_list("application_id", flat=True)
    )
    for client in Client.objects.filter(Q(pk__in=live_client_ids) & ~Q(pk__in=list(apps))):
        scopes = (
            AccessToken.objects.filter(user=user, application=client)
            .order_by("-created")
            .values_list("scope", flat=True)
            .first()
            or ""
        ).split()
        first = AccessToken.objects.filter(user=user, application=client).order_by("created").first()
        apps[client.pk] = {
            "client": client,
            "scopes": scopes,
            "granted_at": first.created if first else None,
            "remembered": False,
        }
    return list(apps.values())

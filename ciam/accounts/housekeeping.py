"""What the janitor may delete of the identity layer's rows: those that no longer count."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from ciam.accounts.models import AccountLock, EmailCode, FailedAttempt, TotpFactor
from ciam.accounts.sessions import Session


def purgeable(cutoff: datetime) -> dict[str, QuerySet]:
    """Name -> rows that can go, each ended before `cutoff`."""
    # No throttle looks further back than the sign-in window, nor than an hour (wrong device
    # codes count for 10 minutes).
    window = timedelta(seconds=max(settings.CIAM_LOGIN_FAILURE_WINDOW, 3600))
    return {
        "refused attempts": FailedAttempt.objects.filter(at__lt=cutoff - window),
        "expired lockouts": AccountLock.objects.filter(until__lt=cutoff),
        "sessions": Session.objects.filter(expire_date__lt=cutoff),
        # Verification and recovery codes past their lifespan (used ones expire as well; the
        # console's "last recovery" then reads "never" for them).
        "e-mailed codes": EmailCode.objects.filter(expires__lt=cutoff),
        # Authenticator apps whose set-up was left unconfirmed for a day.
        "unfinished authenticator set-ups": TotpFactor.objects.filter(
            confirmed__isnull=True, created__lt=cutoff - timedelta(days=1)
        ),
    }

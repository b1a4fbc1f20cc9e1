"""The one throttle: refused attempts counted in a sliding window (FailedAttempt rows).

Every limit in the service is this mechanism with its own kind, key and numbers: wrong passwords
per e-mail (which lock it, ciam.accounts.services) and per address, refused admin API
credentials per address, wrong device codes per person. Only refusals are counted, so a limit
never counts the requests of someone who gets it right.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from ciam.accounts.models import FailedAttempt

Kind = FailedAttempt.Kind


@dataclass(frozen=True)
class Throttle:
    """A refusal to even check the attempt: retry after `retry_after` seconds."""

    retry_after: int
    reason: str  # "account" (this e-mail is locked) or "ip" (this address tried too much), ...


def seconds_until(moment: datetime) -> int:
    """Whole seconds until `moment`, at least 1 (a Retry-After value)."""
    return max(1, math.ceil((moment - timezone.now()).total_seconds()))


def record_failure(kind: str, *, key: str = "", ip_address: str | None = None) -> None:
    """Count one refused attempt."""
    FailedAttempt.objects.create(kind=kind, key=key[:254], ip_address=ip_address)


def _attempts(kinds: Iterable[str], *, key: str | None, ip_address: str | None, since: datetime):
    attempts = FailedAttempt.objects.filter(kind__in=list(kinds), at__gt=since)
    if key is not None:
        attempts = attempts.filter(key=key)
    if ip_address is not None:
        attempts = attempts.filter(ip_address=ip_address)
    return attempts


def count(
    kinds: Iterable[str], *, window: int, key: str | None = None, ip_address: str | None = None, since=None
) -> int:
    """Refused attempts of these kinds within the last `window` seconds (and after `since`)."""
    start = timezone.now() - timedelta(seconds=window)
    return _attempts(kinds, key=key, ip_address=ip_address, since=max(start, since or start)).count()


def retry_after(
    kinds: Iterable[str], *, limit: int, window: int, key: str | None = None, ip_address: str | None = None
) -> int:
    """0 while fewer than `limit` attempts were refused within the window; otherwise the seconds
    until enough of them have left it for one more attempt."""
    start = timezone.now() - timedelta(seconds=window)
    newest_first = _attempts(kinds, key=key, ip_address=ip_address, since=start).order_by("-at")
    # The limit-th most recent refusal: once it leaves the window, one more attempt is allowed.
    boundary = newest_first.values_list("at", flat=True)[limit - 1 : limit].first()
    if boundary is None:
        return 0
    return seconds_until(boundary + timedelta(seconds=window))


def refusal(
    kind: str, *, limit: int, window: int, key: str | None = None, ip_address: str | None = None
) -> int:
    """Count one refused attempt, checked before it was refused (so a right one always passes):
    the seconds its caller must now wait, if `limit` refusals were already in the window, else 0."""
    wait = retry_after([kind], limit=limit, window=window, key=key, ip_address=ip_address)
    record_failure(kind, key=key or "", ip_address=ip_address)
    return wait


def clear(kind: str, *, key: str) -> None:
    """Forget the refused attempts of `kind` for `key` (e.g. a sign-in that succeeded)."""
    FailedAttempt.objects.filter(kind=kind, key=key).delete()

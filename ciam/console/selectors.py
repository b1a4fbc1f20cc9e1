"""Reads for the console's dashboard."""

from datetime import timedelta

from django.db.models import Count, Min, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from ciam.accounts.models import User
from ciam.api.models import AdminToken
from ciam.audit.models import AuditEvent
from ciam.oauth.models import AccessToken, TokenIssuance
from clients.models import Client
from consent.models import Consent

# The dashboard's ranges: (label, how long, bucket size).
RANGES = {
    "24h": ("last 24 hours, per hour", timedelta(hours=24), timedelta(hours=1)),
    "7d": ("last 7 days, per day", timedelta(days=7), timedelta(days=1)),
    "30d": ("last 30 days, per day", timedelta(days=30), timedelta(days=1)),
}
LABELS = {"tokens": "Access tokens issued", "logins": "Sign-ins", "failures": "Failed sign-ins"}


def dashboard_counts() -> dict:
    return {
        "clients": Client.objects.count(),
        "users": User.objects.count(),
        "active_tokens": AccessToken.objects.filter(expires__gt=timezone.now()).count(),
        "consents": Consent.objects.count(),
    }


def _first_activity(since):
    firsts = [
        TokenIssuance.objects.filter(hour__gte=since).aggregate(first=Min("hour"))["first"],
        AuditEvent.objects.filter(at__gte=since, event__in=_LOGIN_EVENTS).aggregate(first=Min("at"))["first"],
    ]
    return min((f for f in firsts if f is not None), default=None)


_LOGIN_EVENTS = ("login.succeeded", "login.failed")


def range_for_data() -> str:
    """The range that shows the activity there is: a day's worth by hour, a week's by day, or
    the last 30 days by day."""
    now = timezone.now()
    first = _first_activity(now - RANGES["30d"][1])
    if first is None or now - first <= RANGES["24h"][1]:
        return "24h"
    return "7d" if now - first <= RANGES["7d"][1] else "30d"


def activity(range_key: str) -> dict:
    """Per bucket of the range `range_key`: tokens issued, sign-ins that succeeded, that failed.
    {"buckets": [start of each bucket], "series": {key: [count per bucket]}, "daily": bool}."""
    _label, span, size = RANGES[range_key]
    daily = size >= timedelta(days=1)
    now = timezone.now()
    if daily:
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + size
    else:
        end = now.replace(minute=0, second=0, microsecond=0) + size
    count = int(span / size)
    start = end - count * size
    buckets = [start + i * size for i in range(count)]
    index = {bucket: i for i, bucket in enumerate(buckets)}
    series = {key: [0] * count for key in LABELS}
    trunc = TruncDay if daily else TruncHour
    issued = (
        TokenIssuance.objects.filter(hour__gte=start)
        .annotate(bucket=trunc("hour"))
        .values("bucket")
        .annotate(n=Sum("count"))
    )
    for row in issued:
        if row["bucket"] in index:
            series["tokens"][index[row["bucket"]]] += row["n"]
    events = (
        AuditEvent.objects.filter(at__gte=start, event__in=_LOGIN_EVENTS)
        .annotate(bucket=trunc("at"))
        .values("bucket", "event")
        .annotate(n=Count("id"))
    )
    for row in events:
        if row["bucket"] in index:
            key = "logins" if row["event"] == "login.succeeded" else "failures"
            series[key][index[row["bucket"]]] += row["n"]
    return {"buckets": buckets, "series": series, "daily": daily}


def charts(found: dict) -> list[dict]:
    """One small bar chart per series, each on its own scale so that none hides another: a bar
    per bucket in a 100 x 100 box (the page stretches it), and the numbers for a table."""
    buckets, daily = found["buckets"], found["daily"]
    slot = 100 / len(buckets)
    made = []
    for key, values in found["series"].items():
        peak = max(values)
        top = max(1, peak)
        bars = [
            {
                "x": f"{i * slot + slot * 0.15:.3f}",
                "width": f"{slot * 0.7:.3f}",
                "height": f"{v * 96 / top:.3f}",
                "y": f"{100 - v * 96 / top:.3f}",
                "value": v,
            }
            for i, v in enumerate(values)
            if v
        ]
        made.append({"key": key, "label": LABELS[key], "total": sum(values), "peak": peak, "bars": bars})
    fmt = "%a %d %b" if daily else "%H:%M"
    marks = [buckets[0], buckets[len(buckets) // 2], buckets[-1]]
    return [dict(chart, axis=[m.strftime(fmt) for m in marks]) for chart in made]


def getting_started() -> list[dict] | None:
    """The first steps on a fresh deployment, each done or not; None once they are all done."""
    steps = [
        {"title": "Create a client", "done": Client.objects.exists(), "url": "clients:new"},
        {
            "title": "Try a flow",
            "done": TokenIssuance.objects.exists() or AccessToken.objects.exists(),
            "url": "clients:list",
        },
        {"title": "Create an API token", "done": AdminToken.objects.exists(), "url": "console:admin-tokens"},
    ]
    return None if all(step["done"] for step in steps) else steps

"""Reads for the console's dashboard."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.html import escape

from ciam.accounts.models import User
from ciam.audit.models import AuditEvent
from ciam.oauth.models import AccessToken, TokenIssuance
from clients.models import Client
from consent.models import Consent

HOURS = 7 * 24


def dashboard_counts() -> dict:
    return {
        "clients": Client.objects.count(),
        "users": User.objects.count(),
        "active_tokens": AccessToken.objects.filter(expires__gt=timezone.now()).count(),
        "consents": Consent.objects.count(),
    }


def hourly_series() -> tuple[list, dict[str, list[int]]]:
    """Per hour over the last 7 days: tokens issued, sign-ins that succeeded, that failed."""
    end = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=HOURS)
    hours = [start + timedelta(hours=i) for i in range(HOURS)]
    index = {hour: i for i, hour in enumerate(hours)}
    series = {"tokens": [0] * HOURS, "logins": [0] * HOURS, "failures": [0] * HOURS}
    for row in TokenIssuance.objects.filter(hour__gte=start).values("hour").annotate(n=Sum("count")):
        if row["hour"] in index:
            series["tokens"][index[row["hour"]]] = row["n"]
    events = (
        AuditEvent.objects.filter(at__gte=start, event__in=["login.succeeded", "login.failed"])
        .annotate(hour=TruncHour("at"))
        .values("hour", "event")
        .annotate(n=Count("id"))
    )
    for row in events:
        if row["hour"] in index:
            key = "logins" if row["event"] == "login.succeeded" else "failures"
            series[key][index[row["hour"]]] += row["n"]
    return hours, series


COLORS = {"tokens": "#2f5bea", "logins": "#15803d", "failures": "#b42318"}
LABELS = {"tokens": "Access tokens issued", "logins": "Sign-ins", "failures": "Failed sign-ins"}


def hourly_chart_svg(hours: list, series: dict[str, list[int]]) -> str:
    """The series as an accessible SVG line chart, drawn on the server (no script, no CDN)."""
    width, height, left, bottom, top = 960, 240, 44, 28, 12
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max([1, *(max(values) for values in series.values())])
    step = plot_w / max(1, len(hours) - 1)

    def y(value: int) -> float:
        return top + plot_h - (value / peak) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="chart-title chart-desc">',
        '<title id="chart-title">Activity per hour, last 7 days</title>',
        f'<desc id="chart-desc">Peak of {peak} per hour. Totals: '
        + ", ".join(f"{LABELS[k]} {sum(v)}" for k, v in series.items())
        + ".</desc>",
    ]
    for fraction in (0, 0.5, 1):
        value = round(peak * fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - 12}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6270">'
            f"{value}</text>"
        )
    for i, hour in enumerate(hours):
        if hour.hour == 0:
            x = left + i * step
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#f1f2f5"/>')
            parts.append(
                f'<text x="{x + 3:.1f}" y="{height - 8}" font-size="11" fill="#5b6270">'
                f"{escape(hour.strftime('%a %d'))}</text>"
            )
    for key, values in series.items():
        points = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{COLORS[key]}" stroke-width="2" points="{points}"/>')
    parts.append("</svg>")
    return "".join(parts)

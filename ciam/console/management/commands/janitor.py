import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ciam.accounts import housekeeping as accounts
from ciam.oauth import housekeeping as protocol
from consent import selectors as consents


def purgeable(keep: timedelta) -> dict:
    """Every app's rows that can no longer be used, each older than `keep` beyond its own end."""
    cutoff = timezone.now() - keep
    return {
        **protocol.purgeable(cutoff),
        # A consent nobody asked to remember only served one authorization long since over.
        "stale consents": consents.stale(before=cutoff - protocol.refresh_window()),
        **accounts.purgeable(cutoff),
    }


def progress_bar(label: str, total: int):
    width = 30

    def show(done: int) -> None:
        stream = sys.stderr
        filled = int(width * done / total) if total else width
        stream.write(f"\r  {label:<20} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}")
        stream.flush()

    return show


class Command(BaseCommand):
    help = (
        "Delete expired tokens, codes, device codes, stale consents, old sign-in failures and expired "
        "sessions, in batches. Safe to run while the service serves requests (e.g. from cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows per delete statement (default 1000)."
        )
        parser.add_argument(
            "--keep-if-younger",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep rows that ended less than this long ago.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars.")

    def handle(self, *args, **opts):
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if opts["keep_if_younger"] < 0:
            raise CommandError("--keep-if-younger cannot be negative")
        total = 0
        for label, queryset in purgeable(keep=timedelta(seconds=opts["keep_if_younger"])).items():
            count = queryset.count()
            if opts["dry_run"]:
                self.stdout.write(f"{label}: {count} would be deleted")
                continue
            show = None if opts["no_progress"] or not count else progress_bar(label, count)
            deleted = protocol.purge(queryset, batch_size=opts["batch_size"], progress=show)
            if show:
                sys.stderr.write("\n")
            self.stdout.write(f"{label}: {deleted} deleted")
            total += deleted
        if not opts["dry_run"]:
            self.stdout.write(f"Done: {total} rows deleted.")

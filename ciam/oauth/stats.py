"""Counting issued access tokens per hour, cheaply, for the console's chart.

Each process counts in memory and adds its count to one of a few rows of the current hour at
most every CIAM_STATS_FLUSH_SECONDS (one UPSERT for many tokens). A process that dies loses at
most that many seconds of counts: this feeds a chart, never a decision.
"""

import random
import threading
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ciam.oauth.models import TokenIssuance

SHARDS = 8
_lock = threading.Lock()
_pending = 0
_last_flush = time.monotonic()


def record_issuance() -> None:
    global _pending
    with _lock:
        _pending += 1
    if time.monotonic() - _last_flush >= settings.CIAM_STATS_FLUSH_SECONDS:
        flush_issuance()


def flush_issuance() -> None:
    global _pending, _last_flush
    with _lock:
        count, _pending, _last_flush = _pending, 0, time.monotonic()
    if not count:
        return
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    table = connection.ops.quote_name(TokenIssuance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hour, shard, count) VALUES (%s, %s, %s) "
            f"ON CONFLICT (hour, shard) DO UPDATE SET count = {table}.count + EXCLUDED.count",
            [hour, random.randrange(SHARDS), count],
        )

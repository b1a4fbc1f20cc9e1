"""ciam.lib.durations: durations in words."""

import pytest

from ciam.lib.durations import in_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (60, "1 minute"),
        (300, "5 minutes"),
        (900, "15 minutes"),
        (3600, "1 hour"),
        (5400, "1 hour 30 minutes"),
        (86400, "1 day"),
        (14 * 86400, "2 weeks"),
        (30 * 86400, "30 days"),
        (31536000, "365 days"),
        (3725, "3725 seconds"),
    ],
)
def test_a_duration_reads_exactly_in_at_most_two_units(seconds, words):
    assert in_words(seconds) == words

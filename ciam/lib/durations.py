"""Durations in words, for people reading settings: 2592000 -> "30 days"."""

_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def in_words(seconds: int) -> str:
    """`seconds` exactly, in at most the two largest units it has ("1 hour 30 minutes"), or the
    seconds themselves when two units cannot say it exactly ("3725 seconds")."""
    if seconds == 0:
        return "0 seconds"
    parts = []
    rest = seconds
    for unit, size in _UNITS:
        if unit == "week" and seconds % size:
            continue  # 30 days, not 4 weeks 2 days
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    if len(parts) > 2:
        return f"{seconds} seconds"
    return " ".join(parts)

"""The values a filter compares, in the one form each type compares in: timestamps and
durations as integer nanoseconds (from RFC 3339 or protobuf JSON text, datetimes, timedeltas,
seconds or protobuf messages), and text under Unicode simple case folding, by which `:`
ignores case (GEN-046, GEN-047). Ordering compares times the same way."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

_NANOS_PER_SECOND = 1_000_000_000
# protobuf's Duration range, about 10,000 years either way.
_MAX_DURATION_SECONDS = 315_576_000_000


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def parse_timestamp_nanos(text: str) -> int | None:
    """Nanoseconds since the Unix epoch of an RFC 3339 date-time with a zone, or None.

    At most nine fractional digits (protobuf Timestamp's precision); no leap second.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_hour, off_minute = match.groups()
    try:
        ordinal = date(int(year), int(month), int(day)).toordinal()
    except ValueError:
        return None
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        return None
    offset = 0
    if sign:
        if int(off_hour) > 23 or int(off_minute) > 59:
            return None
        offset = (int(off_hour) * 3600 + int(off_minute) * 60) * (1 if sign == "+" else -1)
    seconds = (ordinal - _EPOCH_ORDINAL) * 86400 + int(hour) * 3600 + int(minute) * 60
    seconds += int(second) - offset
    return seconds * _NANOS_PER_SECOND + int((fraction or "").ljust(9, "0"))


_DURATION = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,9}))?s")


def parse_duration_nanos(text: str) -> int | None:
    """Nanoseconds of a protobuf JSON duration ("3600s", "-0.5s"), or None if malformed."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    if len(whole.lstrip("0")) > 12 or int(whole) > _MAX_DURATION_SECONDS:
        return None
    nanos = int(whole) * _NANOS_PER_SECOND + int((fraction or "").ljust(9, "0"))
    return -nanos if sign else nanos


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def instant_nanos(value: Any) -> int | None:
    """Nanoseconds since the epoch of a datetime (naive = UTC) or a protobuf Timestamp."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return _timedelta_nanos(value - _EPOCH)
    return int(value.seconds) * _NANOS_PER_SECOND + int(value.nanos)


def duration_nanos(value: Any) -> int | None:
    """Nanoseconds of a timedelta, a number of seconds, or a protobuf Duration."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return _timedelta_nanos(value)
    if isinstance(value, int | float):
        return round(value * _NANOS_PER_SECOND)
    return int(value.seconds) * _NANOS_PER_SECOND + int(value.nanos)


def _timedelta_nanos(delta: timedelta) -> int:
    # Integer arithmetic: total_seconds() is a float and would lose nanosecond exactness.
    return (delta.days * 86400 + delta.seconds) * _NANOS_PER_SECOND + delta.microseconds * 1000


def simple_casefold(text: str) -> str:
    """`text` under Unicode simple case folding, the folding `:` ignores case by (GEN-047).

    str.casefold() is full folding ("ß" becomes "ss"); simple folding maps each character to
    one character, so every server agrees on what `:` matches.
    """
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_character, text))


@lru_cache(maxsize=4096)
def _fold_character(char: str) -> str:
    folded = char.casefold()
    if len(folded) == 1:
        # One character: the common (C) mapping, the same in simple and full folding.
        return folded
    # Several: full folding only. The simple (S) mapping, where there is one, is the lower case
    # (U+1E9E to U+00DF); where there is none, lower() is the character itself or several
    # characters (U+0130), and simple folding leaves the character unchanged.
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char

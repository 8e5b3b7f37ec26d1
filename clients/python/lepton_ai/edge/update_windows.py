"""Recurring weekly windows (UpdateWindow), read in their IANA time zone: whether one is open
and when the next one opens. The agent reads a rollout's install windows on its estimate of
the server clock (EDG-113, EDG-121); the fleet server reads its update windows, when it may
dispatch devices (EDG-086)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from lepton.edge.v1 import update_window_pb2

# A window lasts at most 7 days, so one opened up to 7 days before may still be open.
LOOKBACK_DAYS = 8


def window_open(windows: Sequence[update_window_pb2.UpdateWindow], now: dt.datetime) -> bool:
    """True when `windows` is empty (install at once) or one of them contains `now` (aware)."""
    if not windows:
        return True
    return any(_contains(window, now) for window in windows)


def next_opening(
    windows: Sequence[update_window_pb2.UpdateWindow], now: dt.datetime
) -> dt.datetime | None:
    """The earliest time after `now` (aware) at which one of `windows` opens; None without
    windows."""
    openings = [
        opens
        for window in windows
        for opens in _openings(window, now, range(-1, LOOKBACK_DAYS))
        if opens > now
    ]
    return min(openings, default=None)


def _contains(window: update_window_pb2.UpdateWindow, now: dt.datetime) -> bool:
    length = window.duration.ToTimedelta()
    return any(
        opens <= now < opens + length
        for opens in _openings(window, now, range(-LOOKBACK_DAYS + 1, 1))
    )


def _openings(
    window: update_window_pb2.UpdateWindow, now: dt.datetime, days: range
) -> list[dt.datetime]:
    """When `window` opens on each day `now`'s local date plus each of `days` (negative:
    before) that is one of its weekdays."""
    zone = ZoneInfo(window.time_zone or "UTC")
    today = now.astimezone(zone).date()
    found = []
    for offset in days:
        day = today + dt.timedelta(days=offset)
        if window.days_of_week and day.isoweekday() not in window.days_of_week:
            continue
        found.append(
            dt.datetime.combine(day, dt.time(), tzinfo=zone)
            + dt.timedelta(minutes=window.start_minute)
        )
    return found

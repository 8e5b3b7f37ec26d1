"""Whether an install window is open (EDG-113, EDG-121): recurring weekly windows
(UpdateWindow) read in their IANA time zone on the agent's estimate of the server clock."""

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


def _contains(window: update_window_pb2.UpdateWindow, now: dt.datetime) -> bool:
    zone = ZoneInfo(window.time_zone or "UTC")
    local = now.astimezone(zone)
    length = window.duration.ToTimedelta()
    for days_back in range(LOOKBACK_DAYS):
        day = local.date() - dt.timedelta(days=days_back)
        if window.days_of_week and day.isoweekday() not in window.days_of_week:
            continue
        opens = dt.datetime.combine(day, dt.time(), tzinfo=zone) + dt.timedelta(
            minutes=window.start_minute
        )
        if opens <= local < opens + length:
            return True
    return False

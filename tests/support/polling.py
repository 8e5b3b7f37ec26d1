"""Waiting, in tests, for what a server or an agent does in its own time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How long a test waits for what the server must do promptly (spec/edge.md 4: 5 s).
PROMPTLY = 5.0


def eventually(
    condition: Callable[[], T],
    timeout: float = PROMPTLY,
    *,
    what: str = "",
    explain: Callable[[], str] = str,
) -> T:
    """`condition()` once it is truthy, polled until `timeout` seconds; fails with its last
    value, `what` was awaited and what `explain` tells (e.g. an agent's log) otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert value, f"{what or 'still'} {value!r} after {timeout} s\n{explain()}".rstrip()
    return value

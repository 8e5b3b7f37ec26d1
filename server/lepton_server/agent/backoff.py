"""How long the agent waits before it reconnects or retries a failed call (EDG-102):
exponential from about 1 second, capped at 5 minutes, with +-20 % random jitter."""

from __future__ import annotations

import random

INITIAL_SECONDS = 1.0
CAP_SECONDS = 300.0
JITTER = 0.2


class Backoff:
    """Delays of successive failures; `reset` after a success."""

    def __init__(
        self, initial: float = INITIAL_SECONDS, cap: float = CAP_SECONDS, jitter: float = JITTER
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.jitter = jitter
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        base = min(self.cap, self.initial * 2**self.failures)
        self.failures += 1
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)

    def reset(self) -> None:
        self.failures = 0

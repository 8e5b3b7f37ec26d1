"""The queue of training jobs waiting for capacity (TRN-032, TRN-066): whenever capacity is
freed or a job arrives, the waiting jobs are started highest `priority` first and, among
equal priorities, oldest first, each one that fits what is free (a smaller job may pass a
larger one that does not fit yet). `queue_position` reports the order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from lepton_server.training.capacity import Capacity, Demand


@dataclass(order=True)
class _Waiter:
    sort_key: tuple[int, int, str]
    name: str = field(compare=False)
    demand: Demand = field(compare=False)
    admitted: asyncio.Future[None] = field(compare=False)


class JobQueue:
    """Jobs waiting for their Demand; `positions` hears the queue order after each change
    (job name → 0-based position)."""

    def __init__(self, capacity: Capacity, positions: Callable[[dict[str, int]], None]) -> None:
        self.capacity = capacity
        self._positions = positions
        self._waiting: dict[str, _Waiter] = {}

    async def wait(self, name: str, demand: Demand, priority: int, created_ns: int) -> None:
        """Return once `name` holds `demand`. Cancelling the wait leaves the queue and gives
        back capacity the job was granted meanwhile."""
        admitted = asyncio.get_running_loop().create_future()
        self._waiting[name] = _Waiter((-priority, created_ns, name), name, demand, admitted)
        self._dispatch()
        try:
            await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():
                self.release(name)
            raise
        finally:
            self._waiting.pop(name, None)
            self._report()

    def release(self, name: str) -> None:
        """`name` no longer holds capacity: start who fits now."""
        self.capacity.release(name)
        self._dispatch()

    def _dispatch(self) -> None:
        for waiter in sorted(self._waiting.values()):
            if waiter.admitted.done():
                continue
            if self.capacity.try_acquire(waiter.name, waiter.demand):
                waiter.admitted.set_result(None)
        self._report()

    def _report(self) -> None:
        pending = sorted(w for w in self._waiting.values() if not w.admitted.done())
        self._positions({waiter.name: i for i, waiter in enumerate(pending)})

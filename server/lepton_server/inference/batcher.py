"""Dynamic batching: concurrent requests to one model version merged into one execution.

Requests whose inputs agree on everything but the batch (first) dimension are concatenated,
run once, and the outputs split back in request order, so every request gets exactly what it
would have got alone (INF-040)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

Run = Callable[[dict[str, np.ndarray], list[str]], list[np.ndarray]]


@dataclass
class Execution:
    """What one request got from a (possibly shared) execution."""

    outputs: list[np.ndarray]
    queue_ns: int
    infer_ns: int


@dataclass
class _Pending:
    key: tuple
    feeds: dict[str, np.ndarray]
    batch: int
    future: asyncio.Future[Execution]
    queued_at: int = field(default_factory=time.perf_counter_ns)


class DynamicBatcher:
    """Merges requests of one model version, up to `max_batch_size` rows per execution,
    waiting at most `max_queue_delay_s` for a batch to fill."""

    def __init__(
        self,
        run: Run,
        outputs: list[str],
        executor: Executor,
        *,
        max_batch_size: int,
        max_queue_delay_s: float,
        on_execution: Callable[[int, int], None],
    ) -> None:
        self._run = run
        self._outputs = outputs
        self._executor = executor
        self._max = max_batch_size
        self._delay = max_queue_delay_s
        self._on_execution = on_execution  # (batch_size, infer_ns)
        self._pending: list[_Pending] = []
        self._pending_rows = 0
        self._timer: asyncio.Handle | None = None
        self._running: set[asyncio.Task[None]] = set()  # keeps executions from being collected

    async def submit(self, feeds: dict[str, np.ndarray], batch: int) -> Execution:
        """Queue one request of `batch` rows; returns every model output for its rows."""
        loop = asyncio.get_running_loop()
        key = tuple(
            (name, array.dtype.str, array.shape[1:]) for name, array in sorted(feeds.items())
        )
        pending = _Pending(key, feeds, batch, loop.create_future())
        self._pending.append(pending)
        self._pending_rows += batch
        if self._pending_rows >= self._max:
            self._flush()
        elif self._timer is None:
            # Even with no delay, requests that arrive in the same event-loop turn share a run.
            self._timer = (
                loop.call_later(self._delay, self._flush)
                if self._delay
                else loop.call_soon(self._flush)
            )
        return await pending.future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending, self._pending_rows = self._pending, [], 0
        groups: dict[tuple, list[_Pending]] = {}
        for item in pending:
            groups.setdefault(item.key, []).append(item)
        for items in groups.values():
            batch: list[_Pending] = []
            rows = 0
            for item in items:
                if batch and rows + item.batch > self._max:
                    self._start(batch)
                    batch, rows = [], 0
                batch.append(item)
                rows += item.batch
            self._start(batch)

    def _start(self, batch: list[_Pending]) -> None:
        task = asyncio.ensure_future(self._execute(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _execute(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter_ns()
        try:
            if len(batch) == 1:
                feeds = batch[0].feeds
            else:
                feeds = {
                    name: np.concatenate([item.feeds[name] for item in batch])
                    for name in batch[0].feeds
                }
            results = await loop.run_in_executor(self._executor, self._run, feeds, self._outputs)
        except Exception as exc:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        infer_ns = time.perf_counter_ns() - started
        rows = sum(item.batch for item in batch)
        self._on_execution(rows, infer_ns)
        offset = 0
        for item in batch:
            part = [r[offset : offset + item.batch] for r in results] if len(batch) > 1 else results
            offset += item.batch
            if not item.future.done():
                item.future.set_result(Execution(part, started - item.queued_at, infer_ns))

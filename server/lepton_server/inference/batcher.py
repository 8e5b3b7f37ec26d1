"""Dynamic batching: concurrent requests to one model version merged into one execution.

Each batching model version has one scheduler thread. Requests queue up while it executes;
when it is free it takes every queued request that fits (up to the maximum batch size, after
waiting at most the configured queue delay for more), runs them as one batch and hands the
results back to the event loop in one call. At low load nothing waits; at high load batches
grow with the load, and the event loop pays one wake-up per batch rather than per request.

A model whose executions are cheap (ExecutionCost) skips the thread: handing a request to it
and the answer back costs about 100 us of CPU (two thread switches, a self-pipe wake-up, the
GIL passed back and forth), several times what running a small model costs. Its requests
queue on the event loop instead, and one callback scheduled behind the requests the loop is
about to run merges and executes them all, so requests that arrive together still share an
execution.

Requests whose inputs agree on everything but the batch (first) dimension are concatenated,
run once, and the outputs split back in request order, so every request gets exactly what it
would have got alone (INF-040).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Run = Callable[[dict[str, np.ndarray], list[str]], list[np.ndarray]]
# Executions shorter than this on average run on the event loop rather than a thread.
INLINE_LIMIT_NS = 200_000


class ExecutionCost:
    """A moving average of the CPU time one execution of a model version takes on its calling
    thread: where to run the next one. CPU time, not wall time: a thread that waits for the
    GIL after the runtime releases it would count the wait and look expensive for ever."""

    def __init__(self) -> None:
        self._average_ns: float | None = None

    def record(self, ns: int) -> None:
        average = self._average_ns
        self._average_ns = ns if average is None else 0.9 * average + 0.1 * ns

    @property
    def cheap(self) -> bool:
        """Measured, and short enough to run on the event loop (unmeasured is not cheap)."""
        return self._average_ns is not None and self._average_ns < INLINE_LIMIT_NS


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
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Execution]
    queued_at: int = field(default_factory=time.perf_counter_ns)


class DynamicBatcher:
    """Merges requests of one model version, up to `max_batch_size` rows per execution,
    waiting at most `max_queue_delay_s` for a batch to fill."""

    def __init__(
        self,
        run: Run,
        outputs: list[str],
        *,
        max_batch_size: int,
        max_queue_delay_s: float,
        on_execution: Callable[[int, int], None],
        cost: ExecutionCost | None = None,
        name: str = "lepton-batcher",
    ) -> None:
        self._run = run
        self._outputs = outputs
        self._max = max_batch_size
        self._delay = max_queue_delay_s
        self._on_execution = on_execution  # (batch_size, infer_ns), from either path
        self.cost = cost or ExecutionCost()
        self._queue: deque[_Pending] = deque()
        # Requests waiting on an event loop for the flush that loop has scheduled.
        self._on_loop: dict[asyncio.AbstractEventLoop, deque[_Pending]] = {}
        self._ready = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._schedule, name=name, daemon=True)
        self._thread.start()

    async def submit(self, feeds: dict[str, np.ndarray], batch: int) -> Execution:
        """Queue one request of `batch` rows; returns every model output for its rows."""
        loop = asyncio.get_running_loop()
        key = tuple((name, array.dtype.str, array.shape[1:]) for name, array in feeds.items())
        pending = _Pending(key, feeds, batch, loop, loop.create_future())
        if self._closed:
            raise RuntimeError("the model version was unloaded")
        if not self._delay and self.cost.cheap:
            waiting = self._on_loop.setdefault(loop, deque())
            if not waiting:
                loop.call_soon(self._flush, loop)
            waiting.append(pending)
        else:
            with self._ready:
                self._queue.append(pending)
                self._ready.notify()
        return await pending.future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Execute, on the loop, every request queued there since the last flush."""
        waiting = self._on_loop.pop(loop, deque())
        while waiting:
            self._execute(_take(waiting, self._max))

    def close(self) -> None:
        """Finish what is queued, then stop the scheduler thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()

    def _schedule(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                self._wait_to_fill()
                batch = _take(self._queue, self._max)
            self._execute(batch)

    def _wait_to_fill(self) -> None:
        # Called with the lock held and a non-empty queue.
        if not self._delay:
            return
        deadline = self._queue[0].queued_at / 1e9 + self._delay
        while sum(p.batch for p in self._queue) < self._max and not self._closed:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._ready.wait(remaining)

    def _execute(self, batch: list[_Pending]) -> None:
        started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
        try:
            if len(batch) == 1:
                feeds = batch[0].feeds
            else:
                feeds = {
                    name: np.concatenate([item.feeds[name] for item in batch])
                    for name in batch[0].feeds
                }
            results = self._run(feeds, self._outputs)
        except Exception as exc:
            _deliver(batch, [exc] * len(batch))
            return
        infer_ns = time.perf_counter_ns() - started
        self.cost.record(time.thread_time_ns() - cpu_started)
        self._on_execution(sum(item.batch for item in batch), infer_ns)
        answers: list[Execution | Exception] = []
        offset = 0
        for item in batch:
            part = [r[offset : offset + item.batch] for r in results] if len(batch) > 1 else results
            offset += item.batch
            answers.append(Execution(part, started - item.queued_at, infer_ns))
        _deliver(batch, answers)


def _take(queue: deque[_Pending], limit: int) -> list[_Pending]:
    """The oldest request of `queue` and every later one with the same key that fits within
    `limit` rows; the others stay queued in their order."""
    first = queue.popleft()
    batch, rows, kept = [first], first.batch, deque()
    while queue:
        item = queue.popleft()
        if item.key == first.key and rows + item.batch <= limit:
            batch.append(item)
            rows += item.batch
        else:
            kept.append(item)
    queue.extendleft(reversed(kept))
    return batch


def _deliver(batch: list[_Pending], answers: list[Execution | Exception]) -> None:
    """Hand every answer to its request's event loop in one call per loop (directly when
    the execution ran on that loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for item, answer in zip(batch, answers, strict=True):
        by_loop.setdefault(item.loop, []).append((item.future, answer))
    try:
        current = asyncio.get_running_loop()
    except RuntimeError:  # the scheduler thread runs no loop
        current = None
    for loop, pairs in by_loop.items():
        if loop is current:
            _resolve(pairs)
        else:
            loop.call_soon_threadsafe(_resolve, pairs)


def _resolve(pairs: list) -> None:
    for future, answer in pairs:
        if future.done():
            continue  # the caller went away (cancelled or deadline exceeded)
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result(answer)

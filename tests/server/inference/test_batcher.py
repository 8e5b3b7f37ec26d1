"""Where the dynamic batcher executes: cheap models on the event loop, still merging the
requests that arrive together; expensive ones, and ones told to wait for a batch to fill, on
the scheduler thread."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from lepton_server.inference.batcher import INLINE_LIMIT_NS, DynamicBatcher, ExecutionCost


class Recorder:
    """A model that adds one, recording the thread and row count of every execution."""

    def __init__(self, burn_ns: int = 0) -> None:
        self.burn_ns = burn_ns
        self.executions: list[tuple[str, int]] = []

    def run(self, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        deadline = time.thread_time_ns() + self.burn_ns
        while time.thread_time_ns() < deadline:
            pass
        rows = feeds["x"]
        self.executions.append((threading.current_thread().name, len(rows)))
        return [rows + 1]


def batcher(model: Recorder, delay_s: float = 0.0) -> DynamicBatcher:
    return DynamicBatcher(
        model.run,
        ["y"],
        max_batch_size=64,
        max_queue_delay_s=delay_s,
        on_execution=lambda rows, ns: None,
        name="test-batcher",
    )


async def _together(subject: DynamicBatcher, count: int) -> list[np.ndarray]:
    executions = await asyncio.gather(
        *(subject.submit({"x": np.full((1, 2), i, np.float32)}, 1) for i in range(count))
    )
    return [e.outputs[0] for e in executions]


def test_unmeasured_cost_is_not_cheap_and_a_moving_average_decides():
    cost = ExecutionCost()
    assert not cost.cheap
    cost.record(1_000)
    assert cost.cheap
    for _ in range(40):
        cost.record(10 * INLINE_LIMIT_NS)
    assert not cost.cheap


def test_a_cheap_model_runs_on_the_loop_and_merges_requests_that_arrive_together():
    model = Recorder()
    subject = batcher(model)

    async def scenario() -> list[np.ndarray]:
        await _together(subject, 1)  # measured on the scheduler thread first
        return await _together(subject, 8)

    try:
        outputs = asyncio.run(scenario())
    finally:
        subject.close()
    assert model.executions[0] == ("test-batcher", 1)
    assert model.executions[1:] == [("MainThread", 8)]
    for i, output in enumerate(outputs):
        np.testing.assert_array_equal(output, np.full((1, 2), i + 1, np.float32))


@pytest.mark.parametrize(("burn_ns", "delay_s"), [(3 * INLINE_LIMIT_NS, 0.0), (0, 0.001)])
def test_expensive_or_delayed_models_stay_on_the_scheduler_thread(burn_ns, delay_s):
    model = Recorder(burn_ns)
    subject = batcher(model, delay_s)

    async def scenario() -> list[np.ndarray]:
        await _together(subject, 1)
        return await _together(subject, 8)

    try:
        outputs = asyncio.run(scenario())
    finally:
        subject.close()
    assert {thread for thread, _ in model.executions} == {"test-batcher"}
    assert sum(rows for _, rows in model.executions) == 9
    for i, output in enumerate(outputs):
        np.testing.assert_array_equal(output, np.full((1, 2), i + 1, np.float32))

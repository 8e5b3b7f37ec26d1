"""Training capacity (TRN-066): running jobs never hold more CPU or memory than the server
has; a job that fits the capacity but not what is free waits; one that never fits is
RESOURCES_UNSATISFIABLE."""

from __future__ import annotations

import pytest

from lepton_server.runtime.errors import InvalidArgument
from lepton_server.training.capacity import Capacity, Demand

GIB = 1 << 30


def test_jobs_hold_what_they_need_and_wait_for_the_rest():
    capacity = Capacity(cpu=4, memory_bytes=8 * GIB)
    more_than_half = Demand(cpu=2.5, memory_bytes=GIB)
    assert capacity.try_acquire("a", more_than_half)
    assert not capacity.try_acquire("b", more_than_half)  # fits the capacity, not what is free
    assert capacity.free() == (1.5, 7 * GIB)
    capacity.release("a")
    assert capacity.try_acquire("b", more_than_half)


def test_workers_multiply_the_demand_and_memory_counts_too():
    capacity = Capacity(cpu=8, memory_bytes=4 * GIB)
    assert not capacity.try_acquire("a", Demand(cpu=1, memory_bytes=GIB, workers=5))
    assert capacity.try_acquire("a", Demand(cpu=1, memory_bytes=GIB, workers=4))
    assert not capacity.try_acquire("b", Demand(cpu=0.5, memory_bytes=1))


def test_fractions_that_add_up_to_the_capacity_fit():
    capacity = Capacity(cpu=1, memory_bytes=GIB)
    for job in "abc":
        assert capacity.try_acquire(job, Demand(cpu=1 / 3, memory_bytes=GIB // 3))


def test_acquiring_twice_holds_once():
    capacity = Capacity(cpu=2, memory_bytes=GIB)
    demand = Demand(cpu=1.5, memory_bytes=GIB // 2)
    assert capacity.try_acquire("a", demand) and capacity.try_acquire("a", demand)
    assert capacity.free() == (0.5, GIB // 2)


def test_a_job_larger_than_the_server_is_unsatisfiable():
    capacity = Capacity(cpu=2, memory_bytes=GIB)
    capacity.check_satisfiable(Demand(cpu=2, memory_bytes=GIB), "training_job.spec.resources")
    with pytest.raises(InvalidArgument) as refused:
        capacity.check_satisfiable(
            Demand(cpu=1, memory_bytes=GIB, workers=2), "training_job.spec.resources"
        )
    assert refused.value.reason == "RESOURCES_UNSATISFIABLE"


def test_this_machine_has_some_capacity():
    capacity = Capacity.of_this_machine(share=0.5)
    assert capacity.cpu > 0 and capacity.memory_bytes > 0

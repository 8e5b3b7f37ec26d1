"""The training capacity of a server (spec/training.md, "Resources and executors",
TRN-066): CPU and memory the RUNNING jobs hold, never more than the server has. A job that
fits the capacity but not what is free waits; one that could never fit is refused at
creation (RESOURCES_UNSATISFIABLE)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from lepton_server.runtime.errors import invalid_argument

# Defaults of a worker that asks for nothing (spec: at least 1 CPU and 1 GiB).
DEFAULT_CPU = 1.0
DEFAULT_MEMORY_BYTES = 1 << 30


@dataclass(frozen=True)
class Demand:
    """What one job holds while it runs: per-worker resources times its workers."""

    cpu: float
    memory_bytes: int
    workers: int = 1

    @property
    def total_cpu(self) -> float:
        return self.cpu * self.workers

    @property
    def total_memory_bytes(self) -> int:
        return self.memory_bytes * self.workers


class Capacity:
    """Slots of CPU and memory: jobs acquire a Demand when they start and release it when
    their attempt ends."""

    def __init__(self, cpu: float, memory_bytes: int) -> None:
        if cpu <= 0 or memory_bytes <= 0:
            raise ValueError("a training capacity needs some CPU and memory")
        self.cpu = cpu
        self.memory_bytes = memory_bytes
        self._held: dict[str, Demand] = {}

    @classmethod
    def of_this_machine(cls, share: float = 1.0) -> Capacity:
        """`share` of this machine's CPUs (the ones the process may use) and memory."""
        cpus = len(os.sched_getaffinity(0))
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return cls(cpus * share, int(memory * share))

    def check_satisfiable(self, demand: Demand, field: str) -> None:
        """RESOURCES_UNSATISFIABLE when `demand` exceeds the whole capacity."""
        if demand.total_cpu > self.cpu or demand.total_memory_bytes > self.memory_bytes:
            raise invalid_argument(
                "RESOURCES_UNSATISFIABLE",
                field,
                f"the job needs {demand.total_cpu:g} CPU and {demand.total_memory_bytes} bytes "
                f"of memory; this server has {self.cpu:g} CPU and {self.memory_bytes} bytes",
            )

    def free(self) -> tuple[float, int]:
        """The CPU and memory no running job holds."""
        cpu = self.cpu - sum(d.total_cpu for d in self._held.values())
        memory = self.memory_bytes - sum(d.total_memory_bytes for d in self._held.values())
        return cpu, memory

    def try_acquire(self, job: str, demand: Demand) -> bool:
        """Hold `demand` for `job` if it fits what is free (a job holds one demand at most)."""
        if job in self._held:
            return True
        cpu, memory = self.free()
        # A small tolerance, so fractions that add up to the capacity fit it.
        if demand.total_cpu > cpu + 1e-9 or demand.total_memory_bytes > memory:
            return False
        self._held[job] = demand
        return True

    def release(self, job: str) -> None:
        self._held.pop(job, None)

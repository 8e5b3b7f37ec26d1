"""How the suite keeps a job QUEUED on any server, without a scheduler hook: TRN-015 rejects
at creation a CPU request no worker can ever have (RESOURCES_UNSATISFIABLE), so a search with
validate_only finds the largest CPU request the target accepts; a running "blocker" job holding
that much leaves no room, and TRN-066 then keeps a second job of that size QUEUED until the
blocker ends. A target that accepts any CPU request leaves the case Skipped."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc

from lepton.training.v1 import training_job_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness.case import Skipped
from lepton_conformance.suites.training.training_client import (
    QUEUED,
    RUNNING,
    TrainingClient,
    conformance_job,
)

# No training capacity is this large; a target that accepts it has no limit to find.
UNBOUNDED_CPU = 1.0e6
CACHE_KEY = "training.largest_cpu"


def _accepted(client: TrainingClient, train: str, cpu: float) -> bool:
    job = conformance_job(
        train, fields={"resources": training_job_pb2.ResourceRequirements(cpu=cpu)}
    )
    request = pb.CreateTrainingJobRequest(training_job=job, validate_only=True)
    try:
        client.try_create(request)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            return False
        raise
    return True


def largest_cpu(client: TrainingClient, train: str) -> float | None:
    """The largest CPU request per worker the target accepts (to 1/1000 of a core), or None
    when it accepts any."""
    if CACHE_KEY not in client.ctx.cache:
        low, high = 0.0, 1.0
        while _accepted(client, train, high):
            low, high = high, high * 2
            if high > UNBOUNDED_CPU:
                client.ctx.cache[CACHE_KEY] = None
                return None
        while high - low > 0.001:
            middle = (low + high) / 2
            low, high = (middle, high) if _accepted(client, train, middle) else (low, middle)
        client.ctx.cache[CACHE_KEY] = low
    return client.ctx.cache[CACHE_KEY]


@contextlib.contextmanager
def held_queue(
    client: TrainingClient, train: str
) -> Iterator[training_job_pb2.ResourceRequirements]:
    """While the block runs, a blocker job holds all the CPU the target gives one worker;
    yields the resources a job must request to stay QUEUED behind it. The blocker is
    cancelled at the end."""
    cpu = largest_cpu(client, train)
    if cpu is None or cpu <= 0:
        raise Skipped(
            "the target accepted every CPU request, so no job could be kept QUEUED",
            needs="a target whose training capacity rejects an unsatisfiable CPU request "
            "(RESOURCES_UNSATISFIABLE)",
        )
    resources = training_job_pb2.ResourceRequirements(cpu=cpu)
    # Half a minute of steps: long enough for any case, and bounded on a server that ignores the
    # cancel at the end.
    blocker = client.create(conformance_job(train, steps=600, fields={"resources": resources}))
    try:
        client.wait(blocker.name, lambda job: job.status.state == RUNNING, "RUNNING")
        yield resources
    finally:
        with contextlib.suppress(grpc.RpcError):
            client.call("CancelTrainingJob", pb.CancelTrainingJobRequest(name=blocker.name))


def held_job(
    client: TrainingClient, train: str, resources: training_job_pb2.ResourceRequirements
) -> Any:
    """A job of `resources` created behind the blocker, still QUEUED; Skipped when the
    target started it anyway (its capacity is more than one worker's)."""
    held = client.create(conformance_job(train, fields={"resources": resources}))
    if client.get(held.name).status.state != QUEUED:
        raise Skipped(
            "the job meant to wait behind the blocker started",
            needs="a job still QUEUED when the case acted on it",
        )
    return held

"""training-core cases of creating, reading and listing jobs: the created job and its echo
(TRN-010), IDs, request IDs and validate_only (TRN-011 to TRN-013), inputs resolved once at
creation (TRN-017, TRN-056, TRN-057), and ListTrainingJobs filters, orders and pages
(TRN-018 to TRN-020)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import grpc

from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import dataset_reference_pb2
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.discovery import check_hyperparameter_value
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.training_checks import TABLES
from lepton_conformance.suites.training.training_client import (
    CANCELLED,
    TRANSITIONS,
    TrainingClient,
    conformance_job,
    hyperparameter,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()
JOB_NAME = re.compile(r"^trainingJobs/[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def job_id() -> str:
    return f"conf-{secrets.token_hex(4)}"


@CASES.case(CORE, "create.returns-a-queued-job-and-get-echoes-it", "TRN-010")
def create_echo(ctx: CaseContext) -> None:
    """CreateTrainingJob returns trainingJobs/{id} in QUEUED with create_time and a history
    starting QUEUED; GetTrainingJob returns the same display_name, labels and spec; an empty
    ID gets a generated one of the AIP-122 syntax."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = conformance_job(data.version, steps=1)
        job.display_name = "conformance echo"
        job.labels["suite"] = "training"
        chosen = job_id()
        created = client.create(job, chosen)
        expect.equal(created.name, f"trainingJobs/{chosen}", "the created job's name")
        # QUEUED, or a later state already reached: the history tells (TRN-010, TRN-021).
        job_lifecycle.check_status(created, created.name, TRANSITIONS)
        expect.holds(created.status.HasField("create_time"), "status.create_time", "unset")
        got = client.get(created.name)
        expect.equal(
            (got.display_name, dict(got.labels), got.spec),
            (job.display_name, dict(job.labels), job.spec),
            "(display_name, labels, spec) of GetTrainingJob",
        )
        generated = client.create(conformance_job(data.version, steps=1))
        expect.holds(
            JOB_NAME.match(generated.name) is not None,
            "a generated name trainingJobs/<AIP-122 ID>",
            generated.name,
        )


@CASES.case(CORE, "create.an-id-in-use-already-exists", "TRN-011")
def id_in_use(ctx: CaseContext) -> None:
    """A second job with the ID of an existing one is ALREADY_EXISTS [RESOURCE_ALREADY_EXISTS]
    and leaves the first as it was."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        chosen = job_id()
        first = client.create(conformance_job(data.version, steps=1), chosen)
        again = conformance_job(data.version, steps=2)
        request = pb.CreateTrainingJobRequest(training_job=again, training_job_id=chosen)
        expect.fails_with(
            lambda: client.try_create(request),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        expect.equal(client.get(first.name).spec, first.spec, "the first job's spec")


@CASES.case(CORE, "create.a-request-id-makes-a-retry-safe", "TRN-012")
def request_id(ctx: CaseContext) -> None:
    """Two identical creates with one request_id create one job and return it twice; the
    request_id with another request is ALREADY_EXISTS [REQUEST_ID_CONFLICT]."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        run = secrets.token_hex(4)
        job = conformance_job(data.version, steps=1)
        job.labels["conf_run"] = run
        rid = str(uuid.uuid4())
        first = client.create(job, request_id=rid)
        second = client.create(job, request_id=rid)
        expect.equal(second.name, first.name, "the job a retried request_id returns")
        listed = [j.name for j in client.jobs(filter=f'labels.conf_run = "{run}"')]
        expect.equal(listed, [first.name], "the jobs the two calls created")
        other = conformance_job(data.version, steps=2)
        other.labels["conf_run"] = run
        request = pb.CreateTrainingJobRequest(training_job=other, request_id=rid)
        expect.fails_with(
            lambda: client.try_create(request),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )


@CASES.case(CORE, "create.validate-only-creates-nothing", "TRN-013")
def validate_only(ctx: CaseContext) -> None:
    """validate_only returns a job with an empty name and creates none (not listed, and a
    real create with the same ID succeeds); an invalid request fails as a real one would."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        run, chosen = secrets.token_hex(4), job_id()
        job = conformance_job(data.version, steps=1)
        job.labels["conf_run"] = run
        answer = client.create(job, chosen, validate_only=True)
        expect.equal(answer.name, "", "the name of a validate_only job")
        listed = client.jobs(filter=f'labels.conf_run = "{run}"')
        expect.equal([j.name for j in listed], [], "jobs after validate_only")
        expect.fails_with(
            lambda: client.call(
                "GetTrainingJob", pb.GetTrainingJobRequest(name=f"trainingJobs/{chosen}")
            ),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        expect.equal(client.create(job, chosen).name, f"trainingJobs/{chosen}", "a real create")
        bad = conformance_job(data.version, steps=1)
        bad.spec.trainer.builtin.id = "lepton.no-such-trainer"
        request = pb.CreateTrainingJobRequest(training_job=bad, validate_only=True)
        expect.fails_with(
            lambda: client.try_create(request),
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNKNOWN_TRAINER",
        )


@CASES.case(
    CORE, "create.inputs-are-resolved-once-at-creation", "TRN-017", "TRN-056", "TRN-057", "TRN-007"
)
def resolved_inputs(ctx: CaseContext) -> None:
    """A job naming a dataset tag records the version it pointed to with its content_digest,
    every hyperparameter (declared defaults included; an int64 accepted for a DOUBLE) and
    resources with no field at 0; none of it changes when the tag moves or the job ends."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = conformance_job(data.tag, steps=1)
        job.spec.hyperparameters["step_seconds"].CopyFrom(hyperparameter(0))
        created = client.create(job)
        inputs = created.resolved_inputs
        wanted = dataset_reference_pb2.DatasetReference(
            dataset_version=data.version,
            role=dataset_reference_pb2.DATASET_ROLE_TRAIN,
            content_digest=data.first.content_digest,
        )
        expect.equal(list(inputs.datasets), [wanted], "resolved_inputs.datasets")
        declared = TABLES["conformance_trainer"]["hyperparameters"]
        expect.equal(
            sorted(inputs.hyperparameters), sorted(declared), "resolved hyperparameter names"
        )
        chosen = {"steps": 1, "step_seconds": 0}
        for name, row in declared.items():
            check_hyperparameter_value(
                inputs.hyperparameters[name], row["type"], chosen.get(name, row["default"]), name
            )
        resources = inputs.resources
        expect.holds(
            resources.cpu > 0 and resources.memory_bytes > 0 and resources.worker_count > 0,
            "resolved_inputs.resources with cpu, memory_bytes and worker_count set",
            str(resources).replace("\n", " "),
        )
        data.move_tag()
        expect.equal(
            client.get(created.name).resolved_inputs, inputs, "resolved_inputs after the tag moved"
        )
        ended = client.finish(created.name)
        expect.equal(ended.resolved_inputs, inputs, "resolved_inputs after the job ended")
        expect.equal(ended.spec, job.spec, "the spec after the job ended")


def _cancelled_jobs(client: TrainingClient, train: str, run: str) -> list[Any]:
    """Four jobs labelled with `run`, display names a, a, b, c and kinds x, y, x, y, each
    cancelled at once and watched to its end; their last observations."""
    names = []
    for display, kind in (("a", "x"), ("a", "y"), ("b", "x"), ("c", "y")):
        job = conformance_job(train, steps=100)
        job.display_name = display
        job.labels.update({"conf_run": run, "kind": kind})
        names.append(client.create(job).name)
        client.cancel(names[-1])
    return [client.finish(name) for name in names]


def _stamp(job: Any, field: str) -> int:
    stamp = job.status.create_time if field == "status.create_time" else job.update_time
    return stamp.seconds * 1_000_000_000 + stamp.nanos


@CASES.case(CORE, "list.filters-select-exactly-the-matching-jobs", "TRN-019")
def filters(ctx: CaseContext) -> None:
    """ListTrainingJobs with filters on labels, display_name, spec.trainer.builtin.id,
    status.state and status.create_time returns exactly the jobs that match."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        run = secrets.token_hex(4)
        jobs = _cancelled_jobs(client, data.version, run)
        pivot = jobs[2].status.create_time.ToJsonString()
        scope = f'labels.conf_run = "{run}"'
        cases: list[tuple[str, Callable[[Any], bool]]] = [
            ("", lambda j: True),
            ('labels.kind = "x"', lambda j: j.labels["kind"] == "x"),
            ('labels.kind != "x"', lambda j: j.labels["kind"] != "x"),
            ('display_name = "a"', lambda j: j.display_name == "a"),
            ('display_name != "a"', lambda j: j.display_name != "a"),
            ('spec.trainer.builtin.id = "lepton.conformance"', lambda j: True),
            ('spec.trainer.builtin.id != "lepton.conformance"', lambda j: False),
            ("status.state = CANCELLED", lambda j: j.status.state == CANCELLED),
            ("status.state != CANCELLED", lambda j: j.status.state != CANCELLED),
            (
                f'status.create_time >= "{pivot}"',
                lambda j: _stamp(j, "status.create_time") >= _stamp(jobs[2], "status.create_time"),
            ),
            (
                f'status.create_time < "{pivot}"',
                lambda j: _stamp(j, "status.create_time") < _stamp(jobs[2], "status.create_time"),
            ),
        ]
        for clause, matches in cases:
            expression = f"{scope} AND {clause}" if clause else scope
            got = sorted(j.name for j in client.jobs(filter=expression))
            expect.equal(got, sorted(j.name for j in jobs if matches(j)), f"jobs of {expression!r}")


@CASES.case(CORE, "list.order-by-sorts-with-ties-by-name", "TRN-020")
def order(ctx: CaseContext) -> None:
    """Without order_by jobs come newest first; with status.create_time, update_time or
    display_name (optionally desc) in that order, jobs that compare equal by name."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        run = secrets.token_hex(4)
        jobs = _cancelled_jobs(client, data.version, run)
        scope = f'labels.conf_run = "{run}"'
        orders: list[tuple[str, Callable[[Any], Any], bool]] = [
            ("", lambda j: _stamp(j, "status.create_time"), True),
            ("status.create_time", lambda j: _stamp(j, "status.create_time"), False),
            ("status.create_time desc", lambda j: _stamp(j, "status.create_time"), True),
            ("update_time", lambda j: _stamp(j, "update_time"), False),
            ("display_name", lambda j: j.display_name, False),
        ]
        for order_by, key, descending in orders:
            wanted = sorted(jobs, key=lambda j: j.name)
            wanted = [j.name for j in sorted(wanted, key=key, reverse=descending)]
            got = [j.name for j in client.jobs(filter=scope, order_by=order_by)]
            expect.equal(got, wanted, f"the order of order_by {order_by!r}")


@CASES.case(CORE, "list.pages-visit-every-job-once", "TRN-018")
def pages(ctx: CaseContext) -> None:
    """Pages of one job visit every matching job exactly once; a page token used with
    another filter is INVALID_ARGUMENT [INVALID_PAGE_TOKEN]."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        run = secrets.token_hex(4)
        jobs = _cancelled_jobs(client, data.version, run)
        scope = f'labels.conf_run = "{run}"'
        paged = [j.name for j in client.jobs(filter=scope, page_size=1)]
        expect.equal(sorted(paged), sorted(j.name for j in jobs), "the jobs of pages of one")
        first = expect.succeeds(
            lambda: client.call(
                "ListTrainingJobs", pb.ListTrainingJobsRequest(filter=scope, page_size=1)
            )
        )
        expect.holds(bool(first.next_page_token), "a next_page_token after 1 of 4", "none")
        request = pb.ListTrainingJobsRequest(
            filter=f'{scope} AND labels.kind = "x"', page_size=1, page_token=first.next_page_token
        )
        expect.fails_with(
            lambda: client.call("ListTrainingJobs", request),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_PAGE_TOKEN",
        )


@CASES.case(CORE, "create.creator-is-the-callers-principal", "TRN-061")
def creator(ctx: CaseContext) -> None:
    """A job's creator is empty when the run calls without a credential and, with one, the
    filter `creator = "<creator>"` selects the job."""
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        run = secrets.token_hex(4)
        job = conformance_job(data.version, steps=1)
        job.labels["conf_run"] = run
        created = client.create(job)
        if ctx.options.token is None:
            expect.equal(created.creator, "", "creator of a job created without a credential")
        scope = f'labels.conf_run = "{run}"'
        for clause, wanted in (
            (f'creator = "{created.creator}"', [created.name]),
            (f'creator != "{created.creator}"', []),
        ):
            got = [j.name for j in client.jobs(filter=f"{scope} AND {clause}")]
            expect.equal(got, wanted, f"jobs of the filter {clause!r}")

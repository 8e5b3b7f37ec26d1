"""data-core cases of the job lifecycle (spec/data.md §3.4, §8.9, spec/general.md §7): Watch,
unknown jobs, Cancel, deletion with the dataset, request ids and listing."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import NamedTuple

import grpc
from google.protobuf.message import Message

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import nanos_of, rfc3339
from lepton_conformance.suites.data.dataset_client import DatasetClient, unique_id
from lepton_conformance.suites.data.dataset_jobs import (
    CSV,
    EXPORT,
    JobClient,
    export_job,
    file_root,
)
from lepton_conformance.suites.data.job_checks import (
    FAILED_PRECONDITION,
    INVALID,
    LONG_EXPORT_ROWS,
    NOT_FOUND,
    fails_in_status,
)
from lepton_conformance.suites.data.job_errors import job_kinds
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- the job lifecycle --------------------------------------------------------------------


# Sizes, in one-row part files, of the exports a case tries in turn until one is still running
# when the case acts on it: a server that finished the first before the case could act gets a
# longer one (job_lifecycle.while_live).
WATCHED_EXPORTS = (40, LONG_EXPORT_ROWS)
LONG_EXPORTS = (LONG_EXPORT_ROWS, 4 * LONG_EXPORT_ROWS, 16 * LONG_EXPORT_ROWS)


@CASES.case(
    CORE,
    "jobs.watch-follows-to-the-terminal-state",
    "DAT-088",
    "DAT-083",
    "DAT-085",
    "GEN-060",
    "GEN-061",
    "GEN-064",
)
def watch_follows(ctx: CaseContext) -> None:
    """Watch of a new job sends it at once, again after every state change along §3.4 with
    the history growing, and ends with OK right after the terminal state, which Get then
    reports too; Watch of a finished job sends exactly one message equal to Get."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)

    def attempt(files: int) -> bool:
        with client.scratch() as name:
            version = client.write(name, rows(files))
            created = exports.create(
                name, export_job(version.name, f"{root}w{files}/", CSV, max_rows_per_file=1)
            )
            messages = exports.watch(created.name)
            final = exports.get(created.name)
            expect.equal(messages[-1], final, "the last Watch message = Get afterwards")
            expect.equal(
                job_lifecycle.name_of(final.status.state), "JOB_STATE_SUCCEEDED", "final state"
            )
            again = exports.watch(created.name)
            expect.equal(again, [final], "Watch of the finished job")
            # A Watch that opened on the finished job followed no state change.
            return messages[0].status.state not in job_lifecycle.TERMINAL

    job_lifecycle.while_live(WATCHED_EXPORTS, attempt, "its Watch opened")


@CASES.case(CORE, "jobs.unknown-job-not-found", "DAT-088", "DAT-091", "DAT-003")
def unknown_job(ctx: CaseContext) -> None:
    """Get, Cancel and Watch of a job that does not exist are NOT_FOUND [RESOURCE_NOT_FOUND]
    with resource_name; a name of another collection is INVALID_NAME."""
    client = DatasetClient(ctx)
    kinds = job_kinds(ctx)
    with client.scratch() as name:
        for kind in kinds:
            missing = f"{name}/{kind.collection}/no-such-job"
            for verb in ("Get", "Cancel", "Watch"):
                expect.rejects(
                    lambda kind=kind, verb=verb, missing=missing: client.call(
                        kind.rpc(verb), kind.request(verb, name=missing)
                    ),
                    NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                    metadata={"resource_name": missing},
                )
                expect.rejects(
                    lambda kind=kind, verb=verb: client.call(
                        kind.rpc(verb), kind.request(verb, name=f"{name}/jobs/x")
                    ),
                    INVALID,
                    "INVALID_NAME",
                    field="name",
                )


@CASES.case(CORE, "jobs.cancel-of-a-finished-job-fails", "DAT-086", "GEN-062", "DAT-002")
def cancel_finished(ctx: CaseContext) -> None:
    """Cancel of a SUCCEEDED or FAILED job is FAILED_PRECONDITION [JOB_ALREADY_FINISHED] and
    leaves it as it was."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        succeeded = exports.succeeded(name, export_job(version.name, f"{root}a.csv", CSV))
        failed = exports.run(name, export_job(version.name, f"{root}a.csv", CSV))
        fails_in_status(failed, "ALREADY_EXISTS", "DESTINATION_EXISTS")
        for job in (succeeded, failed):
            expect.rejects(
                lambda job=job: exports.cancel(job.name),
                FAILED_PRECONDITION,
                "JOB_ALREADY_FINISHED",
            )
            expect.equal(exports.get(job.name), job, f"{job.name} after the refused cancel")


class LongExport(NamedTuple):
    """A scratch dataset, its version and a just-created export of it into `files` one-row
    part files under `destination`."""

    dataset: str
    version: resources.DatasetVersion
    job: Message
    destination: str


@contextlib.contextmanager
def _long_export(client: DatasetClient, root: str, files: int) -> Iterator[LongExport]:
    exports = JobClient(client, EXPORT)
    destination = f"{root}long{files}/"
    with client.scratch() as name:
        version = client.write(name, rows(files))
        created = exports.create(
            name, export_job(version.name, destination, CSV, max_rows_per_file=1)
        )
        try:
            yield LongExport(name, version, created, destination)
        finally:  # end the job, so that the scratch dataset can go
            with contextlib.suppress(grpc.RpcError, Failed):
                exports.cancel(created.name)
                exports.wait(created.name)


@CASES.case(CORE, "jobs.cancel-of-a-running-job", "DAT-086", "DAT-087", "GEN-062", "DAT-083")
def cancel_running(ctx: CaseContext) -> None:
    """Cancel of a QUEUED or RUNNING job returns it CANCELLING or CANCELLED; it then ends
    CANCELLED (or SUCCEEDED had it finished) without outputs; a second cancel of the
    CANCELLED job succeeds and changes nothing."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)

    def attempt(files: int) -> bool:
        with _long_export(client, root, files) as long:
            try:
                cancelling = exports.cancel(long.job.name)
            except grpc.RpcError as error:
                # Only a job that finished first may refuse the cancel.
                finished = exports.get(long.job.name)
                expect.holds(
                    finished.status.state in (job_lifecycle.SUCCEEDED, job_lifecycle.FAILED),
                    "Cancel of a job that has not finished to succeed",
                    f"{expect.describe(error)} in {job_lifecycle.name_of(finished.status.state)}",
                )
                expect.check_error_info(error, "JOB_ALREADY_FINISHED")
                return False
            expect.holds(
                cancelling.status.state in (job_lifecycle.CANCELLING, job_lifecycle.CANCELLED),
                "the cancelled job in CANCELLING or CANCELLED",
                job_lifecycle.name_of(cancelling.status.state),
            )
            final = exports.wait(long.job.name)
            expect.holds(
                final.status.state in (job_lifecycle.CANCELLED, job_lifecycle.SUCCEEDED),
                "the cancelled job to end CANCELLED",
                job_lifecycle.name_of(final.status.state),
            )
            if final.status.state != job_lifecycle.CANCELLED:
                return False  # it had committed its output when the cancel came (DAT-086)
            expect.equal(list(final.output_uris), [], "output_uris of the cancelled job")
            again = expect.succeeds(
                lambda: exports.cancel(long.job.name), "Cancel of the CANCELLED job"
            )
            expect.equal(again, final, "the CANCELLED job after a second cancel")
            return True

    job_lifecycle.while_live(LONG_EXPORTS, attempt, "the cancel reached it")


@CASES.case(CORE, "jobs.cancelled-export-removes-its-files", "DAT-082")
def cancelled_export_files(ctx: CaseContext) -> None:
    """An export cancelled while it writes part files leaves none behind: the same
    directory then takes an export with overwrite false."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)

    def attempt(files: int) -> bool:
        with _long_export(client, root, files) as long:
            with contextlib.suppress(grpc.RpcError):
                exports.cancel(long.job.name)
            final = exports.wait(long.job.name)
            if final.status.state != job_lifecycle.CANCELLED:
                return False  # it finished before the cancel arrived: nothing to remove
            exports.succeeded(long.dataset, export_job(long.version.name, long.destination, CSV))
            return True

    job_lifecycle.while_live(LONG_EXPORTS, attempt, "the cancel reached it")


@CASES.case(CORE, "jobs.delete-dataset-while-a-job-runs", "DAT-019", "DAT-002")
def delete_in_use(ctx: CaseContext) -> None:
    """DeleteDataset (even with force) while an export of the dataset runs is
    FAILED_PRECONDITION [DATASET_IN_USE] and deletes nothing; once the job has ended the
    delete succeeds."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)

    def attempt(files: int) -> bool:
        with _long_export(client, root, files) as long:
            name = long.dataset
            before = client.dataset(name)
            running = exports.get(long.job.name)
            if running.status.state in job_lifecycle.TERMINAL:
                return False  # it finished before the delete could be sent: nothing is in use
            expect.rejects(
                lambda: client.call(
                    "DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True)
                ),
                FAILED_PRECONDITION,
                "DATASET_IN_USE",
            )
            expect.equal(client.dataset(name), before, "the dataset after the refused delete")
            expect.equal(client.version(long.version.name), long.version, "its version")
            with contextlib.suppress(grpc.RpcError):
                exports.cancel(long.job.name)
            exports.wait(long.job.name)
            expect.succeeds(
                lambda: client.call(
                    "DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True)
                ),
                "DeleteDataset once the job ended",
            )
            return True

    job_lifecycle.while_live(LONG_EXPORTS, attempt, "the delete was sent")


@CASES.case(CORE, "jobs.deleted-with-their-dataset", "DAT-091", "DAT-020")
def deleted_with_dataset(ctx: CaseContext) -> None:
    """Get returns a job with its current status; after its dataset is deleted the job is
    NOT_FOUND [RESOURCE_NOT_FOUND] and no longer listed under datasets/-."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    run = unique_id("run")
    with client.scratch() as name:
        version = client.write(name, rows(2))
        job = exports.succeeded(
            name, export_job(version.name, f"{root}x.csv", CSV, labels={"run": run})
        )
        expect.equal(exports.get(job.name), job, "Get of the finished job")
        client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True))
        expect.rejects(
            lambda: client.call("GetExportJob", pb.GetExportJobRequest(name=job.name)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        listed = exports.first_page("datasets/-", filter=f'labels.run = "{run}"')
        expect.equal([j.name for j in listed], [], "jobs of the deleted dataset under datasets/-")


@CASES.case(CORE, "jobs.create-request-id-and-existing-id", "DAT-008", "DAT-009", "DAT-002")
def job_request_id(ctx: CaseContext) -> None:
    """A repeated CreateExportJob with the same request_id returns the same job; the same
    request_id with another request is ALREADY_EXISTS [REQUEST_ID_CONFLICT]; a job id in use
    is ALREADY_EXISTS [RESOURCE_ALREADY_EXISTS]."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        request_id = str(uuid.uuid4())
        job = export_job(version.name, f"{root}r.csv", CSV)
        first = exports.create(name, job, request_id=request_id)
        again = expect.succeeds(
            lambda: exports.send(exports.create_request(name, job, request_id=request_id)),
            "the replayed CreateExportJob",
        )
        expect.equal(again.name, first.name, "the job the replay returns")
        other = export_job(version.name, f"{root}other.csv", CSV)
        expect.rejects(
            lambda: exports.send(exports.create_request(name, other, request_id=request_id)),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )
        exports.wait(first.name)
        job_id = first.name.rsplit("/", 1)[1]
        expect.rejects(
            lambda: exports.send(exports.create_request(name, other, job_id=job_id)),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        expect.equal(
            [j.name for j in exports.first_page(name)], [first.name], "jobs of the dataset"
        )


@CASES.case(CORE, "jobs.list-order-pages-and-filters", "DAT-090", "DAT-005", "DAT-006", "DAT-007")
def list_jobs(ctx: CaseContext) -> None:
    """ListExportJobs returns jobs newest first by default, in the order order_by asks for
    (ties by name), the same page by page, across datasets under datasets/-, and filters on
    status.state, status.create_time and labels."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    run = unique_id("run")
    with client.scratches(2) as (name, other):
        version = client.write(name, rows(2))
        elsewhere = client.write(other, rows(1))
        jobs = []
        for i, (parent, source, destination) in enumerate(
            (
                (name, version, "a.csv"),
                (name, version, "a.csv"),
                (other, elsewhere, "b.csv"),
                (name, version, "c.csv"),
            )
        ):
            labels = {"run": run, **({"team": "x"} if i % 2 else {})}
            job = export_job(source.name, f"{root}{destination}", CSV, labels=labels)
            jobs.append(exports.run(parent, job))
        states = [job_lifecycle.name_of(j.status.state) for j in jobs]
        expect.equal(
            states,
            [
                "JOB_STATE_SUCCEEDED",
                "JOB_STATE_FAILED",
                "JOB_STATE_SUCCEEDED",
                "JOB_STATE_SUCCEEDED",
            ],
            "states of the four exports",
        )
        mine = [j for j in jobs if j.name.startswith(f"{name}/")]
        newest_first = sorted(mine, key=lambda j: (-nanos_of(j.status.create_time), j.name))
        for size in (0, 1, 2):
            walked = exports.list(name, page_size=size)
            expect.equal(
                [j.name for j in walked],
                [j.name for j in newest_first],
                f"default order, page_size {size}",
            )
        expect.equal(exports.list(name), [exports.get(j.name) for j in newest_first], "= Get")
        for order_by, key in (
            ("name", lambda j: j.name),
            ("name desc", None),
            ("status.create_time", lambda j: (nanos_of(j.status.create_time), j.name)),
        ):
            wanted = (
                sorted(mine, key=key)
                if key is not None
                else sorted(mine, key=lambda j: j.name, reverse=True)
            )
            walked = exports.list(name, order_by=order_by, page_size=2)
            expect.equal([j.name for j in walked], [j.name for j in wanted], f"order {order_by!r}")
        selection = f'labels.run = "{run}"'
        pivot = nanos_of(jobs[2].status.create_time)
        for term, matches in (
            ("", lambda j: True),
            ("status.state = FAILED", lambda j: j.status.state == job_lifecycle.FAILED),
            ("status.state != JOB_STATE_FAILED", lambda j: j.status.state != job_lifecycle.FAILED),
            ('labels.team = "x"', lambda j: j.labels.get("team") == "x"),
            ('labels.team != "x"', lambda j: j.labels.get("team") != "x"),
            (
                f'status.create_time >= "{rfc3339(pivot)}"',
                lambda j: nanos_of(j.status.create_time) >= pivot,
            ),
            (
                f'status.create_time < "{rfc3339(pivot)}"',
                lambda j: nanos_of(j.status.create_time) < pivot,
            ),
        ):
            request = selection + (f" AND {term}" if term else "")
            walked = exports.list("datasets/-", filter=request, page_size=1)
            wanted = sorted(
                (j for j in jobs if matches(j)),
                key=lambda j: (-nanos_of(j.status.create_time), j.name),
            )
            expect.equal(
                [j.name for j in walked], [j.name for j in wanted], f"datasets/- filtered {term!r}"
            )

"""Checks, fixtures and constants the import and export job cases of `data-core` share
(spec/data.md §3.4, §5, §8.7-§8.9).

The cases skip unless the target lists `data.import` / `data.export` and
`data.storage.file` on DatasetService. The suite cannot create files on a remote target, so a
case that imports first exports a version to a `file://` URI below the directory the runner
names with --file-root, then imports that; without --file-root those cases skip. Error tables
live in vectors/data_jobs.yaml."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf.message import Message

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import file_format_pb2 as ff
from lepton_conformance.harness import expect, job_lifecycle, vectors
from lepton_conformance.harness.case import NotApplicable
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.data.dataset_client import SERVICE, DatasetClient
from lepton_conformance.suites.data.dataset_jobs import (
    EXPORT,
    IMPORT,
    PARQUET,
    JobClient,
    JobKind,
    export_job,
    file_root,
)

TABLES = vectors.load("lepton_conformance.suites.data", "data_jobs.yaml")
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
# google.rpc.Code numbers, as ErrorStatus.code carries them.
CODE = {code.name: code.value[0] for code in grpc.StatusCode}
# Enough one-row part files that an export runs for a while on any server, so that the
# cases that need a running job see one; a cancel stops it early.
LONG_EXPORT_ROWS = 2000


def version_rows(client: DatasetClient, version: str) -> list[dict[str, Any]]:
    return client.read_table(version).to_pylist()


def content_hex(version: resources.DatasetVersion) -> str:
    return version.content_digest.hex


def field_types(version: resources.DatasetVersion) -> list[tuple[str, str]]:
    return [(f.name, f.type) for f in version.schema.fields]


def fails_in_status(job: Message, code: str, reason: str, metadata: dict[str, str] | None = None):
    """The job ended FAILED with `status.error` code and reason (DAT-069, DAT-084)."""
    error = job.status.error
    expect.equal(
        (job_lifecycle.name_of(job.status.state), error.code, error.reason),
        ("JOB_STATE_FAILED", CODE[code], reason),
        f"(state, status.error.code, status.error.reason) of {job.name}",
    )
    for key, value in (metadata or {}).items():
        expect.equal(error.metadata.get(key), value, f"status.error.metadata[{key!r}]")


def no_version_committed(
    client: DatasetClient, dataset: str, before: resources.Dataset, what: str
) -> None:
    """DAT-069, DAT-087: head, version count and tags as before."""
    after = client.dataset(dataset)
    expect.equal(
        (after.head_version, after.version_count),
        (before.head_version, before.version_count),
        f"(head_version, version_count) after {what}",
    )


def plain_value(value: Any) -> Any:
    """A protobuf field value as a plain Python value, comparable across messages."""
    if isinstance(value, (str, bytes, int, float, Message)):
        return value
    return dict(value) if hasattr(value, "items") else list(value)


def tag_pairs(client: DatasetClient, dataset: str) -> list[tuple[str, str]]:
    listed = client.call("ListTags", pb.ListTagsRequest(parent=dataset)).tags
    return [(t.name, t.version) for t in listed]


@contextlib.contextmanager
def exported_file(
    client: DatasetClient, table: pa.Table, spec: ff.FormatSpec = PARQUET, **fields: Any
) -> Iterator[tuple[str, resources.DatasetVersion, Message]]:
    """A scratch dataset holding `table`, exported to a fresh file in the file root: the
    dataset, its version and the succeeded export job."""
    root = file_root(client.ctx)
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, table)
        extension = {ff.FILE_FORMAT_CSV: "csv", ff.FILE_FORMAT_JSON_LINES: "jsonl"}
        destination = f"{root}table.{extension.get(spec.format, 'parquet')}"
        job = exports.succeeded(name, export_job(version.name, destination, spec, **fields))
        yield name, version, job


def job_kinds(ctx: CaseContext) -> list[JobKind]:
    """The job kinds the target serves; Skipped when it lists neither."""
    kinds = [k for k in (IMPORT, EXPORT) if ctx.info.has_feature(SERVICE, k.feature)]
    if not kinds:
        raise NotApplicable(
            "the target lists neither data.import nor data.export", "data.import or data.export"
        )
    return kinds

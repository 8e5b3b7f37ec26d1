"""The `data-core` profile (spec/data.md §3, §4, §7, §8.1-8.5): datasets, immutable versions,
tags, WriteVersion and ReadVersion of lepton.data.v1.DatasetService.

Every case works in scratch datasets of its own (ids `conf-<random>`), deleted with force at
the end, so runs repeat against the same server. Error tables live in vectors/data.yaml; the
Arrow data the cases write in arrow_samples.py; content digests are recomputed by the
independent encoder of table_digest.py. The import and export jobs of this profile are in
data_jobs.py; Arrow Flight is left to the profile of its feature."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from datetime import datetime, timedelta, timezone
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.case import Failed, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import arrow_samples, table_digest
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import (
    APPEND,
    OVERWRITE,
    SERVICE,
    DatasetClient,
    batches_of,
    data,
    header,
    ipc_stream,
    schema_of,
    split,
    table_of,
    unique_id,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


TABLES = vectors.load("lepton_conformance.suites.data", "data.yaml")
# §10: the optional features of DatasetService.
DATASET_FEATURES = {
    "data.import",
    "data.export",
    "data.flight",
    *(f"data.storage.{s}" for s in ("file", "s3", "gs", "abfs", "hdfs")),
}
ID = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
SHA256 = digest_pb2.DIGEST_ALGORITHM_SHA256

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
ABORTED = grpc.StatusCode.ABORTED
OUT_OF_RANGE = grpc.StatusCode.OUT_OF_RANGE


# --- checks -----------------------------------------------------------------------------------


# `call` fails with the code and reason (DAT-002), a violation on the field (or on a field
# inside it) and the ErrorInfo metadata entries given.
_fails = expect.rejects


def _unchanged(client: DatasetClient, name: str, before: resources.Dataset, what: str) -> None:
    """The dataset's head and version count are what they were before `what` (DAT-026)."""
    after = client.dataset(name)
    expect.equal(
        (after.head_version, after.version_count),
        (before.head_version, before.version_count),
        f"(head_version, version_count) after {what}",
    )
    listed = [v.name for v in client.versions(name)]
    expect.equal(len(listed), before.version_count, f"versions listed after {what}")


def _digest(version: resources.DatasetVersion) -> str:
    expect.equal(
        digest_pb2.DigestAlgorithm.Name(version.content_digest.algorithm),
        "DIGEST_ALGORITHM_SHA256",
        f"content_digest.algorithm of {version.name}",
    )
    return version.content_digest.hex


def _ns(stamp: Timestamp) -> int:
    return stamp.seconds * 1_000_000_000 + stamp.nanos


def _rfc3339(nanos: int, offset_minutes: int = 0) -> str:
    """An RFC 3339 time with all nine fractional digits, in UTC (`Z`) or at a positive
    offset from it (the same instant, GEN-046)."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    zone = timezone(timedelta(minutes=offset_minutes))
    moment = datetime.fromtimestamp(seconds, tz=zone)
    suffix = f"+{offset_minutes // 60:02d}:{offset_minutes % 60:02d}" if offset_minutes else "Z"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}{suffix}"


def _quoted(text: str) -> str:
    """`text` as a filter string literal: a backslash before each backslash and double quote,
    the only escapes GEN-046 defines."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(item: Message, path: str) -> Any:
    value = getattr(item, path)
    return _ns(value) if isinstance(value, Timestamp) else value


def _expected_order(items: list[Message], order_by: str, tie_breaker: str) -> list[str]:
    """Names of `items` in the order `order_by` (GEN-057) and the tie-breaker give, computed
    from the values the server reported."""
    keys = [item.strip().split(" ") for item in order_by.split(",")]
    ordered = list(items)
    for path, descending in [(tie_breaker, False), *[(k[0], k[-1] == "desc") for k in keys][::-1]]:
        ordered.sort(key=lambda item, path=path: _value(item, path), reverse=descending)
    return [item.name for item in ordered]


def _rows_of(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


@contextlib.contextmanager
def _fixture(client: DatasetClient) -> Iterator[dict[str, str]]:
    """A scratch dataset with one version of rows(10); the placeholders of vectors/data.yaml."""
    with client.scratch() as name:
        version = client.write(name, rows(10))
        yield {
            "{d}": name.removeprefix("datasets/"),
            "{v}": version.name,
            "{missing}": unique_id("conf-missing"),
            "name": name,
        }


def _request(rpc: str, fields: dict[str, Any], names: dict[str, str]) -> Message:
    message = pb.WriteVersionHeader() if rpc == "WriteVersion" else getattr(pb, f"{rpc}Request")()
    return json_format.ParseDict(vectors.filled(fields, names), message)


def _send(client: DatasetClient, rpc: str, request: Message) -> Any:
    if rpc == "WriteVersion":
        return client.stream([pb.WriteVersionRequest(header=request), *data([ipc_stream(rows(1))])])
    return client.call(rpc, request)


def _title(row_id: str) -> str:
    return row_id.replace("-", " ")


# --- error tables (vectors/data.yaml) ----------------------------------------------------------


def _register_names() -> None:
    for row in TABLES["names"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with _fixture(client) as names:
                request = _request(row["rpc"], row["request"], names)
                _fails(
                    lambda: _send(client, row["rpc"], request),
                    INVALID,
                    "INVALID_NAME",
                    field=row["field"],
                )

        body.__doc__ = f"{row['rpc']}, {_title(row['id'])}: INVALID_ARGUMENT [INVALID_NAME]"
        requirements = row.get("requirements", ["DAT-003"])
        CASES.case(CORE, f"names.{row['id']}", *requirements, "DAT-002", "GEN-050")(body)


def _register_not_found() -> None:
    for row in TABLES["not_found"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with _fixture(client) as names:
                request = _request(row["rpc"], row["request"], names)
                wanted = vectors.filled(row.get("resource_name"), names)
                error = _fails(
                    lambda: _send(client, row["rpc"], request),
                    NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                    metadata={"resource_name": wanted} if wanted else None,
                )
                info = expect.error_info(error)
                expect.holds(
                    bool(info.metadata.get("resource_name")),
                    "ErrorInfo metadata resource_name",
                    f"metadata {dict(info.metadata)}",
                )

        body.__doc__ = f"{row['rpc']}, {_title(row['id'])}: NOT_FOUND with resource_name"
        requirements = ["DAT-003", *row.get("requirements", [])]
        CASES.case(CORE, f"not-found.{row['id']}", *requirements, "DAT-002", "GEN-051")(body)


def _list_request(rpc: str, parent: str, **fields: Any) -> Message:
    if rpc == "ListVersions":
        return pb.ListVersionsRequest(parent=parent, **fields)
    return pb.ListDatasetsRequest(**fields)


def _register_filters_and_orders() -> None:
    for table, field, reason, general in (
        ("filters", "filter", "INVALID_FILTER", "GEN-048"),
        ("orders", "order_by", "INVALID_FIELD", "GEN-057"),
    ):
        for row in TABLES[table]:

            def body(
                ctx: CaseContext,
                row: dict[str, Any] = row,
                field: str = field,
                reason: str = reason,
            ) -> None:
                client = DatasetClient(ctx)
                with client.scratch() as name:
                    request = _list_request(row["rpc"], name, **{field: row[field]})
                    _fails(lambda: client.call(row["rpc"], request), INVALID, reason, field=field)

            body.__doc__ = f"{row['rpc']} {field} {row[field]!r}: INVALID_ARGUMENT [{reason}]"
            CASES.case(CORE, f"{table}.{row['id']}", "DAT-007", "DAT-002", general)(body)


def _register_labels() -> None:
    for row in TABLES["labels"]:
        labels = (
            {f"k{i}": "v" for i in range(row["count"])} if "count" in row else dict(row["labels"])
        )

        def body(ctx: CaseContext, row: dict[str, Any] = row, labels: dict = labels) -> None:
            client = DatasetClient(ctx)
            field = f"dataset.{row['field']}"
            dataset_id = unique_id()
            request = pb.CreateDatasetRequest(
                dataset_id=dataset_id, dataset=resources.Dataset(labels=labels)
            )
            try:
                _fails(
                    lambda: client.call("CreateDataset", request),
                    INVALID,
                    "INVALID_FIELD",
                    field=field,
                )
                _fails(
                    lambda: client.call(
                        "GetDataset", pb.GetDatasetRequest(name=f"datasets/{dataset_id}")
                    ),
                    NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                )
            finally:
                client.delete(f"datasets/{dataset_id}")
            with client.scratch(labels={"kept": "yes"}) as name:
                before = client.dataset(name)
                update = pb.UpdateDatasetRequest(
                    dataset=resources.Dataset(name=name, labels=labels),
                    update_mask=FieldMask(paths=["labels"]),
                )
                _fails(
                    lambda: client.call("UpdateDataset", update),
                    INVALID,
                    "INVALID_FIELD",
                    field=field,
                )
                expect.equal(client.dataset(name), before, "the dataset after the rejected update")

        body.__doc__ = f"Labels with {_title(row['id'])}: INVALID_FIELD on create and update"
        CASES.case(CORE, f"labels.{row['id']}", "DAT-011", "DAT-002", "GEN-056")(body)


def _register_write_headers() -> None:
    for row in TABLES["write_headers"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with _fixture(client) as names:
                before = client.dataset(names["name"])
                first = _request("WriteVersion", row["header"], names)
                if "description_length" in row:
                    first.description = "d" * row["description_length"]
                messages = [pb.WriteVersionRequest(header=first), *data([ipc_stream(rows(1))])]
                _fails(
                    lambda: client.stream(messages),
                    getattr(grpc.StatusCode, row["code"]),
                    row["reason"],
                    field=row.get("field"),
                )
                _unchanged(client, names["name"], before, "the rejected header")
                tags = client.call("ListTags", pb.ListTagsRequest(parent=names["name"])).tags
                expect.equal([t.name for t in tags], [], "tags after the rejected header")

        body.__doc__ = f"WriteVersion header, {_title(row['id'])}: {row['code']} [{row['reason']}]"
        requirements = row.get("requirements", ["DAT-022"])
        CASES.case(CORE, f"write-header.{row['id']}", *requirements, "DAT-002")(body)


def _register_read_errors() -> None:
    for row in TABLES["read_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with _fixture(client) as names:
                request = json_format.ParseDict(
                    row["request"], pb.ReadVersionRequest(name=names["{v}"])
                )
                _fails(
                    lambda: client.call("ReadVersion", request),
                    getattr(grpc.StatusCode, row["code"]),
                    row["reason"],
                    field=row.get("field"),
                    metadata=row.get("metadata"),
                )

        body.__doc__ = f"ReadVersion, {_title(row['id'])}: {row['code']} [{row['reason']}]"
        CASES.case(CORE, f"read-error.{row['id']}", *row["requirements"], "DAT-002")(body)


def _check_selection(
    responses: list[pb.ReadVersionResponse],
    *,
    version: str,
    table: pa.Table,
    start: int,
    end: int,
    batch_rows: int | None,
    first_index: int = 0,
) -> None:
    """The batches of a read of rows [start, end) of `table` (DAT-052, DAT-053)."""
    expect.holds(bool(responses), "at least one response", "none")
    headers = [i for i, r in enumerate(responses) if r.HasField("header")]
    expect.equal(headers, [0], "indexes of the responses that carry a header")
    head = responses[0].header
    expect.equal(head.version, version, "header.version")
    expect.equal(head.total_row_count, end - start, "header.total_row_count")
    size = head.batch_rows
    expect.holds(size > 0, "header.batch_rows > 0", str(size))
    if batch_rows is not None:
        expect.equal(size, batch_rows, "header.batch_rows")
    count = max(1, math.ceil((end - start) / size))
    expect.equal(head.batch_count, count, "header.batch_count")
    expect.equal(
        [r.batch_index for r in responses],
        list(range(first_index, count)),
        "batch_index of the responses",
    )
    decoded = table_of(responses)
    position = 0
    for response in responses:
        first = start + response.batch_index * size
        expect.equal(response.row_offset, first, f"row_offset of batch {response.batch_index}")
        wanted = table.slice(first, max(0, min(size, end - first)))
        got = decoded.slice(position, wanted.num_rows)
        expect.equal(_rows_of(got), _rows_of(wanted), f"rows of batch {response.batch_index}")
        position += wanted.num_rows
    expect.equal(decoded.num_rows, position, "rows in the stream")


def _register_selections() -> None:
    for row in TABLES["selections"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with _fixture(client) as names:
                responses = client.read(names["{v}"], **row["request"])
                start, end = row["rows"]
                _check_selection(
                    responses,
                    version=names["{v}"],
                    table=rows(10),
                    start=start,
                    end=end,
                    batch_rows=row.get("batch_rows"),
                )

        body.__doc__ = f"ReadVersion, {_title(row['id'])}: header, batches and row offsets"
        CASES.case(CORE, f"read.selection.{row['id']}", "DAT-052", "DAT-053")(body)


def _register_invalid_streams() -> None:
    for kind, chunks in arrow_samples.INVALID_STREAMS.items():

        def body(ctx: CaseContext, chunks: Callable[[], list[bytes]] = chunks) -> None:
            client = DatasetClient(ctx)
            with _fixture(client) as names:
                before = client.dataset(names["name"])
                messages = [header(names["name"], OVERWRITE, tags=["bad"]), *data(chunks())]
                _fails(
                    lambda: client.stream(messages),
                    INVALID,
                    "INVALID_ARROW_DATA",
                    field="arrow_data",
                )
                _unchanged(client, names["name"], before, "the invalid stream")

        body.__doc__ = f"WriteVersion of {_title(kind)}: INVALID_ARGUMENT [INVALID_ARROW_DATA]"
        CASES.case(CORE, f"write-invalid-arrow.{kind}", "DAT-023", "DAT-002")(body)


def _register_unsupported_types() -> None:
    for kind in arrow_samples.UNSUPPORTED_COLUMNS:

        def body(ctx: CaseContext, kind: str = kind) -> None:
            client = DatasetClient(ctx)
            with _fixture(client) as names:
                before = client.dataset(names["name"])
                stream = ipc_stream(arrow_samples.unsupported_table(kind))
                messages = [header(names["name"], OVERWRITE), *data([stream])]
                _fails(
                    lambda: client.stream(messages),
                    INVALID,
                    "UNSUPPORTED_ARROW_TYPE",
                    metadata={"column": "bad"},
                )
                _unchanged(client, names["name"], before, "the unsupported type")

        body.__doc__ = f"WriteVersion of a {_title(kind)} column: UNSUPPORTED_ARROW_TYPE"
        CASES.case(CORE, f"write-unsupported-type.{kind}", "DAT-024", "DAT-002")(body)


_register_names()
_register_not_found()
_register_filters_and_orders()
_register_labels()
_register_write_headers()
_register_invalid_streams()
_register_unsupported_types()
_register_read_errors()
_register_selections()


# --- discovery ------------------------------------------------------------------------------


def _feature_probes(dataset: str, version: str) -> dict[str, list[tuple[str, Message]]]:
    """One call of every RPC of each optional feature (§10)."""
    job, export = f"{dataset}/importJobs/conf-job", f"{dataset}/exportJobs/conf-job"
    return {
        "data.import": [
            (
                "CreateImportJob",
                pb.CreateImportJobRequest(parent=dataset, import_job_id="conf-job"),
            ),
            ("GetImportJob", pb.GetImportJobRequest(name=job)),
            ("ListImportJobs", pb.ListImportJobsRequest(parent=dataset)),
            ("CancelImportJob", pb.CancelImportJobRequest(name=job)),
            ("WatchImportJob", pb.WatchImportJobRequest(name=job)),
        ],
        "data.export": [
            (
                "CreateExportJob",
                pb.CreateExportJobRequest(parent=dataset, export_job_id="conf-job"),
            ),
            ("GetExportJob", pb.GetExportJobRequest(name=export)),
            ("ListExportJobs", pb.ListExportJobsRequest(parent=dataset)),
            ("CancelExportJob", pb.CancelExportJobRequest(name=export)),
            ("WatchExportJob", pb.WatchExportJobRequest(name=export)),
        ],
        "data.flight": [("IssueFlightTicket", pb.IssueFlightTicketRequest(name=version))],
    }


@CASES.case(
    CORE, "discovery.features-are-exactly-the-implemented-ones", "DAT-001", "DAT-002", "GEN-033"
)
def features_honest(ctx: CaseContext) -> None:
    """Discovery lists DatasetService with features of §10 only; every RPC of an unlisted
    feature is UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] with metadata feature, and a listed one
    answers."""
    expect.holds(
        SERVICE in ctx.info.features,
        f"GetServerInfo to list {SERVICE}",
        f"services {sorted(ctx.info.features)} ({ctx.info.discovery_error or 'no error'})",
    )
    listed = ctx.info.features[SERVICE]
    unknown = sorted(listed - DATASET_FEATURES)
    expect.holds(not unknown, "only features of spec/data.md §10", f"unknown {unknown}")
    client = DatasetClient(ctx)
    with _fixture(client) as names:
        for feature, probes in _feature_probes(names["name"], names["{v}"]).items():
            if feature in listed:
                lists = [(rpc, r) for rpc, r in probes if rpc.startswith(("List", "Issue"))]
                for rpc, request in lists:
                    expect.succeeds(
                        lambda rpc=rpc, request=request: client.call(rpc, request),
                        f"{rpc} of the listed feature {feature} to answer",
                    )
                continue
            for rpc, request in probes:
                _fails(
                    lambda rpc=rpc, request=request: client.call(rpc, request),
                    grpc.StatusCode.UNIMPLEMENTED,
                    "FEATURE_NOT_SUPPORTED",
                    metadata={"feature": feature},
                )


# --- datasets -------------------------------------------------------------------------------


@CASES.case(CORE, "datasets.create-returns-the-dataset", "DAT-012", "DAT-009")
def create_returns_dataset(ctx: CaseContext) -> None:
    """CreateDataset returns the requested metadata, no versions, create_time = update_time,
    an etag, and ignores output-only fields the client set."""
    client = DatasetClient(ctx)
    dataset_id = unique_id()
    given = resources.Dataset(
        name="datasets/someone-else",
        display_name="Flowers ✿ " + "x" * 246,
        description="d" * 16384,
        labels={"team": "risk", "empty": ""},
        create_time=Timestamp(seconds=1),
        update_time=Timestamp(seconds=2),
        etag="client-etag",
        head_version="datasets/someone-else/versions/v9",
        version_count=7,
    )
    try:
        created = expect.succeeds(
            lambda: (
                client.call(
                    "CreateDataset", pb.CreateDatasetRequest(dataset_id=dataset_id, dataset=given)
                ).dataset
            ),
            "CreateDataset with a 256-character display_name and 16384-character description",
        )
        expect.equal(created.name, f"datasets/{dataset_id}", "name")
        expect.equal(
            (created.display_name, created.description, dict(created.labels)),
            (given.display_name, given.description, dict(given.labels)),
            "(display_name, description, labels)",
        )
        expect.equal(
            (created.version_count, created.head_version), (0, ""), "(version_count, head)"
        )
        expect.holds(
            _ns(created.create_time) > 2_000_000_000 and created.create_time == created.update_time,
            "a server-set create_time equal to update_time",
            f"{created.create_time} / {created.update_time}",
        )
        expect.holds(
            created.etag not in ("", "client-etag"), "a server-set etag", repr(created.etag)
        )
        expect.equal(client.dataset(created.name), created, "GetDataset of the new dataset")
    finally:
        client.delete(f"datasets/{dataset_id}")


@CASES.case(CORE, "datasets.create-rejects-long-texts", "DAT-012", "DAT-002")
def create_rejects_long_texts(ctx: CaseContext) -> None:
    """A display_name over 256 or a description over 16384 characters is INVALID_FIELD and
    creates nothing."""
    client = DatasetClient(ctx)
    for field, dataset in (
        ("dataset.display_name", resources.Dataset(display_name="x" * 257)),
        ("dataset.description", resources.Dataset(description="x" * 16385)),
    ):
        dataset_id = unique_id()
        try:
            request = pb.CreateDatasetRequest(dataset_id=dataset_id, dataset=dataset)
            _fails(
                lambda request=request: client.call("CreateDataset", request),
                INVALID,
                "INVALID_FIELD",
                field=field,
            )
            _fails(
                lambda dataset_id=dataset_id: client.call(
                    "GetDataset", pb.GetDatasetRequest(name=f"datasets/{dataset_id}")
                ),
                NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
        finally:
            client.delete(f"datasets/{dataset_id}")


@CASES.case(CORE, "datasets.create-existing-id-already-exists", "DAT-009", "DAT-002", "GEN-052")
def create_existing(ctx: CaseContext) -> None:
    """CreateDataset with an id in use is ALREADY_EXISTS [RESOURCE_ALREADY_EXISTS] and leaves
    the existing dataset as it was."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="first") as name:
        before = client.dataset(name)
        request = pb.CreateDatasetRequest(
            dataset_id=name.removeprefix("datasets/"),
            dataset=resources.Dataset(display_name="second"),
        )
        _fails(
            lambda: client.call("CreateDataset", request),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        expect.equal(client.dataset(name), before, "the existing dataset")


@CASES.case(CORE, "datasets.create-request-id-replay", "DAT-008", "DAT-002", "GEN-053")
def create_request_id(ctx: CaseContext) -> None:
    """A repeated CreateDataset with the same request_id returns the same dataset; the same
    request_id with a different request is ALREADY_EXISTS [REQUEST_ID_CONFLICT]."""
    client = DatasetClient(ctx)
    dataset_id, other_id, request_id = unique_id(), unique_id(), str(uuid.uuid4())
    request = pb.CreateDatasetRequest(
        dataset_id=dataset_id, dataset=resources.Dataset(display_name="A"), request_id=request_id
    )
    try:
        first = expect.succeeds(lambda: client.call("CreateDataset", request).dataset)
        again = expect.succeeds(
            lambda: client.call("CreateDataset", request).dataset, "the replayed CreateDataset"
        )
        expect.equal(again, first, "the dataset the replay returns")
        for changed in (
            pb.CreateDatasetRequest(
                dataset_id=dataset_id,
                dataset=resources.Dataset(display_name="B"),
                request_id=request_id,
            ),
            pb.CreateDatasetRequest(dataset_id=other_id, request_id=request_id),
        ):
            _fails(
                lambda changed=changed: client.call("CreateDataset", changed),
                grpc.StatusCode.ALREADY_EXISTS,
                "REQUEST_ID_CONFLICT",
            )
        expect.equal(client.dataset(first.name), first, "the dataset after the conflicts")
        _fails(
            lambda: client.call("GetDataset", pb.GetDatasetRequest(name=f"datasets/{other_id}")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
    finally:
        client.delete(f"datasets/{dataset_id}")
        client.delete(f"datasets/{other_id}")


@CASES.case(CORE, "datasets.labels-at-the-limits-are-accepted", "DAT-011", "GEN-056")
def labels_at_limits(ctx: CaseContext) -> None:
    """64 labels, 63-character keys and values and empty values are accepted and kept."""
    client = DatasetClient(ctx)
    labels = {f"k{i}": "" for i in range(62)}
    labels["k" + "a" * 62] = "v" * 63
    labels["team_x-1"] = "a_b-9"
    with client.scratch(labels=labels) as name:
        expect.equal(dict(client.dataset(name).labels), labels, "labels")


@CASES.case(CORE, "datasets.update-applies-the-mask", "DAT-015", "GEN-054")
def update_mask(ctx: CaseContext) -> None:
    """UpdateDataset changes exactly the masked fields (empty mask: the non-empty ones; `*`:
    all three), with a new etag and update_time, and nothing else."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="A", description="D", labels={"team": "a"}) as name:
        created = client.dataset(name)

        def update(paths: list[str], **fields: Any) -> resources.Dataset:
            request = pb.UpdateDatasetRequest(
                dataset=resources.Dataset(name=name, **fields), update_mask=FieldMask(paths=paths)
            )
            return expect.succeeds(
                lambda: client.call("UpdateDataset", request).dataset, f"UpdateDataset {paths}"
            )

        steps = [
            (
                ["display_name"],
                {"display_name": "B", "description": "X", "labels": {"x": "y"}},
                ("B", "D", {"team": "a"}),
            ),
            ([], {"description": "E"}, ("B", "E", {"team": "a"})),
            (["labels"], {"labels": {"b": "2"}, "display_name": "Z"}, ("B", "E", {"b": "2"})),
            (["*"], {}, ("", "", {})),
        ]
        previous = created
        for paths, fields, wanted in steps:
            updated = update(paths, **fields)
            got = (updated.display_name, updated.description, dict(updated.labels))
            expect.equal(got, wanted, f"(display_name, description, labels) after mask {paths}")
            expect.holds(
                bool(updated.etag) and updated.etag != previous.etag,
                "a new etag",
                f"{updated.etag!r} after {previous.etag!r}",
            )
            expect.holds(
                _ns(updated.update_time) > _ns(previous.update_time),
                "a later update_time",
                f"{updated.update_time} after {previous.update_time}",
            )
            expect.equal(
                (updated.name, updated.create_time, updated.version_count, updated.head_version),
                (created.name, created.create_time, created.version_count, created.head_version),
                "(name, create_time, version_count, head_version)",
            )
            expect.equal(client.dataset(name), updated, "GetDataset after the update")
            previous = updated


@CASES.case(CORE, "datasets.update-mask-rejects-other-fields", "DAT-015", "DAT-002", "GEN-054")
def update_mask_other(ctx: CaseContext) -> None:
    """A mask naming any field but display_name, description and labels is INVALID_FIELD on
    update_mask and changes nothing."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="A") as name:
        before = client.dataset(name)
        for path in ("name", "etag", "create_time", "version_count", "head_version", "no_such"):
            request = pb.UpdateDatasetRequest(
                dataset=resources.Dataset(name=name, display_name="B"),
                update_mask=FieldMask(paths=["display_name", path]),
            )
            _fails(
                lambda request=request: client.call("UpdateDataset", request),
                INVALID,
                "INVALID_FIELD",
                field="update_mask",
            )
        expect.equal(client.dataset(name), before, "the dataset after the rejected updates")


@CASES.case(CORE, "datasets.etag-makes-changes-conditional", "DAT-016", "DAT-002", "GEN-055")
def dataset_etag(ctx: CaseContext) -> None:
    """UpdateDataset and DeleteDataset with a stale etag are ABORTED [ETAG_MISMATCH] and
    change nothing; with the current etag they succeed."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="A") as name:
        first = client.dataset(name)
        request = pb.UpdateDatasetRequest(
            dataset=resources.Dataset(name=name, display_name="B", etag=first.etag),
            update_mask=FieldMask(paths=["display_name"]),
        )
        second = expect.succeeds(lambda: client.call("UpdateDataset", request).dataset)
        stale = pb.UpdateDatasetRequest(
            dataset=resources.Dataset(name=name, display_name="C", etag=first.etag),
            update_mask=FieldMask(paths=["display_name"]),
        )
        _fails(lambda: client.call("UpdateDataset", stale), ABORTED, "ETAG_MISMATCH")
        _fails(
            lambda: client.call(
                "DeleteDataset", pb.DeleteDatasetRequest(name=name, etag=first.etag)
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        expect.equal(client.dataset(name), second, "the dataset after the stale calls")
        expect.succeeds(
            lambda: client.call(
                "DeleteDataset", pb.DeleteDatasetRequest(name=name, etag=second.etag)
            ),
            "DeleteDataset with the current etag",
        )
        _fails(
            lambda: client.call("GetDataset", pb.GetDatasetRequest(name=name)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(CORE, "datasets.commits-and-tags-keep-the-etag", "DAT-017")
def commits_keep_etag(ctx: CaseContext) -> None:
    """Committing versions and setting, moving and deleting tags leave the dataset's etag and
    update_time as they were."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        before = client.dataset(name)
        first = client.write(name, rows(2), tags=["alpha"])
        client.write(name, rows(2, 2), APPEND)
        tag = f"{name}/tags/beta"
        client.call("SetTag", pb.SetTagRequest(name=tag, version=first.name))
        client.call("SetTag", pb.SetTagRequest(name=f"{name}/tags/alpha", version=first.name))
        client.call("DeleteTag", pb.DeleteTagRequest(name=tag))
        after = client.dataset(name)
        expect.equal(
            (after.etag, after.update_time),
            (before.etag, before.update_time),
            "(etag, update_time)",
        )


@CASES.case(CORE, "datasets.head-and-version-count", "DAT-013", "DAT-014")
def head_and_count(ctx: CaseContext) -> None:
    """GetDataset (and ListDatasets) report the newest version as head and the number of
    versions after every commit."""
    client = DatasetClient(ctx)
    with _labelled_datasets(client, 1) as (run, (name,)):
        for count, (table, mode) in enumerate(
            ((rows(1), OVERWRITE), (rows(1, 1), APPEND), (rows(3), OVERWRITE)), start=1
        ):
            version = client.write(name, table, mode)
            dataset = client.dataset(name)
            expect.equal(
                (dataset.head_version, dataset.version_count),
                (version.name, count),
                f"(head_version, version_count) after commit {count}",
            )
            listed = client.call("ListDatasets", pb.ListDatasetsRequest(filter=_selection(run)))
            expect.equal(list(listed.datasets), [dataset], "ListDatasets of the dataset")


@CASES.case(CORE, "datasets.delete-needs-force-when-not-empty", "DAT-018", "DAT-002")
def delete_needs_force(ctx: CaseContext) -> None:
    """DeleteDataset without force deletes an empty dataset but fails FAILED_PRECONDITION
    [DATASET_NOT_EMPTY] on one with versions, deleting nothing."""
    client = DatasetClient(ctx)
    with client.scratch() as empty:
        expect.succeeds(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=empty)),
            "DeleteDataset of an empty dataset without force",
        )
        _fails(
            lambda: client.call("GetDataset", pb.GetDatasetRequest(name=empty)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
    with client.scratch() as name:
        version = client.write(name, rows(3), tags=["prod"])
        before = client.dataset(name)
        _fails(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name)),
            grpc.StatusCode.FAILED_PRECONDITION,
            "DATASET_NOT_EMPTY",
        )
        expect.equal(client.dataset(name), before, "the dataset after the refused delete")
        expect.equal(client.version(f"{name}/tags/prod").name, version.name, "the tag's version")
        expect.equal(_rows_of(client.read_table(version.name)), _rows_of(rows(3)), "rows")


@CASES.case(CORE, "datasets.delete-removes-everything", "DAT-020", "DAT-002")
def delete_removes_everything(ctx: CaseContext) -> None:
    """After DeleteDataset the dataset, its versions and tags are NOT_FOUND; the id can be
    created again and starts with no version and no tag."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(3), tags=["prod"])
        expect.succeeds(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True)),
            "DeleteDataset with force",
        )
        gone = [
            ("GetDataset", pb.GetDatasetRequest(name=name)),
            ("GetVersion", pb.GetVersionRequest(name=version.name)),
            ("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/prod")),
            ("ReadVersion", pb.ReadVersionRequest(name=version.name)),
            ("ListVersions", pb.ListVersionsRequest(parent=name)),
            ("ListTags", pb.ListTagsRequest(parent=name)),
        ]
        for rpc, request in gone:
            _fails(
                lambda rpc=rpc, request=request: client.call(rpc, request),
                NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
        again = client.create(name.removeprefix("datasets/"))
        expect.equal((again.version_count, again.head_version), (0, ""), "the new dataset's head")
        expect.equal(client.versions(name), [], "versions of the new dataset")
        tags = client.call("ListTags", pb.ListTagsRequest(parent=name)).tags
        expect.equal(list(tags), [], "tags of the new dataset")
        _fails(
            lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/prod")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


# --- listing datasets -------------------------------------------------------------------------


@contextlib.contextmanager
def _labelled_datasets(client: DatasetClient, count: int) -> Iterator[tuple[str, list[str]]]:
    """`count` datasets sharing a unique label run=<id>, in ascending name order, and the
    id."""
    run = unique_id("run")
    with client.scratches(count, labels={"run": run}) as names:
        yield run, names


def _selection(run: str) -> str:
    """The filter that selects exactly the datasets of _labelled_datasets."""
    return f'labels.run = "{run}"'


@CASES.case(CORE, "datasets.list-default-order-and-pages", "DAT-014", "DAT-005", "DAT-006")
def list_datasets_pages(ctx: CaseContext) -> None:
    """ListDatasets returns datasets by ascending name; walking with page_size 1 and 2 yields
    the same datasets once each in the same order; page_size 0 and 5000 return them all."""
    client = DatasetClient(ctx)
    with _labelled_datasets(client, 5) as (run, names):
        selection = _selection(run)
        for size in (0, 5000):
            page = client.call(
                "ListDatasets", pb.ListDatasetsRequest(filter=selection, page_size=size)
            )
            expect.equal([d.name for d in page.datasets], names, f"datasets with page_size {size}")
            expect.equal(page.next_page_token, "", f"next_page_token with page_size {size}")
        for size in (1, 2):
            walked = client.walk(
                "ListDatasets", pb.ListDatasetsRequest(filter=selection, page_size=size)
            )
            expect.equal([d.name for d in walked], names, f"datasets walked with page_size {size}")
            expect.equal(walked, [client.dataset(n) for n in names], "listed datasets = GetDataset")


@CASES.case(CORE, "datasets.list-order-by", "DAT-014", "DAT-007", "GEN-057")
def list_datasets_order(ctx: CaseContext) -> None:
    """ListDatasets orders by name, create_time and update_time, ascending or desc, ties by
    name, also across pages."""
    client = DatasetClient(ctx)
    with _labelled_datasets(client, 5) as (run, names):
        selection = _selection(run)
        for name in (names[3], names[1]):
            client.call(
                "UpdateDataset",
                pb.UpdateDatasetRequest(
                    dataset=resources.Dataset(name=name, description="touched"),
                    update_mask=FieldMask(paths=["description"]),
                ),
            )
        datasets = [client.dataset(n) for n in names]
        for order_by in (
            "name desc",
            "create_time desc",
            "update_time",
            "update_time desc, name desc",
            "create_time, update_time desc",
        ):
            wanted = _expected_order(datasets, order_by, "name")
            for size in (0, 2):
                walked = client.walk(
                    "ListDatasets",
                    pb.ListDatasetsRequest(filter=selection, order_by=order_by, page_size=size),
                )
                expect.equal(
                    [d.name for d in walked], wanted, f"order {order_by!r}, page_size {size}"
                )


@CASES.case(
    CORE,
    "datasets.list-filters",
    "DAT-014",
    "DAT-007",
    "GEN-045",
    "GEN-046",
    "GEN-047",
    "GEN-049",
)
def list_datasets_filters(ctx: CaseContext) -> None:
    """ListDatasets filters on labels.<key> and display_name (=, !=) and on create_time with
    every comparison, returning exactly the matching datasets."""
    client = DatasetClient(ctx)
    with _labelled_datasets(client, 5) as (run, names):
        selection = _selection(run)
        for i, name in enumerate(names):
            client.call(
                "UpdateDataset",
                pb.UpdateDatasetRequest(
                    dataset=resources.Dataset(
                        name=name,
                        display_name=f'Set "{i % 2}" \\',
                        labels={"run": run, **({"team": "a"} if i < 2 else {})},
                    ),
                    update_mask=FieldMask(paths=["display_name", "labels"]),
                ),
            )
        datasets = [client.dataset(n) for n in names]
        odd = datasets[1].display_name
        pivot = _ns(datasets[2].create_time)
        at = _rfc3339(pivot)
        comparisons = {
            "=": lambda t: t == pivot,
            "!=": lambda t: t != pivot,
            "<": lambda t: t < pivot,
            "<=": lambda t: t <= pivot,
            ">": lambda t: t > pivot,
            ">=": lambda t: t >= pivot,
        }
        cases: list[tuple[str, Callable[[resources.Dataset], bool]]] = [
            ('labels.team = "a"', lambda d: d.labels.get("team") == "a"),
            ('labels.team != "a"', lambda d: d.labels.get("team") != "a"),
            ('labels.team = ""', lambda d: "team" not in d.labels),
            (f"display_name = {_quoted(odd)}", lambda d: d.display_name == odd),
            (f"display_name != {_quoted(odd)}", lambda d: d.display_name != odd),
            (f"display_name = {_quoted(odd.lower())}", lambda d: False),
            (
                f'create_time <= "{_rfc3339(pivot, offset_minutes=150)}"',
                lambda d: _ns(d.create_time) <= pivot,
            ),
        ]
        cases += [
            (f'create_time {op} "{at}"', lambda d, test=test: test(_ns(d.create_time)))
            for op, test in comparisons.items()
        ]
        since = _ns(datasets[1].create_time)
        cases.append(
            (
                f'create_time >= "{_rfc3339(since)}" AND create_time < "{at}"',
                lambda d: since <= _ns(d.create_time) < pivot,
            )
        )
        for term, matches in cases:
            request = pb.ListDatasetsRequest(filter=f"{selection} AND {term}")
            got = [d.name for d in client.walk("ListDatasets", request)]
            wanted = [d.name for d in datasets if matches(d)]
            expect.equal(got, wanted, f"datasets matching {term!r}")


# --- pagination -------------------------------------------------------------------------------


@CASES.case(CORE, "pagination.negative-page-size-is-invalid", "DAT-005", "DAT-002")
def negative_page_size(ctx: CaseContext) -> None:
    """page_size -1 on ListDatasets, ListVersions and ListTags is INVALID_FIELD on page_size."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        for rpc, request in (
            ("ListDatasets", pb.ListDatasetsRequest(page_size=-1)),
            ("ListVersions", pb.ListVersionsRequest(parent=name, page_size=-1)),
            ("ListTags", pb.ListTagsRequest(parent=name, page_size=-1)),
        ):
            _fails(
                lambda rpc=rpc, request=request: client.call(rpc, request),
                INVALID,
                "INVALID_FIELD",
                field="page_size",
            )


@CASES.case(CORE, "pagination.foreign-token-is-invalid", "DAT-006", "DAT-002")
def foreign_token(ctx: CaseContext) -> None:
    """A page token the server never issued is INVALID_PAGE_TOKEN on every data-layer List."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        for token in ("not-a-token", "AAAA", "\u00e9t\u00e9", "eyJwIjoxfQ"):
            for rpc, request in (
                ("ListDatasets", pb.ListDatasetsRequest(page_token=token)),
                ("ListVersions", pb.ListVersionsRequest(parent=name, page_token=token)),
                ("ListTags", pb.ListTagsRequest(parent=name, page_token=token)),
            ):
                _fails(
                    lambda rpc=rpc, request=request: client.call(rpc, request),
                    INVALID,
                    "INVALID_PAGE_TOKEN",
                    field="page_token",
                )


@CASES.case(CORE, "pagination.token-bound-to-its-request", "DAT-006", "GEN-043")
def token_bound(ctx: CaseContext) -> None:
    """A page token works with another page_size but is INVALID_PAGE_TOKEN with another
    parent, filter, order_by or method."""
    client = DatasetClient(ctx)
    with _labelled_datasets(client, 2) as (run, (first, second)):
        selection = _selection(run)
        for name in (first, second):
            for i in range(3):
                client.write(name, rows(1, i), APPEND, tags=[f"t{i}"])
        versions = client.call("ListVersions", pb.ListVersionsRequest(parent=first, page_size=1))
        tags = client.call("ListTags", pb.ListTagsRequest(parent=first, page_size=1))
        datasets = client.call(
            "ListDatasets", pb.ListDatasetsRequest(filter=selection, page_size=1)
        )
        for token in (versions.next_page_token, tags.next_page_token, datasets.next_page_token):
            expect.holds(bool(token), "a next_page_token after a first page of one", "none")
        following = client.call(
            "ListVersions",
            pb.ListVersionsRequest(parent=first, page_size=5, page_token=versions.next_page_token),
        )
        expect.equal(
            [v.sequence_number for v in following.versions], [2, 1], "versions after page 1"
        )
        wrong = [
            (
                "ListVersions",
                pb.ListVersionsRequest(parent=second, page_token=versions.next_page_token),
            ),
            (
                "ListVersions",
                pb.ListVersionsRequest(
                    parent=first, filter="sequence_number > 0", page_token=versions.next_page_token
                ),
            ),
            (
                "ListVersions",
                pb.ListVersionsRequest(
                    parent=first, order_by="sequence_number", page_token=versions.next_page_token
                ),
            ),
            ("ListTags", pb.ListTagsRequest(parent=second, page_token=tags.next_page_token)),
            (
                "ListDatasets",
                pb.ListDatasetsRequest(filter=selection, page_token=versions.next_page_token),
            ),
            ("ListDatasets", pb.ListDatasetsRequest(page_token=datasets.next_page_token)),
            (
                "ListDatasets",
                pb.ListDatasetsRequest(
                    filter=selection, order_by="name desc", page_token=datasets.next_page_token
                ),
            ),
        ]
        for rpc, request in wrong:
            _fails(
                lambda rpc=rpc, request=request: client.call(rpc, request),
                INVALID,
                "INVALID_PAGE_TOKEN",
            )


# --- writing ----------------------------------------------------------------------------------


@CASES.case(CORE, "write.header-comes-first-and-once", "DAT-021", "DAT-002")
def header_first(ctx: CaseContext) -> None:
    """A stream without a first header, with a second header, or with no message at all is
    INVALID_FIELD on header and commits nothing."""
    client = DatasetClient(ctx)
    with _fixture(client) as names:
        name = names["name"]
        before = client.dataset(name)
        stream = ipc_stream(rows(2))
        for what, messages in (
            ("data before the header", [*data([stream]), header(name, APPEND)]),
            ("a second header", [header(name, APPEND), header(name, APPEND), *data([stream])]),
            (
                "a header after the data",
                [header(name, APPEND), *data([stream]), header(name, APPEND)],
            ),
            ("no message", []),
        ):
            _fails(
                lambda messages=messages: client.stream(messages),
                INVALID,
                "INVALID_FIELD",
                field="header",
            )
            _unchanged(client, name, before, what)


def _blocked_write(
    client: DatasetClient, messages: list[pb.WriteVersionRequest], timeout: float
) -> tuple[grpc.Future, threading.Event]:
    """A WriteVersion that sends `messages` and then neither ends nor sends more until the
    returned event is set."""
    release = threading.Event()

    def requests() -> Iterator[pb.WriteVersionRequest]:
        yield from messages
        release.wait(timeout + 5)

    call = client.stub.WriteVersion.future(
        requests(), metadata=client.ctx.metadata, timeout=timeout
    )
    return call, release


@CASES.case(CORE, "write.cancelled-stream-commits-nothing", "DAT-026")
def cancelled_stream(ctx: CaseContext) -> None:
    """A stream that carried a whole valid table and was cancelled by the client before it
    half-closed commits nothing, and no tag moves."""
    client = DatasetClient(ctx)
    with _fixture(client) as names:
        name = names["name"]
        before = client.dataset(name)
        messages = [header(name, APPEND, tags=["cancelled"]), *data([ipc_stream(rows(3, 50))])]
        call, release = _blocked_write(client, messages, ctx.timeout)
        time.sleep(0.3)
        call.cancel()
        release.set()
        with contextlib.suppress(grpc.FutureCancelledError, grpc.RpcError):
            call.result()
        time.sleep(0.3)
        _unchanged(client, name, before, "the cancelled stream")
        _fails(
            lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/cancelled")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(CORE, "write.expired-stream-commits-nothing", "DAT-026")
def expired_stream(ctx: CaseContext) -> None:
    """A stream whose deadline expires before it half-closes commits nothing."""
    client = DatasetClient(ctx)
    with _fixture(client) as names:
        name = names["name"]
        before = client.dataset(name)
        messages = [header(name, APPEND), *data([ipc_stream(rows(3, 50))])]
        call, release = _blocked_write(client, messages, timeout=0.4)
        try:
            error = call.exception(timeout=ctx.timeout)
        finally:
            release.set()
        expect.holds(
            isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
            "DEADLINE_EXCEEDED",
            expect.describe(error) if isinstance(error, grpc.RpcError) else "OK",
        )
        time.sleep(0.3)
        _unchanged(client, name, before, "the expired stream")


@CASES.case(CORE, "write.failed-streams-leave-no-trace", "DAT-026", "DAT-034", "GEN-004")
def failed_streams(ctx: CaseContext) -> None:
    """Streams failing after valid data (a bad trailer, a schema mismatch, a digest
    mismatch) change neither head, version count, versions nor tags."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(3), tags=["stable"])
        before = client.dataset(name)
        stream = ipc_stream(rows(2, 3))
        wrong_digest = digest_pb2.Digest(algorithm=SHA256, hex="0" * 64)
        other_schema = ipc_stream(pa.table({"z": [1.5]}))
        for what, messages, code in (
            (
                "garbage after the stream",
                [header(name, APPEND, tags=["stable", "new"]), *data([stream, b"garbage"])],
                INVALID,
            ),
            (
                "a schema mismatch",
                [header(name, APPEND, tags=["stable", "new"]), *data([other_schema])],
                INVALID,
            ),
            (
                "a digest mismatch",
                [
                    header(name, APPEND, tags=["stable", "new"], arrow_data_digest=wrong_digest),
                    *data([stream]),
                ],
                grpc.StatusCode.DATA_LOSS,
            ),
        ):
            expect.fails_with(lambda messages=messages: client.stream(messages), code)
            _unchanged(client, name, before, what)
            expect.equal(
                client.version(f"{name}/tags/stable").name, first.name, f"tag stable after {what}"
            )
            _fails(
                lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/new")),
                NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
        expect.equal(
            _rows_of(client.read_table(before.head_version)), _rows_of(rows(3)), "head rows"
        )


@CASES.case(CORE, "write.sequence-parent-and-head", "DAT-027", "DAT-010", "DAT-013")
def sequence_parent_head(ctx: CaseContext) -> None:
    """Each commit gets the next sequence number, the head at commit time as parent and
    becomes the head; version ids are AIP-122 ids, unique, usable by name."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        previous = ""
        seen: set[str] = set()
        for sequence, mode in enumerate((APPEND, OVERWRITE, APPEND, OVERWRITE), start=1):
            version = client.write(name, rows(2, sequence), mode)
            version_id = version.name.removeprefix(f"{name}/versions/")
            expect.holds(
                version.name.startswith(f"{name}/versions/")
                and re.match(ID, version_id) is not None,
                "a version name datasets/{d}/versions/{AIP-122 id}",
                version.name,
            )
            expect.holds(version_id not in seen, "a new version id", f"{version_id} again")
            seen.add(version_id)
            expect.equal(
                (version.sequence_number, version.parent_version),
                (sequence, previous),
                "(sequence_number, parent_version)",
            )
            dataset = client.dataset(name)
            expect.equal(
                (dataset.head_version, dataset.version_count), (version.name, sequence), "head"
            )
            expect.equal(client.version(version.name), version, "GetVersion by the assigned id")
            previous = version.name


@CASES.case(CORE, "write.append-adds-rows-after-the-parent", "DAT-028")
def append_rows(ctx: CaseContext) -> None:
    """APPEND on an empty dataset is an OVERWRITE; then each APPEND holds the parent's rows
    followed by the written ones; a nullable written column makes the field nullable."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        strict = pa.schema([pa.field("a", pa.int64(), nullable=False), pa.field("b", pa.string())])
        first = client.write(name, rows(3).cast(strict), APPEND)
        expect.equal(first.row_count, 3, "row_count of an APPEND to an empty dataset")
        expect.equal(_rows_of(client.read_table(first.name)), _rows_of(rows(3)), "rows of v1")
        expect.equal([f.nullable for f in first.schema.fields], [False, True], "nullable of v1")
        second = client.write(name, rows(2, 3), APPEND)
        third = client.write(name, rows(1, 5).cast(strict), APPEND)
        expect.equal(
            _rows_of(client.read_table(second.name)), _rows_of(rows(5)), "rows of the 1st APPEND"
        )
        expect.equal(
            _rows_of(client.read_table(third.name)), _rows_of(rows(6)), "rows of the 2nd APPEND"
        )
        expect.equal((second.row_count, third.row_count), (5, 6), "row counts")
        expect.equal(
            [(f.name, f.type, f.nullable) for f in second.schema.fields],
            [("a", "int64", True), ("b", "string", True)],
            "fields after appending a nullable column",
        )


@CASES.case(CORE, "write.append-schema-mismatch", "DAT-028", "DAT-002")
def append_mismatch(ctx: CaseContext) -> None:
    """APPEND of a schema that differs from the parent's in names, order, types or column
    count is INVALID_ARGUMENT [SCHEMA_MISMATCH] on arrow_data and commits nothing."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        client.write(name, rows(2))
        before = client.dataset(name)
        base = rows(1, 9)
        for what, table in (
            ("a renamed column", base.rename_columns(["a", "c"])),
            ("another type", pa.table({"a": pa.array([9], pa.int32()), "b": ["x"]})),
            ("swapped columns", base.select(["b", "a"])),
            ("an extra column", base.append_column("c", pa.array([1.0]))),
            ("a missing column", base.select(["a"])),
            (
                "a large_string for a string",
                base.cast(pa.schema([("a", pa.int64()), ("b", pa.large_string())])),
            ),
        ):
            _fails(
                lambda table=table: client.stream(
                    [header(name, APPEND), *data([ipc_stream(table)])]
                ),
                INVALID,
                "SCHEMA_MISMATCH",
                field="arrow_data",
            )
            _unchanged(client, name, before, what)


@CASES.case(CORE, "write.overwrite-replaces-rows-and-schema", "DAT-029")
def overwrite(ctx: CaseContext) -> None:
    """OVERWRITE commits exactly the written rows and schema, whatever the parent holds."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        client.write(name, rows(4))
        other = pa.table(
            {"z": pa.array([1.5, None]), "y": pa.array([[1], []], pa.list_(pa.int8()))}
        )
        version = client.write(name, other, OVERWRITE)
        expect.equal(
            [(f.name, f.type) for f in version.schema.fields],
            [("z", "double"), ("y", "list<item: int8>")],
            "fields",
        )
        expect.equal(version.row_count, 2, "row_count")
        expect.equal(_rows_of(client.read_table(version.name)), _rows_of(other), "rows")


@CASES.case(CORE, "write.expected-parent-version", "DAT-030", "DAT-002")
def expected_parent(ctx: CaseContext) -> None:
    """expected_parent_version makes a commit conditional on the head ("" = no version yet);
    a mismatch is ABORTED [PARENT_VERSION_MISMATCH] with metadata head_version."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        missing = f"{name}/versions/no-such-version"
        _fails(
            lambda: client.stream(
                [
                    header(name, APPEND, expected_parent_version=missing),
                    *data([ipc_stream(rows(1))]),
                ]
            ),
            ABORTED,
            "PARENT_VERSION_MISMATCH",
            metadata={"head_version": ""},
        )
        first = client.write(name, rows(1), APPEND, expected_parent_version="")
        before = client.dataset(name)
        for expected in ("", missing):
            _fails(
                lambda expected=expected: client.stream(
                    [
                        header(name, APPEND, expected_parent_version=expected),
                        *data([ipc_stream(rows(1, 1))]),
                    ]
                ),
                ABORTED,
                "PARENT_VERSION_MISMATCH",
                metadata={"head_version": first.name},
            )
            _unchanged(client, name, before, f"expected_parent_version {expected!r}")
        second = client.write(name, rows(1, 1), APPEND, expected_parent_version=first.name)
        expect.equal(second.parent_version, first.name, "parent of the conditional commit")
        before = client.dataset(name)
        _fails(
            lambda: client.stream(
                [
                    header(name, OVERWRITE, expected_parent_version=first.name),
                    *data([ipc_stream(rows(1, 7))]),
                ]
            ),
            ABORTED,
            "PARENT_VERSION_MISMATCH",
            metadata={"head_version": second.name},
        )
        _unchanged(client, name, before, "a stale expected_parent_version")


@CASES.case(CORE, "write.concurrent-appends-serialize", "DAT-031")
def concurrent_appends(ctx: CaseContext) -> None:
    """Concurrent APPEND streams all commit: every written row appears exactly once in the
    final head, each write's rows together and in order, and the versions form one chain."""
    client = DatasetClient(ctx)
    writers, per_writer = 6, 3
    with client.scratch() as name:
        client.write(name, rows(1, 0))

        def append(writer: int) -> resources.DatasetVersion:
            return client.write(name, rows(per_writer, 100 * (writer + 1)), APPEND)

        with futures.ThreadPoolExecutor(max_workers=writers) as pool:
            committed = list(pool.map(append, range(writers)))
        versions = sorted(client.versions(name), key=lambda v: v.sequence_number)
        expect.equal(
            [v.sequence_number for v in versions], list(range(1, writers + 2)), "sequence numbers"
        )
        for parent, child in itertools.pairwise(versions):
            expect.equal(child.parent_version, parent.name, f"parent of {child.name}")
        expect.equal(
            sorted(v.name for v in committed), sorted(v.name for v in versions[1:]), "versions"
        )
        head = client.read_table(versions[-1].name)["a"].to_pylist()
        wanted = [0] + [100 * (w + 1) + i for w in range(writers) for i in range(per_writer)]
        expect.equal(sorted(head), sorted(wanted), "rows of the final head")
        for w in range(writers):
            start = head.index(100 * (w + 1))
            block = head[start : start + per_writer]
            expect.equal(block, [100 * (w + 1) + i for i in range(per_writer)], "a write's rows")


@CASES.case(CORE, "write.arrow-data-digest", "DAT-032", "DAT-002")
def arrow_data_digest(ctx: CaseContext) -> None:
    """A correct arrow_data_digest commits; a wrong one is DATA_LOSS [DIGEST_MISMATCH] and
    commits nothing."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        stream = ipc_stream(rows(5))
        chunks = split(stream, 97)
        right = digest_pb2.Digest(algorithm=SHA256, hex=hashlib.sha256(stream).hexdigest())
        version = client.write(name, chunks, arrow_data_digest=right)
        expect.equal(version.row_count, 5, "row_count")
        before = client.dataset(name)
        # The same bytes with one value changed: still a valid stream, with other content.
        tampered = stream.replace(b"row-4", b"row-5")
        for what, sent in (
            ("bytes that do not hash to the digest", split(tampered, 97)),
            ("the digest of other bytes", split(ipc_stream(rows(5, 1)), 97)),
        ):
            _fails(
                lambda sent=sent: client.stream(
                    [header(name, OVERWRITE, arrow_data_digest=right), *data(sent)]
                ),
                grpc.StatusCode.DATA_LOSS,
                "DIGEST_MISMATCH",
            )
            _unchanged(client, name, before, what)


@CASES.case(CORE, "write.zero-rows", "DAT-033", "DAT-056")
def zero_rows(ctx: CaseContext) -> None:
    """A schema without rows commits: OVERWRITE an empty version of that schema, APPEND a
    version with the parent's rows and digest; an empty version reads as one empty batch."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        empty = rows(0)
        for mode in (APPEND, OVERWRITE):
            version = client.write(name, ipc_stream(empty), mode)
            expect.equal(version.row_count, 0, "row_count of a zero-row write")
            expect.equal(
                [(f.name, f.type) for f in version.schema.fields],
                [("a", "int64"), ("b", "string")],
                "fields of the empty version",
            )
            expect.equal(_digest(version), table_digest.content_digest(empty), "content digest")
            responses = client.read(version.name)
            expect.equal(len(responses), 1, "responses for an empty version")
            expect.equal(
                (
                    responses[0].batch_index,
                    responses[0].header.batch_count,
                    table_of(responses).num_rows,
                ),
                (0, 1, 0),
                "(batch_index, batch_count, rows) of an empty version",
            )
        parent = client.write(name, rows(4), OVERWRITE)
        appended = client.write(name, empty, APPEND)
        expect.equal(
            (appended.row_count, _digest(appended), appended.parent_version),
            (4, _digest(parent), parent.name),
            "(row_count, content digest, parent) of a zero-row APPEND",
        )
        expect.equal(_rows_of(client.read_table(appended.name)), _rows_of(rows(4)), "rows")


@CASES.case(CORE, "write.header-tags-move-with-the-commit", "DAT-034", "DAT-036")
def header_tags(ctx: CaseContext) -> None:
    """Tags in the header point at the new version when the response arrives, moving from
    older versions."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(1), tags=["beta", "alpha"])
        expect.equal(list(first.tags), ["alpha", "beta"], "tags of the response")
        for tag in ("alpha", "beta"):
            expect.equal(client.version(f"{name}/tags/{tag}").name, first.name, f"target of {tag}")
        second = client.write(name, rows(1, 1), APPEND, tags=["alpha"])
        expect.equal(list(second.tags), ["alpha"], "tags of the second version")
        expect.equal(list(client.version(first.name).tags), ["beta"], "tags of the first version")
        expect.equal(client.version(f"{name}/tags/alpha").name, second.name, "target of alpha")
        listed = client.call("ListTags", pb.ListTagsRequest(parent=name)).tags
        expect.equal(
            [(t.name, t.version) for t in listed],
            [(f"{name}/tags/alpha", second.name), (f"{name}/tags/beta", first.name)],
            "ListTags",
        )


@CASES.case(CORE, "write.request-id-replay", "DAT-035", "DAT-008", "DAT-002")
def write_request_id(ctx: CaseContext) -> None:
    """A WriteVersion retried with the request_id of a committed stream returns that version
    and commits nothing, whatever data it carries; another header with the same request_id
    is ALREADY_EXISTS [REQUEST_ID_CONFLICT]."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        request_id = str(uuid.uuid4())
        first = client.write(name, rows(3), APPEND, request_id=request_id, description="one")
        after = client.dataset(name)
        for what, chunks in (
            ("the same data", [ipc_stream(rows(3))]),
            ("other data", [ipc_stream(rows(7, 40))]),
            ("garbage", [b"not arrow"]),
        ):
            again = expect.succeeds(
                lambda chunks=chunks: (
                    client.stream(
                        [
                            header(name, APPEND, request_id=request_id, description="one"),
                            *data(chunks),
                        ]
                    ).version
                ),
                f"the retry with {what}",
            )
            expect.equal(
                (again.name, _digest(again)), (first.name, _digest(first)), f"retry with {what}"
            )
            _unchanged(client, name, after, f"the retry with {what}")
        for changed in (
            header(name, APPEND, request_id=request_id, description="two"),
            header(name, OVERWRITE, request_id=request_id, description="one"),
        ):
            _fails(
                lambda changed=changed: client.stream([changed, *data([ipc_stream(rows(3))])]),
                grpc.StatusCode.ALREADY_EXISTS,
                "REQUEST_ID_CONFLICT",
            )
            _unchanged(client, name, after, "a conflicting request_id")


@CASES.case(CORE, "write.response-equals-get-and-lineage", "DAT-036", "DAT-027")
def response_and_lineage(ctx: CaseContext) -> None:
    """The WriteVersionResponse equals GetVersion; lineage is WRITE with no source, the
    request_id, and the parent as input for an APPEND onto a version only."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        request_id = str(uuid.uuid4())
        first = client.write(name, rows(2), APPEND, request_id=request_id, description="first")
        second = client.write(name, rows(2, 2), APPEND)
        third = client.write(name, rows(1), OVERWRITE, description="third")
        for version, inputs, rid in (
            (first, [], request_id),
            (second, [first.name], ""),
            (third, [], ""),
        ):
            stored = client.version(version.name)
            expect.equal(stored, version, f"GetVersion of {version.name} = the response")
            lineage = version.lineage
            expect.equal(
                (
                    resources.VersionOrigin.Name(lineage.origin),
                    lineage.source,
                    list(lineage.input_versions),
                    lineage.request_id,
                ),
                ("VERSION_ORIGIN_WRITE", "", inputs, rid),
                f"lineage (origin, source, input_versions, request_id) of {version.name}",
            )
        expect.equal(
            [(v.description, resources.WriteMode.Name(v.write_mode)) for v in (first, third)],
            [("first", "WRITE_MODE_APPEND"), ("third", "WRITE_MODE_OVERWRITE")],
            "(description, write_mode)",
        )


def _sized_stream(size: int) -> bytes:
    """An IPC stream of one binary value whose length is at most `size` bytes, and close."""
    value = size
    while True:
        stream = ipc_stream(pa.table({"blob": pa.array([b"\x5a" * value], pa.binary())}))
        if len(stream) <= size:
            return stream
        value -= len(stream) - size


@CASES.case(CORE, "write.accepts-4-mib-messages", "DAT-037")
def accepts_4_mib(ctx: CaseContext) -> None:
    """A single WriteVersion message of 4 MiB is accepted."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        stream = _sized_stream(4 * 1024 * 1024 - 64)
        version = client.write(name, [stream])
        table = pa.ipc.open_stream(stream).read_all()
        expect.equal(_digest(version), table_digest.content_digest(table), "content digest")


@CASES.case(CORE, "write.oversized-message-is-resource-exhausted", "DAT-037")
def oversized_write(ctx: CaseContext) -> None:
    """A WriteVersion message over the server's limit is RESOURCE_EXHAUSTED and commits
    nothing."""
    limit = ctx.options.message_limit
    if limit is None:
        raise Skipped("the target's message limit is unknown (pass --message-limit BYTES)")
    client = DatasetClient(ctx)
    with client.scratch() as name:
        before = client.dataset(name)
        payload = b"\0" * (limit + 1024)
        expect.fails_with(
            lambda: client.stream([header(name, OVERWRITE), *data([payload])]),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )
        _unchanged(client, name, before, "the oversized message")


@CASES.case(CORE, "write.dictionary-columns-stored-decoded", "DAT-025")
def dictionary_decoded(ctx: CaseContext) -> None:
    """Dictionary-encoded columns are stored decoded: the schema and ReadVersion carry the
    value type, and the digest is that of the plain values."""
    client = DatasetClient(ctx)
    plain = pa.table(
        {
            "s": pa.array(["x", "y", None, "x"]),
            "l": pa.array([[1], [2, 2], None, []], pa.list_(pa.int64())),
        }
    )
    encoded = pa.table({"s": plain["s"].dictionary_encode(), "l": plain["l"]})
    with client.scratches(2) as (one, two):
        version = client.write(one, encoded)
        reference = client.write(two, plain)
        expect.equal(
            [(f.name, f.type) for f in version.schema.fields],
            [("s", "string"), ("l", "list<item: int64>")],
            "fields of the dictionary-encoded write",
        )
        stored = client.read_table(version.name)
        expect.holds(
            not any(pa.types.is_dictionary(f.type) for f in stored.schema),
            "plain columns from ReadVersion",
            str(stored.schema),
        )
        expect.equal(_rows_of(stored), _rows_of(plain), "rows")
        expect.equal(_digest(version), table_digest.content_digest(plain), "content digest")
        expect.equal(_digest(version), _digest(reference), "digest = that of the plain write")


# --- versions ---------------------------------------------------------------------------------


@CASES.case(CORE, "versions.never-change", "DAT-039")
def versions_immutable(ctx: CaseContext) -> None:
    """After later commits and tag moves, GetVersion, ListVersions and ReadVersion of a
    version return what they did at commit, apart from its tags."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(4), description="kept")
        table = client.read_table(first.name)
        listed = client.versions(name)[0]
        client.write(name, rows(2, 4), APPEND, tags=["prod"])
        client.call("SetTag", pb.SetTagRequest(name=f"{name}/tags/old", version=first.name))
        client.write(name, pa.table({"other": [1.0]}), OVERWRITE)
        client.call("DeleteTag", pb.DeleteTagRequest(name=f"{name}/tags/old"))

        def without_tags(version: resources.DatasetVersion) -> resources.DatasetVersion:
            copy = resources.DatasetVersion()
            copy.CopyFrom(version)
            del copy.tags[:]
            return copy

        later = client.version(first.name)
        expect.equal(without_tags(later), without_tags(first), "GetVersion of the first version")
        again = [v for v in client.versions(name) if v.name == first.name]
        expect.equal(again, [listed], "ListVersions entry of the first version")
        reread = client.read_table(first.name)
        expect.holds(reread.schema.equals(table.schema), "the same schema", str(reread.schema))
        expect.equal(_rows_of(reread), _rows_of(table), "rows of the first version")


@CASES.case(CORE, "versions.schema-fields-and-canonical-types", "DAT-040", "DAT-054")
def schema_fields(ctx: CaseContext) -> None:
    """Every type of §4.1 is accepted and reported with its canonical type string (§4.2),
    nullability and an Arrow schema of the same columns; row_count and size_bytes hold."""
    client = DatasetClient(ctx)
    table = arrow_samples.typed_table()
    with client.scratch() as name:
        version = client.write(name, table)
        expect.equal(
            [(f.name, f.type, f.nullable) for f in version.schema.fields],
            arrow_samples.typed_fields(),
            "schema.fields",
        )
        arrow = schema_of(version.schema.arrow_schema, "schema.arrow_schema")
        expect.equal(
            [(f.name, table_digest.canonical_type(f.type), f.nullable) for f in arrow],
            arrow_samples.typed_fields(),
            "schema.arrow_schema columns",
        )
        expect.equal(version.row_count, 3, "row_count")
        expect.holds(version.size_bytes >= 0, "size_bytes >= 0", str(version.size_bytes))
        read = client.read_table(version.name)
        expect.equal(
            [(f.name, table_digest.canonical_type(f.type)) for f in read.schema],
            [(f.name, table_digest.canonical_type(f.type)) for f in arrow],
            "types of the columns ReadVersion returns",
        )


@CASES.case(CORE, "versions.content-digest-recomputes", "DAT-041")
def content_digest(ctx: CaseContext) -> None:
    """content_digest is SHA-256 of §4.3's encoding: the client gets the same value from the
    table it wrote and from the table it reads back, for every type and for values hidden
    under nulls, NaN payloads, -0.0, nullability and schema metadata."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        for what, table in (
            ("every supported type", arrow_samples.typed_table()),
            ("hidden values and odd NaNs", arrow_samples.hidden_values_table(hidden=True)),
            ("rows(50)", rows(50)),
        ):
            version = client.write(name, table)
            wanted = table_digest.content_digest(
                arrow_samples.hidden_values_table(hidden=False) if "hidden" in what else table
            )
            expect.equal(_digest(version), wanted, f"content digest of {what}")
            read = client.read_table(version.name)
            expect.equal(
                table_digest.content_digest(read), wanted, f"digest of {what} as read back"
            )


@CASES.case(CORE, "versions.digest-ignores-how-rows-were-written", "DAT-042")
def digest_chunking(ctx: CaseContext) -> None:
    """The same rows written as one batch, one-row batches, odd message splits, compressed
    buffers, in two APPENDs or into another dataset all get the same content digest."""
    client = DatasetClient(ctx)
    table = pa.table(
        {
            "id": pa.array(range(120), pa.int64()),
            "name": pa.array([None if i % 7 == 0 else f"n{i}" * (i % 5) for i in range(120)]),
            "tags": pa.array(
                [[i, None] if i % 3 else None for i in range(120)], pa.list_(pa.int32())
            ),
        }
    )
    whole = ipc_stream(table)
    odd_splits = [whole[:1], whole[1:8], *split(whole[8:], 997)]
    with client.scratches(2) as (name, other):
        ways = {
            "one batch in one message": [whole],
            "one-row batches": [ipc_stream(table, batch_rows=1)],
            "messages split at odd offsets": odd_splits,
            "batches of 7 rows in 13-byte messages": split(ipc_stream(table, batch_rows=7), 13),
            "zstd-compressed batches": [ipc_stream(table, batch_rows=50, compression="zstd")],
            "lz4-compressed batches": [ipc_stream(table, batch_rows=33, compression="lz4")],
        }
        wanted = table_digest.content_digest(table)
        for what, chunks in ways.items():
            version = client.write(name, chunks)
            expect.equal(_digest(version), wanted, f"content digest of {what}")
        client.write(other, table.slice(0, 45))
        appended = client.write(other, table.slice(45), APPEND)
        expect.equal(_digest(appended), wanted, "content digest after two APPENDs elsewhere")


@CASES.case(CORE, "versions.get-by-version-or-tag", "DAT-043", "DAT-004")
def get_by_name_or_tag(ctx: CaseContext) -> None:
    """GetVersion by version name returns it; by tag name the version the tag points at now,
    under its canonical version name."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(1), tags=["prod"])
        expect.equal(client.version(first.name), first, "GetVersion by version name")
        expect.equal(client.version(f"{name}/tags/prod"), first, "GetVersion by tag name")
        second = client.write(name, rows(2), tags=["prod"])
        expect.equal(client.version(f"{name}/tags/prod"), second, "GetVersion of the moved tag")


@CASES.case(CORE, "versions.list-order-and-pages", "DAT-044", "DAT-005", "DAT-006")
def list_versions_order(ctx: CaseContext) -> None:
    """ListVersions returns newest first by default and by sequence_number or create_time on
    request, the same across pages of 1 and 2."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        for i in range(5):
            client.write(name, rows(1, i), APPEND)
        versions = client.versions(name)
        for order_by in (
            "",
            "sequence_number",
            "sequence_number desc",
            "create_time",
            "create_time desc",
        ):
            wanted = _expected_order(
                versions, order_by or "sequence_number desc", "sequence_number"
            )
            for size in (0, 1, 2):
                walked = client.walk(
                    "ListVersions",
                    pb.ListVersionsRequest(parent=name, order_by=order_by, page_size=size),
                )
                expect.equal(
                    [v.name for v in walked], wanted, f"order {order_by!r}, page_size {size}"
                )
        expect.equal([v.sequence_number for v in versions], [5, 4, 3, 2, 1], "default order")


@CASES.case(CORE, "versions.list-filters", "DAT-044", "DAT-007", "GEN-045", "GEN-049")
def list_versions_filters(ctx: CaseContext) -> None:
    """ListVersions filters on sequence_number and create_time with every comparison."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        for i in range(5):
            client.write(name, rows(1, i), APPEND)
        versions = client.versions(name)
        pivot = versions[2]
        tests = {
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        for op, test in tests.items():
            for term, matches in (
                (
                    f"sequence_number {op} {pivot.sequence_number}",
                    lambda v, test=test: test(v.sequence_number, pivot.sequence_number),
                ),
                (
                    f'create_time {op} "{_rfc3339(_ns(pivot.create_time))}"',
                    lambda v, test=test: test(_ns(v.create_time), _ns(pivot.create_time)),
                ),
            ):
                got = [v.name for v in client.versions(name, filter=term)]
                expect.equal(
                    got, [v.name for v in versions if matches(v)], f"versions matching {term!r}"
                )
        term = "sequence_number >= 2 AND sequence_number < 4"
        got = [v.sequence_number for v in client.versions(name, filter=term)]
        expect.equal(got, [3, 2], f"versions matching {term!r}")


@CASES.case(CORE, "versions.time-travel-by-create-time", "DAT-045")
def time_travel(ctx: CaseContext) -> None:
    """The first version of `create_time <= "T"` in the default order is the head at T."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        written = [client.write(name, rows(1, i), OVERWRITE) for i in range(3)]
        times = [_ns(v.create_time) for v in written]
        probes = [(times[0] - 1, None)]
        for i, moment in enumerate(times):
            probes.append((moment, written[i].name))
            following = times[i + 1] if i + 1 < len(times) else moment + 10**9
            probes.append(((moment + following) // 2, written[i].name))
        for moment, wanted in probes:
            found = client.versions(name, filter=f'create_time <= "{_rfc3339(moment)}"')
            expect.equal(found[0].name if found else None, wanted, f"head at {_rfc3339(moment)}")


# --- tags ---------------------------------------------------------------------------------------


@CASES.case(CORE, "tags.set-creates-and-moves", "DAT-046", "DAT-004")
def set_tag(ctx: CaseContext) -> None:
    """SetTag creates a tag (empty previous_version), moves it (previous_version, new etag
    and update_time) and updates DatasetVersion.tags; a tag name resolves as the version."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(1))
        second = client.write(name, rows(2))
        tag = f"{name}/tags/prod"
        created = client.call("SetTag", pb.SetTagRequest(name=tag, version=first.name))
        expect.equal(
            (created.tag.name, created.tag.version, created.previous_version),
            (tag, first.name, ""),
            "(name, version, previous_version) of a new tag",
        )
        expect.holds(bool(created.tag.etag), "an etag", "empty")
        expect.equal(list(client.version(first.name).tags), ["prod"], "tags of the target")
        moved = client.call("SetTag", pb.SetTagRequest(name=tag, version=second.name))
        expect.equal(
            (moved.tag.version, moved.previous_version), (second.name, first.name), "the move"
        )
        expect.holds(
            moved.tag.etag != created.tag.etag, "a new etag after the move", moved.tag.etag
        )
        expect.holds(
            _ns(moved.tag.update_time) > _ns(created.tag.update_time)
            and moved.tag.create_time == created.tag.create_time,
            "a later update_time and the same create_time",
            f"{moved.tag.create_time} / {moved.tag.update_time}",
        )
        expect.equal(
            (list(client.version(first.name).tags), list(client.version(second.name).tags)),
            ([], ["prod"]),
            "tags of the former and the new target",
        )
        via_tag = client.call("SetTag", pb.SetTagRequest(name=f"{name}/tags/copy", version=tag))
        expect.equal(via_tag.tag.version, second.name, "a tag set through another tag's name")


@CASES.case(CORE, "tags.set-rejects-another-datasets-version", "DAT-047", "DAT-002")
def set_tag_other_dataset(ctx: CaseContext) -> None:
    """SetTag to a version of another dataset is INVALID_FIELD on version."""
    client = DatasetClient(ctx)
    with client.scratches(2) as (name, other):
        foreign = client.write(other, rows(1))
        client.write(name, rows(1))
        _fails(
            lambda: client.call(
                "SetTag", pb.SetTagRequest(name=f"{name}/tags/prod", version=foreign.name)
            ),
            INVALID,
            "INVALID_FIELD",
            field="version",
        )
        tags = client.call("ListTags", pb.ListTagsRequest(parent=name)).tags
        expect.equal(list(tags), [], "tags after the rejected SetTag")


@CASES.case(CORE, "tags.etag-makes-changes-conditional", "DAT-048", "DAT-002", "GEN-055")
def tag_etag(ctx: CaseContext) -> None:
    """SetTag and DeleteTag with a stale etag, or SetTag with an etag for an absent tag,
    are ABORTED [ETAG_MISMATCH] and change nothing."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(1))
        second = client.write(name, rows(2))
        tag = f"{name}/tags/prod"
        old = client.call("SetTag", pb.SetTagRequest(name=tag, version=first.name)).tag
        current = client.call(
            "SetTag", pb.SetTagRequest(name=tag, version=second.name, etag=old.etag)
        ).tag
        for rpc, request in (
            ("SetTag", pb.SetTagRequest(name=tag, version=first.name, etag=old.etag)),
            ("DeleteTag", pb.DeleteTagRequest(name=tag, etag=old.etag)),
        ):
            _fails(
                lambda rpc=rpc, request=request: client.call(rpc, request), ABORTED, "ETAG_MISMATCH"
            )
        listed = client.call("ListTags", pb.ListTagsRequest(parent=name)).tags
        expect.equal(list(listed), [current], "the tag after the stale calls")
        _fails(
            lambda: client.call(
                "SetTag",
                pb.SetTagRequest(name=f"{name}/tags/absent", version=first.name, etag=old.etag),
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        _fails(
            lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/absent")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        expect.succeeds(
            lambda: client.call("DeleteTag", pb.DeleteTagRequest(name=tag, etag=current.etag)),
            "DeleteTag with the current etag",
        )


@CASES.case(CORE, "tags.set-to-the-same-version-changes-nothing", "DAT-049")
def set_same(ctx: CaseContext) -> None:
    """SetTag to the version the tag already points at succeeds and keeps its etag and
    update_time."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(1))
        tag = f"{name}/tags/prod"
        first = client.call("SetTag", pb.SetTagRequest(name=tag, version=version.name))
        again = client.call("SetTag", pb.SetTagRequest(name=tag, version=version.name))
        expect.equal(
            (again.tag, again.previous_version), (first.tag, version.name), "the tag after a no-op"
        )


@CASES.case(CORE, "tags.delete-removes-only-the-tag", "DAT-050")
def delete_tag(ctx: CaseContext) -> None:
    """DeleteTag returns an empty response; the tag name is then NOT_FOUND and the version it
    pointed at is unchanged apart from its tags."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(2), tags=["prod", "keep"])
        response = client.call("DeleteTag", pb.DeleteTagRequest(name=f"{name}/tags/prod"))
        expect.equal(response, pb.DeleteTagResponse(), "the DeleteTag response")
        _fails(
            lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/prod")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        after = client.version(version.name)
        expect.equal(list(after.tags), ["keep"], "tags of the version")
        del after.tags[:]
        del version.tags[:]
        expect.equal(after, version, "the version apart from its tags")


@CASES.case(CORE, "tags.list-in-id-order", "DAT-051", "DAT-005", "DAT-006")
def list_tags(ctx: CaseContext) -> None:
    """ListTags returns tags in ascending id order with their canonical versions, also
    page by page."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(1), tags=["zeta", "a-1"])
        second = client.write(name, rows(1), tags=["mid", "a"])
        client.call("SetTag", pb.SetTagRequest(name=f"{name}/tags/b", version=f"{name}/tags/zeta"))
        wanted = [
            ("a", second.name),
            ("a-1", first.name),
            ("b", first.name),
            ("mid", second.name),
            ("zeta", first.name),
        ]
        for size in (0, 1, 2):
            walked = client.walk("ListTags", pb.ListTagsRequest(parent=name, page_size=size))
            expect.equal(
                [(t.name.removeprefix(f"{name}/tags/"), t.version) for t in walked],
                wanted,
                f"tags with page_size {size}",
            )


# --- reading ----------------------------------------------------------------------------------


@CASES.case(CORE, "read.projection-in-requested-order", "DAT-054", "DAT-052")
def projection(ctx: CaseContext) -> None:
    """The header schema and batches form one Arrow IPC stream with the requested columns in
    the requested order and the version's types; no columns means all in schema order."""
    client = DatasetClient(ctx)
    table = pa.table(
        {
            "a": pa.array([1, 2, 3], pa.int64()),
            "b": pa.array(["x", None, "z"]),
            "c": pa.array([[1.5], None, []], pa.list_(pa.float64())),
            "d": pa.array(["p", "q", "p"]).dictionary_encode(),
        }
    )
    with client.scratch() as name:
        version = client.write(name, table)
        for columns in (["c", "a"], ["d"], ["b", "d", "a", "c"], []):
            responses = client.read(version.name, columns=columns, batch_rows=2)
            stream = responses[0].header.arrow_schema + b"".join(
                r.arrow_record_batch for r in responses
            )
            try:
                read = pa.ipc.open_stream(stream + b"\xff\xff\xff\xff\0\0\0\0").read_all()
            except pa.ArrowException as exc:
                raise Failed(
                    "header schema + batches to be one Arrow IPC stream", str(exc)
                ) from None
            wanted = columns or ["a", "b", "c", "d"]
            expect.equal(read.column_names, wanted, f"columns read for {columns}")
            expect.equal(
                [table_digest.canonical_type(f.type) for f in read.schema],
                [table_digest.canonical_type(table.schema.field(c).type) for c in wanted],
                f"types read for {columns}",
            )
            expect.holds(
                not any(pa.types.is_dictionary(f.type) for f in read.schema),
                "no dictionary encoding",
                str(read.schema),
            )
            expect.equal(
                _rows_of(read),
                _rows_of(table.select(wanted).cast(read.schema)),
                f"rows of {columns}",
            )


@CASES.case(CORE, "read.empty-selection-is-one-empty-batch", "DAT-056", "DAT-052")
def empty_selection(ctx: CaseContext) -> None:
    """offset = row_count yields exactly one response: the header, batch_index 0, zero rows."""
    client = DatasetClient(ctx)
    with _fixture(client) as names:
        responses = client.read(names["{v}"], offset=10)
        expect.equal(len(responses), 1, "responses")
        head = responses[0].header
        expect.equal(
            (head.version, head.total_row_count, head.batch_count, responses[0].batch_index),
            (names["{v}"], 0, 1, 0),
            "(version, total_row_count, batch_count, batch_index)",
        )
        expect.holds(head.batch_rows > 0, "batch_rows > 0", str(head.batch_rows))
        expect.equal(table_of(responses).num_rows, 0, "rows")


def _batches(responses: list[pb.ReadVersionResponse]) -> list[list[dict[str, Any]]]:
    """The rows of each batch of a ReadVersion stream."""
    return [batch.to_pylist() for batch in batches_of(responses)]


@CASES.case(CORE, "read.resume-from-a-batch-index", "DAT-057", "DAT-052")
def resume(ctx: CaseContext) -> None:
    """A read repeated with start_batch_index k yields batches k, k+1, … of the first read,
    with the same rows, its first response carrying the same header."""
    client = DatasetClient(ctx)
    table = rows(23)
    with client.scratch() as name:
        version = client.write(name, table)
        for request in ({"batch_rows": 4}, {"batch_rows": 5, "offset": 3, "limit": 17}, {}):
            full = client.read(version.name, **request)
            size = full[0].header.batch_rows
            for start in range(len(full)):
                resumed = client.read(
                    version.name, **{**request, "batch_rows": size}, start_batch_index=start
                )
                expect.equal(resumed[0].header, full[0].header, f"header resumed at {start}")
                expect.equal(
                    [(r.batch_index, r.row_offset) for r in resumed],
                    [(r.batch_index, r.row_offset) for r in full[start:]],
                    f"(batch_index, row_offset) resumed at {start}",
                )
                expect.equal(_batches(resumed), _batches(full)[start:], f"rows resumed at {start}")


@CASES.case(CORE, "read.server-chosen-batch-rows-is-stable", "DAT-058")
def chosen_batch_rows(ctx: CaseContext) -> None:
    """With batch_rows 0 the server chooses B from the version and the projection only:
    identical requests, and requests differing in offset or limit, get the same B."""
    client = DatasetClient(ctx)
    table = pa.table(
        {
            "a": pa.array(range(10), pa.int64()),
            "b": pa.array(["x" * 20000] * 5 + ["y"] * 5),
        }
    )
    with client.scratch() as name:
        version = client.write(name, table)
        for columns in (["a", "b"], ["a"]):
            chosen = {
                what: client.read(version.name, columns=columns, **request)[0].header.batch_rows
                for what, request in (
                    ("everything", {}),
                    ("everything again", {}),
                    ("offset 5", {"offset": 5}),
                    ("limit 5", {"limit": 5}),
                    ("offset 2 limit 3", {"offset": 2, "limit": 3}),
                )
            }
            expect.equal(
                set(chosen.values()),
                {chosen["everything"]},
                f"B chosen for columns {columns}: {chosen}",
            )
        given = client.read(version.name, batch_rows=3)
        expect.equal(given[0].header.batch_rows, 3, "B when batch_rows is 3")


@CASES.case(CORE, "read.tag-resolves-once-per-stream", "DAT-060", "DAT-004")
def read_tag(ctx: CaseContext) -> None:
    """ReadVersion of a tag reads the version it points at when the request arrives, reports
    its canonical name, and keeps reading it when the tag moves mid-stream."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        first = client.write(name, rows(6), tags=["prod"])
        second = client.write(name, rows(6, 100))
        stream = client.stub.ReadVersion(
            pb.ReadVersionRequest(name=f"{name}/tags/prod", batch_rows=1),
            metadata=ctx.metadata,
            timeout=ctx.timeout,
        )
        responses = expect.succeeds(lambda: list(itertools.islice(stream, 1)), "ReadVersion")
        client.call("SetTag", pb.SetTagRequest(name=f"{name}/tags/prod", version=second.name))
        responses += expect.succeeds(lambda: list(stream), "the rest of the ReadVersion stream")
        expect.equal(responses[0].header.version, first.name, "header.version")
        expect.equal(_rows_of(table_of(responses)), _rows_of(rows(6)), "rows read through the tag")
        moved = client.read(f"{name}/tags/prod")
        expect.equal(moved[0].header.version, second.name, "header.version after the move")

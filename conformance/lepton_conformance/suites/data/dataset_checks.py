"""Checks, fixtures and constants the data-core cases share (spec/data.md §3, §4, §7, §8.1-8.5).

Every case works in scratch datasets of its own (ids `conf-<random>`), deleted with force at
the end, so runs repeat against the same server. Error tables live in vectors/data.yaml; the
Arrow data the cases write in arrow_samples.py; content digests are recomputed by the
independent encoder of table_digest.py."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness import expect, vectors
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import (
    DatasetClient,
    data,
    ipc_stream,
    table_of,
    unique_id,
)

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


def check_unchanged(client: DatasetClient, name: str, before: resources.Dataset, what: str) -> None:
    """The dataset's head and version count are what they were before `what` (DAT-026)."""
    after = client.dataset(name)
    expect.equal(
        (after.head_version, after.version_count),
        (before.head_version, before.version_count),
        f"(head_version, version_count) after {what}",
    )
    listed = [v.name for v in client.versions(name)]
    expect.equal(len(listed), before.version_count, f"versions listed after {what}")


def digest_hex(version: resources.DatasetVersion) -> str:
    expect.equal(
        digest_pb2.DigestAlgorithm.Name(version.content_digest.algorithm),
        "DIGEST_ALGORITHM_SHA256",
        f"content_digest.algorithm of {version.name}",
    )
    return version.content_digest.hex


def lineage_fields(version: resources.DatasetVersion, last: str) -> tuple[str, str, list[str], Any]:
    """(origin, source, input_versions, `last`) of the version's lineage, to compare at once."""
    lineage = version.lineage
    return (
        resources.VersionOrigin.Name(lineage.origin),
        lineage.source,
        list(lineage.input_versions),
        getattr(lineage, last),
    )


def nanos_of(stamp: Timestamp) -> int:
    return stamp.seconds * 1_000_000_000 + stamp.nanos


def rfc3339(nanos: int, offset_minutes: int = 0) -> str:
    """An RFC 3339 time with all nine fractional digits, in UTC (`Z`) or at a positive
    offset from it (the same instant, GEN-046)."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    zone = timezone(timedelta(minutes=offset_minutes))
    moment = datetime.fromtimestamp(seconds, tz=zone)
    suffix = f"+{offset_minutes // 60:02d}:{offset_minutes % 60:02d}" if offset_minutes else "Z"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}{suffix}"


def quoted(text: str) -> str:
    """`text` as a filter string literal: a backslash before each backslash and double quote,
    the only escapes GEN-046 defines."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(item: Message, path: str) -> Any:
    value = getattr(item, path)
    return nanos_of(value) if isinstance(value, Timestamp) else value


def expected_order(items: list[Message], order_by: str, tie_breaker: str) -> list[str]:
    """Names of `items` in the order `order_by` (GEN-057) and the tie-breaker give, computed
    from the values the server reported."""
    keys = [item.strip().split(" ") for item in order_by.split(",")]
    ordered = list(items)
    for path, descending in [(tie_breaker, False), *[(k[0], k[-1] == "desc") for k in keys][::-1]]:
        ordered.sort(key=lambda item, path=path: _value(item, path), reverse=descending)
    return [item.name for item in ordered]


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


@contextlib.contextmanager
def fixture(client: DatasetClient) -> Iterator[dict[str, str]]:
    """A scratch dataset with one version of rows(10); the placeholders of vectors/data.yaml."""
    with client.scratch() as name:
        version = client.write(name, rows(10))
        yield {
            "{d}": name.removeprefix("datasets/"),
            "{v}": version.name,
            "{missing}": unique_id("conf-missing"),
            "name": name,
        }


def table_request(rpc: str, fields: dict[str, Any], names: dict[str, str]) -> Message:
    message = pb.WriteVersionHeader() if rpc == "WriteVersion" else getattr(pb, f"{rpc}Request")()
    return json_format.ParseDict(vectors.filled(fields, names), message)


def send_request(client: DatasetClient, rpc: str, request: Message) -> Any:
    if rpc == "WriteVersion":
        return client.stream([pb.WriteVersionRequest(header=request), *data([ipc_stream(rows(1))])])
    return client.call(rpc, request)


def row_title(row_id: str) -> str:
    return row_id.replace("-", " ")


def check_selection(
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
        expect.equal(rows_of(got), rows_of(wanted), f"rows of batch {response.batch_index}")
        position += wanted.num_rows
    expect.equal(decoded.num_rows, position, "rows in the stream")


@contextlib.contextmanager
def labelled_datasets(client: DatasetClient, count: int) -> Iterator[tuple[str, list[str]]]:
    """`count` datasets sharing a unique label run=<id>, in ascending name order, and the
    id."""
    run = unique_id("run")
    with client.scratches(count, labels={"run": run}) as names:
        yield run, names


def run_filter(run: str) -> str:
    """The filter that selects exactly the datasets of labelled_datasets."""
    return f'labels.run = "{run}"'

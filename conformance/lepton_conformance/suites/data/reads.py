"""data-core cases of ReadVersion: projection, empty selections, resuming, batch rows and tags
(spec/data.md §8.5)."""

from __future__ import annotations

import itertools
from typing import Any

import pyarrow as pa

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import table_digest
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import fixture, rows_of
from lepton_conformance.suites.data.dataset_client import (
    DatasetClient,
    batches_of,
    table_of,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


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
                rows_of(read),
                rows_of(table.select(wanted).cast(read.schema)),
                f"rows of {columns}",
            )


@CASES.case(CORE, "read.empty-selection-is-one-empty-batch", "DAT-056", "DAT-052")
def empty_selection(ctx: CaseContext) -> None:
    """offset = row_count yields exactly one response: the header, batch_index 0, zero rows."""
    client = DatasetClient(ctx)
    with fixture(client) as names:
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
        expect.equal(rows_of(table_of(responses)), rows_of(rows(6)), "rows read through the tag")
        moved = client.read(f"{name}/tags/prod")
        expect.equal(moved[0].header.version, second.name, "header.version after the move")

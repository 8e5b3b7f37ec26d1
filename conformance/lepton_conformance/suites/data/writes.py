"""data-core cases of WriteVersion streams: the header, failed and cancelled streams,
sequencing, append, overwrite, expected parents and concurrency (spec/data.md §8.1)."""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import NamedTuple

import grpc
import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows, unsupported_table
from lepton_conformance.suites.data.dataset_checks import (
    ABORTED,
    ID,
    INVALID,
    NOT_FOUND,
    SHA256,
    check_unchanged,
    fixture,
    rows_of,
)
from lepton_conformance.suites.data.dataset_client import (
    APPEND,
    OVERWRITE,
    DatasetClient,
    data,
    header,
    ipc_stream,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- writing ----------------------------------------------------------------------------------


@CASES.case(CORE, "write.header-comes-first-and-once", "DAT-021", "DAT-002")
def header_first(ctx: CaseContext) -> None:
    """A stream without a first header, with a second header, or with no message at all is
    INVALID_FIELD on header and commits nothing."""
    client = DatasetClient(ctx)
    with fixture(client) as names:
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
            expect.rejects(
                lambda messages=messages: client.stream(messages),
                INVALID,
                "INVALID_FIELD",
                field="header",
            )
            check_unchanged(client, name, before, what)


class BlockedWrite(NamedTuple):
    """A WriteVersion call that sends its messages and then waits, neither ending nor sending
    more, until `release` is set. `settled` is set once gRPC has sent every message (it takes
    the next one from the request iterator only after it sent the last) or the call ended."""

    call: grpc.Future
    release: threading.Event
    settled: threading.Event


def _blocked_write(
    client: DatasetClient, messages: list[pb.WriteVersionRequest], timeout: float
) -> BlockedWrite:
    release, settled = threading.Event(), threading.Event()

    def requests() -> Iterator[pb.WriteVersionRequest]:
        yield from messages
        settled.set()
        release.wait(timeout + 5)

    call = client.stub.WriteVersion.future(
        requests(), metadata=client.ctx.metadata, timeout=timeout
    )
    call.add_done_callback(lambda _: settled.set())
    return BlockedWrite(call, release, settled)


def _delivered(client: DatasetClient, name: str, write: BlockedWrite, timeout: float) -> bool:
    """Whether the target has received every message of `write` while the call is still
    open: gRPC has sent them all, and a call the target answered afterwards on the same
    channel arrived behind them."""
    if not write.settled.wait(timeout) or write.call.done():
        return False
    client.dataset(name)
    return not write.call.done()


def _check_nothing_committed(
    client: DatasetClient, name: str, before: resources.Dataset, what: str
) -> None:
    """`what` committed nothing, neither by now nor later: the dataset is as it was, and the
    next commit, serialized with anything the target would still commit for `what`
    (DAT-031), takes the head as it was as its parent and the next sequence number."""
    check_unchanged(client, name, before, what)
    later = client.write(name, rows(1, 90), APPEND)
    expect.equal(
        (later.parent_version, later.sequence_number),
        (before.head_version, before.version_count + 1),
        f"(parent_version, sequence_number) of the first commit after {what}",
    )
    expect.equal(
        len(client.versions(name)),
        before.version_count + 1,
        f"versions after {what} and one commit",
    )


def _not_delivered(what: str) -> Skipped:
    return Skipped(
        f"the target had not received the whole {what} before it ended: what a commit would "
        "have held never reached it",
        needs="a target that reads the messages of a WriteVersion stream as they come",
    )


@CASES.case(CORE, "write.cancelled-stream-commits-nothing", "DAT-026")
def cancelled_stream(ctx: CaseContext) -> None:
    """A stream that carried a whole valid table and was cancelled by the client before it
    half-closed commits nothing, and no tag moves."""
    client = DatasetClient(ctx)
    with fixture(client) as names:
        name = names["name"]
        before = client.dataset(name)
        messages = [header(name, APPEND, tags=["cancelled"]), *data([ipc_stream(rows(3, 50))])]
        write = _blocked_write(client, messages, ctx.timeout)
        try:
            delivered = _delivered(client, name, write, ctx.timeout)
            write.call.cancel()
        finally:
            write.release.set()
        with contextlib.suppress(grpc.FutureCancelledError, grpc.RpcError):
            write.call.result()
        _check_nothing_committed(client, name, before, "the cancelled stream")
        expect.rejects(
            lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/cancelled")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        if not delivered:
            raise _not_delivered("cancelled stream")


@CASES.case(CORE, "write.refused-before-the-stream-ends", "DAT-140")
def refused_early(ctx: CaseContext) -> None:
    """A stream whose schema message holds a type outside §4.1 is answered INVALID_ARGUMENT
    [UNSUPPORTED_ARROW_TYPE] while the client still holds it open, and commits nothing."""
    client = DatasetClient(ctx)
    with fixture(client) as names:
        name = names["name"]
        before = client.dataset(name)
        schema = unsupported_table("month-day-nano-interval").schema
        messages = [header(name, APPEND), *data([schema.serialize().to_pybytes()])]
        write = _blocked_write(client, messages, ctx.timeout * 3)
        try:
            try:
                write.call.exception(timeout=ctx.timeout)
                answered = True
            except grpc.FutureTimeoutError:
                answered = False
            expect.holds(
                answered,
                "an answer while the stream is still open",
                f"none within {ctx.timeout:g} s: the target waits for the client to end it",
            )
            expect.rejects(write.call.result, INVALID, "UNSUPPORTED_ARROW_TYPE")
        finally:
            write.release.set()
        check_unchanged(client, name, before, "the refused stream")


# Deadlines, in seconds, a stream that must expire gets in turn, until the target has received
# the whole stream before the deadline.
EXPIRING_DEADLINES_S = (0.4, 2.0, 10.0)


@CASES.case(CORE, "write.expired-stream-commits-nothing", "DAT-026")
def expired_stream(ctx: CaseContext) -> None:
    """A stream whose deadline expires before it half-closes commits nothing."""
    client = DatasetClient(ctx)
    with fixture(client) as names:
        name = names["name"]
        for deadline in EXPIRING_DEADLINES_S:
            before = client.dataset(name)
            messages = [header(name, APPEND), *data([ipc_stream(rows(3, 50))])]
            write = _blocked_write(client, messages, timeout=deadline)
            try:
                delivered = _delivered(client, name, write, ctx.timeout)
                error = write.call.exception(timeout=ctx.timeout + deadline)
            finally:
                write.release.set()
            expect.holds(
                isinstance(error, grpc.RpcError)
                and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
                "DEADLINE_EXCEEDED",
                expect.describe(error) if isinstance(error, grpc.RpcError) else "OK",
            )
            _check_nothing_committed(client, name, before, "the expired stream")
            if delivered:
                return
        raise _not_delivered("expiring stream")


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
            check_unchanged(client, name, before, what)
            expect.equal(
                client.version(f"{name}/tags/stable").name, first.name, f"tag stable after {what}"
            )
            expect.rejects(
                lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/new")),
                NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
        expect.equal(rows_of(client.read_table(before.head_version)), rows_of(rows(3)), "head rows")


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
        expect.equal(rows_of(client.read_table(first.name)), rows_of(rows(3)), "rows of v1")
        expect.equal([f.nullable for f in first.schema.fields], [False, True], "nullable of v1")
        second = client.write(name, rows(2, 3), APPEND)
        third = client.write(name, rows(1, 5).cast(strict), APPEND)
        expect.equal(
            rows_of(client.read_table(second.name)), rows_of(rows(5)), "rows of the 1st APPEND"
        )
        expect.equal(
            rows_of(client.read_table(third.name)), rows_of(rows(6)), "rows of the 2nd APPEND"
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
            expect.rejects(
                lambda table=table: client.stream(
                    [header(name, APPEND), *data([ipc_stream(table)])]
                ),
                INVALID,
                "SCHEMA_MISMATCH",
                field="arrow_data",
            )
            check_unchanged(client, name, before, what)


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
        expect.equal(rows_of(client.read_table(version.name)), rows_of(other), "rows")


@CASES.case(CORE, "write.expected-parent-version", "DAT-030", "DAT-002")
def expected_parent(ctx: CaseContext) -> None:
    """expected_parent_version makes a commit conditional on the head ("" = no version yet);
    a mismatch is ABORTED [PARENT_VERSION_MISMATCH] with metadata head_version."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        missing = f"{name}/versions/no-such-version"
        expect.rejects(
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
            expect.rejects(
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
            check_unchanged(client, name, before, f"expected_parent_version {expected!r}")
        second = client.write(name, rows(1, 1), APPEND, expected_parent_version=first.name)
        expect.equal(second.parent_version, first.name, "parent of the conditional commit")
        before = client.dataset(name)
        expect.rejects(
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
        check_unchanged(client, name, before, "a stale expected_parent_version")


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

"""data-core cases of what a write commits: the Arrow data digest, zero rows, tags, request-id
replay, the response and lineage, message sizes and dictionary columns (spec/data.md §8.1)."""

from __future__ import annotations

import hashlib
import uuid

import grpc
import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import table_digest
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import (
    SHA256,
    check_unchanged,
    digest_hex,
    lineage_fields,
    rows_of,
)
from lepton_conformance.suites.data.dataset_client import (
    APPEND,
    OVERWRITE,
    DatasetClient,
    data,
    header,
    ipc_stream,
    split,
    table_of,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


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
            expect.rejects(
                lambda sent=sent: client.stream(
                    [header(name, OVERWRITE, arrow_data_digest=right), *data(sent)]
                ),
                grpc.StatusCode.DATA_LOSS,
                "DIGEST_MISMATCH",
            )
            check_unchanged(client, name, before, what)


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
            expect.equal(digest_hex(version), table_digest.content_digest(empty), "content digest")
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
            (appended.row_count, digest_hex(appended), appended.parent_version),
            (4, digest_hex(parent), parent.name),
            "(row_count, content digest, parent) of a zero-row APPEND",
        )
        expect.equal(rows_of(client.read_table(appended.name)), rows_of(rows(4)), "rows")


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
                (again.name, digest_hex(again)),
                (first.name, digest_hex(first)),
                f"retry with {what}",
            )
            check_unchanged(client, name, after, f"the retry with {what}")
        for changed in (
            header(name, APPEND, request_id=request_id, description="two"),
            header(name, OVERWRITE, request_id=request_id, description="one"),
        ):
            expect.rejects(
                lambda changed=changed: client.stream([changed, *data([ipc_stream(rows(3))])]),
                grpc.StatusCode.ALREADY_EXISTS,
                "REQUEST_ID_CONFLICT",
            )
            check_unchanged(client, name, after, "a conflicting request_id")


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
            expect.equal(
                lineage_fields(version, "request_id"),
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
        expect.equal(digest_hex(version), table_digest.content_digest(table), "content digest")


@CASES.case(CORE, "write.oversized-message-is-resource-exhausted", "DAT-037")
def oversized_write(ctx: CaseContext) -> None:
    """A WriteVersion message over the server's limit is RESOURCE_EXHAUSTED and commits
    nothing."""
    limit = ctx.options.message_limit
    if limit is None:
        raise Skipped(
            "the target's message limit is unknown (pass --message-limit BYTES)",
            needs="--message-limit BYTES",
        )
    client = DatasetClient(ctx)
    with client.scratch() as name:
        before = client.dataset(name)
        payload = b"\0" * (limit + 1024)
        expect.fails_with(
            lambda: client.stream([header(name, OVERWRITE), *data([payload])]),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )
        check_unchanged(client, name, before, "the oversized message")


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
        expect.equal(rows_of(stored), rows_of(plain), "rows")
        expect.equal(digest_hex(version), table_digest.content_digest(plain), "content digest")
        expect.equal(digest_hex(version), digest_hex(reference), "digest = that of the plain write")

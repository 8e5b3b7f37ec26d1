"""data-core cases of immutable versions (schema, content digest, get, list, time travel) and
of tags (spec/data.md §4, §8.2-8.4)."""

from __future__ import annotations

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import arrow_samples, table_digest
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import (
    ABORTED,
    INVALID,
    NOT_FOUND,
    digest_hex,
    expected_order,
    nanos_of,
    rfc3339,
    rows_of,
)
from lepton_conformance.suites.data.dataset_client import (
    APPEND,
    OVERWRITE,
    DatasetClient,
    ipc_stream,
    schema_of,
    split,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


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
        expect.equal(rows_of(reread), rows_of(table), "rows of the first version")


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
            expect.equal(digest_hex(version), wanted, f"content digest of {what}")
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
            expect.equal(digest_hex(version), wanted, f"content digest of {what}")
        client.write(other, table.slice(0, 45))
        appended = client.write(other, table.slice(45), APPEND)
        expect.equal(digest_hex(appended), wanted, "content digest after two APPENDs elsewhere")


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
            wanted = expected_order(versions, order_by or "sequence_number desc", "sequence_number")
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
                    f'create_time {op} "{rfc3339(nanos_of(pivot.create_time))}"',
                    lambda v, test=test: test(nanos_of(v.create_time), nanos_of(pivot.create_time)),
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
        times = [nanos_of(v.create_time) for v in written]
        moments = [times[0] - 1]
        for i, moment in enumerate(times):
            following = times[i + 1] if i + 1 < len(times) else moment + 10**9
            moments += [moment, (moment + following) // 2]
        for moment in moments:
            # The head at T is the last commit the server stamped at or before T; commits
            # stamped with the same time (a coarse clock) follow their sequence numbers.
            committed = [v.name for v, t in zip(written, times, strict=True) if t <= moment]
            wanted = committed[-1] if committed else None
            found = client.versions(name, filter=f'create_time <= "{rfc3339(moment)}"')
            expect.equal(found[0].name if found else None, wanted, f"head at {rfc3339(moment)}")


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
            nanos_of(moved.tag.update_time) > nanos_of(created.tag.update_time)
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
        expect.rejects(
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
            expect.rejects(
                lambda rpc=rpc, request=request: client.call(rpc, request), ABORTED, "ETAG_MISMATCH"
            )
        listed = client.call("ListTags", pb.ListTagsRequest(parent=name)).tags
        expect.equal(list(listed), [current], "the tag after the stale calls")
        expect.rejects(
            lambda: client.call(
                "SetTag",
                pb.SetTagRequest(name=f"{name}/tags/absent", version=first.name, etag=old.etag),
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        expect.rejects(
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
        expect.rejects(
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

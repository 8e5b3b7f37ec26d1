"""Mutants of the data layer's datasets, versions, reads, writes and Flight endpoint."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as data_resources
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton_conformance.suites.data import arrow_samples
from lepton_server.data import (
    dataset_catalog,
    flight,
    services,
    version_builder,
    version_reads,
    version_writes,
)
from lepton_server.data import servicer as data_servicer
from lepton_server.runtime import errors
from mutants.case_sets import GOLDEN
from mutants.mutation import Mutant, replace, set_attribute


def _copy(message):
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def _garbage_commits_an_empty_version(write_version):
    async def mutated(self, requests, context):
        first = []

        async def recorded():
            async for message in requests:
                if not first:
                    first.append(message)
                yield message

        try:
            return await write_version(self, recorded(), context)
        except errors.InvalidArgument as error:
            if error.reason != "INVALID_ARROW_DATA":
                raise
            empty = version_writes.Commit(
                mode=data_resources.WRITE_MODE_OVERWRITE,
                lineage=data_resources.Lineage(origin=data_resources.VERSION_ORIGIN_WRITE),
            )
            dataset = self.catalog.dataset_row(first[0].header.parent)
            await self.catalog.commit_table(dataset, pa.table({}), empty)
            raise

    return mutated


def _cancelled_write_commits(_original):
    """The commit is shielded from cancellation: a stream the client cancels, or whose
    deadline expires, commits what it delivered. Its read takes a cancellation for the
    stream's end, as grpc.aio presents one (the compiled front cancels the handler instead)."""

    async def mutated(self, requests, context):
        first = await anext(requests, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise errors.invalid_field("header", "the first message must carry a header")
        session = self.catalog.begin_write(first.header)
        if session.replay is not None:
            return data_pb.WriteVersionResponse(version=session.replay)
        ingest = self.catalog.ingest(session)
        try:
            async for chunk in data_servicer._arrow_data(requests):
                ingest.write(chunk)
        except asyncio.CancelledError:
            pass
        except BaseException:
            ingest.close()
            raise

        async def commit() -> data_pb.WriteVersionResponse:
            try:
                return data_pb.WriteVersionResponse(
                    version=await self.catalog.commit(session, ingest)
                )
            finally:
                ingest.close()

        return await asyncio.shield(asyncio.ensure_future(commit()))

    return mutated


class _BatchesAsSent:
    """A TableDigest that hashes the rows as IPC record batches in the chunks they came in."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self.rows = 0

    def close(self) -> None:
        pass

    def full_leaves(self) -> list[list[bytes]]:
        return []  # nothing to reuse: every APPEND hashes its parent's batches again

    def add(self, rows: pa.Table) -> None:
        self.rows += rows.num_rows
        for batch in rows.to_batches():
            self._sha256.update(batch.serialize())

    def hexdigest(self, schema: pa.Schema) -> str:
        self._sha256.update(schema.serialize())
        return self._sha256.hexdigest()


def _digest_of_the_batches_as_sent() -> None:
    """The content digest becomes the SHA-256 of the rows as record batches: a written
    stream's as they were sent, a table's (an import's, a pipeline output's) as it is
    chunked. It changes with how the rows were split into batches."""
    version_builder.TableDigest = _BatchesAsSent


def _projection_ignored(plan_read):
    def mutated(self, request):
        plan_read(self, request)  # the same validation, then every column
        everything = _copy(request)
        del everything.columns[:]
        return plan_read(self, everything)

    return mutated


def _parent_rows_dropped() -> None:
    """Every new version keeps only its new rows: its rows are built (a stream's, an
    import's, a table's) as if the dataset had no head."""
    build = version_builder.VersionBuilder.__init__

    def headless(self, *args):
        storage, dataset_uid, head, append, written = args
        if head is not None and append:  # the schemas are still checked (§4.4)
            parent = data_resources.DatasetVersion.FromString(head.message)
            version_builder.merged_schema(parent, written)
        build(self, storage, dataset_uid, None, append, written)

    version_builder.VersionBuilder.__init__ = headless


def _header_tags_only_created(record_version):
    def mutated(self, dataset, commit, *rest):
        fresh = tuple(t for t in commit.tags if self.store.tag(dataset.uid, t) is None)
        return record_version(self, dataset, dataclasses.replace(commit, tags=fresh), *rest)

    return mutated


def _tag_name_kept(get_version):
    def mutated(self, reference):
        version = get_version(self, reference)
        if "/tags/" in reference:
            version.name = reference
        return version

    return mutated


def _versions_oldest_first(list_versions):
    def mutated(self, request):
        if not request.order_by:
            request = _copy(request)
            request.order_by = "sequence_number"
        return list_versions(self, request)

    return mutated


def _delete_always_forced(delete_dataset):
    def mutated(self, request):
        forced = _copy(request)
        forced.force = True
        return delete_dataset(self, forced)

    return mutated


def _replays_commit_again(begin_write):
    def mutated(self, header):
        session = begin_write(self, header)
        session.replay = None
        return session

    return mutated


def _update_etag_ignored(update_dataset):
    def mutated(self, request):
        unconditional = _copy(request)
        unconditional.dataset.etag = ""
        return update_dataset(self, unconditional)

    return mutated


def _offset_clamped(plan_read):
    def mutated(self, request):
        row_count = self.get_version(request.name).row_count
        if request.offset > row_count:
            request = _copy(request)
            request.offset = row_count
        return plan_read(self, request)

    return mutated


def _do_get_offset_ignored(rows):
    """DoGet streams as many rows as the ticket selects, but from row 0."""

    def mutated(self, selection):
        table = rows(self, selection)
        if not selection.offset or not table.num_rows:
            return table
        return rows(self, dataclasses.replace(selection, offset=0, limit=table.num_rows))

    return mutated


def _flight_broken_and_unlisted() -> None:
    """DoGet ignores the ticket's offset, and discovery does not list `data.flight`."""
    replace(flight.DatasetFlightServer, "_rows", _do_get_offset_ignored)()

    def unlisted(build):
        def mutated(server, config):
            return [
                dataclasses.replace(s, features=tuple(f for f in s.features if f != "data.flight"))
                for s in build(server, config)
            ]

        return mutated

    replace(services, "build", unlisted)()


Catalog = dataset_catalog.DatasetCatalog
Reads = version_reads.VersionReads
Writes = version_writes.VersionWrites
MUTANTS: dict[str, Mutant] = {
    "garbage-write-commits-a-version": Mutant(
        "DAT-026: a stream whose Arrow data is invalid still commits an empty version",
        replace(data_servicer.DatasetServicer, "WriteVersion", _garbage_commits_an_empty_version),
        frozenset(
            {f"data-core.write-invalid-arrow.{kind}" for kind in arrow_samples.INVALID_STREAMS}
            | {"data-core.write.failed-streams-leave-no-trace"}
        ),
    ),
    "cancelled-write-commits": Mutant(
        "DAT-026: a cancelled or expired stream commits what it received",
        replace(data_servicer.DatasetServicer, "WriteVersion", _cancelled_write_commits),
        frozenset(
            {
                "data-core.write.cancelled-stream-commits-nothing",
                "data-core.write.expired-stream-commits-nothing",
                # It reads the whole stream before it looks at the data.
                "data-core.write.refused-before-the-stream-ends",
            }
        ),
    ),
    "digest-of-the-batches-as-sent": Mutant(
        "DAT-041, DAT-042: the content digest hashes the record batches as sent, not the table",
        _digest_of_the_batches_as_sent,
        frozenset(
            {
                # Rows written in other batches than an import or export reads them in get
                # another digest.
                "data-core.export.part-files-and-max-rows-per-file",
                "data-core.import.arrow-schema-sets-names-order-and-types",
                "data-core.import.compressed-files-by-extension",
                "data-core.import.parquet-round-trip-keeps-types-and-digest",
                "data-core.versions.content-digest-recomputes",
                "data-core.versions.digest-ignores-how-rows-were-written",
                "data-core.write.accepts-4-mib-messages",
                "data-core.write.dictionary-columns-stored-decoded",
                "data-core.write.zero-rows",
            }
        )
        | GOLDEN,
    ),
    "read-ignores-the-projection": Mutant(
        "DAT-054: ReadVersion returns every column whatever `columns` asks for",
        replace(Reads, "plan_read", _projection_ignored),
        frozenset(
            {
                # Flight still projects, so DoGet no longer streams ReadVersion's columns.
                "data-core.flight.do-get-returns-the-read-version-rows",
                "data-core.read.projection-in-requested-order",
            }
        ),
    ),
    "append-drops-the-parent-rows": Mutant(
        "DAT-028: APPEND commits only the written rows",
        _parent_rows_dropped,
        frozenset(
            {
                "data-core.import.commits-one-version-with-lineage",
                "data-core.versions.digest-ignores-how-rows-were-written",
                "data-core.write.append-adds-rows-after-the-parent",
                "data-core.write.concurrent-appends-serialize",
                "data-core.write.zero-rows",
            }
        ),
    ),
    "expected-parent-version-ignored": Mutant(
        "DAT-030: expected_parent_version never aborts a commit",
        set_attribute(version_writes, "_check_expected_parent", lambda *args: None),
        frozenset(
            {
                "data-core.import.expected-parent-version",
                "data-core.write.expected-parent-version",
            }
        ),
    ),
    "header-tags-not-moved": Mutant(
        "DAT-034: header tags that exist stay where they were",
        replace(Writes, "_record_version", _header_tags_only_created),
        frozenset(
            {
                "data-core.import.commits-one-version-with-lineage",
                "data-core.versions.get-by-version-or-tag",
                "data-core.write.header-tags-move-with-the-commit",
                "data-processing.runs.output-version-and-lineage",
            }
        ),
    ),
    "get-version-reports-the-tag-name": Mutant(
        "DAT-043: GetVersion of a tag names the tag instead of the canonical version",
        replace(Catalog, "get_version", _tag_name_kept),
        frozenset(
            {
                "data-core.datasets.delete-needs-force-when-not-empty",
                "data-core.export.version-resolved-at-creation",
                "data-core.versions.get-by-version-or-tag",
                "data-core.write.failed-streams-leave-no-trace",
                "data-core.write.header-tags-move-with-the-commit",
                "data-processing.runs.reuse-an-earlier-output",
            }
        ),
    ),
    "versions-listed-oldest-first": Mutant(
        "DAT-044: ListVersions defaults to ascending sequence numbers",
        replace(Catalog, "list_versions", _versions_oldest_first),
        frozenset(
            {
                "data-core.pagination.token-bound-to-its-request",
                "data-core.versions.list-filters",
                "data-core.versions.list-order-and-pages",
                "data-core.versions.time-travel-by-create-time",
            }
        ),
    ),
    "delete-without-force-deletes-versions": Mutant(
        "DAT-018: DeleteDataset without force deletes a dataset that holds versions",
        replace(Catalog, "delete_dataset", _delete_always_forced),
        frozenset(
            {
                "data-core.datasets.delete-needs-force-when-not-empty",
            }
        ),
    ),
    "write-replay-commits-again": Mutant(
        "DAT-035: a WriteVersion retried with its request_id commits a second version",
        replace(Writes, "begin_write", _replays_commit_again),
        frozenset(
            {
                "data-core.write.request-id-replay",
            }
        ),
    ),
    "update-dataset-ignores-the-etag": Mutant(
        "DAT-016: UpdateDataset with a stale etag updates anyway",
        replace(Catalog, "update_dataset", _update_etag_ignored),
        frozenset(
            {
                "data-core.datasets.etag-makes-changes-conditional",
            }
        ),
    ),
    "read-offset-past-the-end-is-clamped": Mutant(
        "DAT-056: an offset past row_count reads an empty selection instead of OUT_OF_RANGE",
        replace(Reads, "plan_read", _offset_clamped),
        frozenset(
            {
                "data-core.flight.ticket-error.offset-past-the-end",
                "data-core.read-error.offset-past-the-end",
            }
        ),
    ),
    "flight-doget-ignores-the-offset": Mutant(
        "DAT-062: Flight DoGet of a ticket streams its rows from row 0, not from its offset",
        replace(flight.DatasetFlightServer, "_rows", _do_get_offset_ignored),
        frozenset(
            {
                "data-core.flight.do-get-returns-the-read-version-rows",
            }
        ),
    ),
    "flight-broken-and-unlisted": Mutant(
        "DAT-001: data.flight is served but not listed, and its DoGet ignores the offset",
        _flight_broken_and_unlisted,
        frozenset(
            {
                "data-core.discovery.features-are-exactly-the-implemented-ones",
                "data-core.flight.do-get-returns-the-read-version-rows",
            }
        ),
    ),
}

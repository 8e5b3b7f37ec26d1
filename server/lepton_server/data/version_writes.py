"""Writing versions (spec/data.md §4.5, §8.3, DAT-021 to DAT-036): a WriteVersion header checked
before any data is read, the stream taken in as it arrives (version_ingest.py), and the one
commit path through which writes, imports and pipeline runs add a version (and move its tags)
atomically, their rows built by version_builder.py."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_server.aip import resource_names
from lepton_server.data import arrow_types
from lepton_server.data.dataset_resources import (
    DATASET,
    MAX_DESCRIPTION,
    VERSION,
    check_text,
    new_etag,
    not_found,
    now_ns,
    timestamp,
)
from lepton_server.data.metadata_store import DatasetRow, MetadataStore, TagRow, VersionRow
from lepton_server.data.version_builder import Ingested, VersionBuilder
from lepton_server.data.version_ingest import VersionIngest
from lepton_server.data.version_storage import VersionStorage
from lepton_server.runtime.errors import Aborted, DataLoss, invalid_field
from lepton_server.runtime.tracing import span


@dataclass(frozen=True)
class Commit:
    """What one commit adds to a dataset's history, whoever produced the rows."""

    mode: int  # WriteMode
    lineage: resources.Lineage  # origin, source, inputs; the parent is added for APPEND
    tags: tuple[str, ...] = ()
    description: str = ""
    expected_parent: str | None = None  # DAT-030; "" means "no version yet"
    request: tuple[str, str, Any] | None = None  # (method, parent, request) of a request id


@dataclass(frozen=True)
class StoredRows:
    """A version's rows once stored: its segments, row count, size and content digest."""

    segments: list[str]
    row_count: int
    size_bytes: int
    digest: str


@dataclass
class WriteSession:
    """A WriteVersion stream whose header passed validation, or a replayed request id."""

    header: pb.WriteVersionHeader
    dataset: DatasetRow
    replay: resources.DatasetVersion | None = None


class VersionWrites:
    """The write path of DatasetCatalog, which it is mixed into: the store, storage and
    commit locks it uses are the catalog's, as are get_version, replayed,
    remember, _version_message and _off_loop."""

    store: MetadataStore
    storage: VersionStorage
    _commit_locks: weakref.WeakValueDictionary[str, asyncio.Lock]

    def begin_write(self, header: pb.WriteVersionHeader) -> WriteSession:
        """Validate a WriteVersion header before any data is read (DAT-021, DAT-022)."""
        (dataset_id,) = resource_names.parse(header.parent, DATASET, "header.parent")
        if header.mode == resources.WRITE_MODE_UNSPECIFIED:
            raise invalid_field("header.mode", "WRITE_MODE_APPEND or WRITE_MODE_OVERWRITE")
        for i, tag in enumerate(header.tags):
            resource_names.check_id(tag, f"header.tags[{i}]", "tag id")
        check_text(header.description, "header.description", MAX_DESCRIPTION)
        if header.HasField("expected_parent_version") and header.expected_parent_version:
            resource_names.parse(
                header.expected_parent_version, VERSION, "header.expected_parent_version"
            )
        if header.HasField("arrow_data_digest"):
            _check_digest(header.arrow_data_digest, "header.arrow_data_digest")
        row = self.store.dataset(dataset_id)
        if row is None:
            raise not_found(header.parent)
        session = WriteSession(header, row)
        if header.request_id:
            earlier = self.replayed("WriteVersion", header.parent, header)
            if earlier is not None:
                session.replay = self.get_version(earlier)
        return session

    def ingest(self, session: WriteSession) -> VersionIngest:
        """Start taking in the stream's data, against the dataset's head as it is now."""
        header = session.header
        return VersionIngest(
            self.storage,
            session.dataset.uid,
            self.store.head(session.dataset.uid),
            append=header.mode == resources.WRITE_MODE_APPEND,
            hashed=header.HasField("arrow_data_digest"),
        )

    async def builder(self, dataset: DatasetRow, mode: int, written: pa.Schema) -> VersionBuilder:
        """Start building a version's rows of schema `written` against the head as it is now
        (an import's, as its files are read; commit_table's)."""
        head = self.store.head(dataset.uid)
        append = mode == resources.WRITE_MODE_APPEND
        # Off the loop: for APPEND, the builder reads and digests the head's rows.
        uid = dataset.uid
        return await self._off_loop(VersionBuilder, self.storage, uid, head, append, written)

    async def commit(
        self, session: WriteSession, ingest: VersionIngest
    ) -> resources.DatasetVersion:
        """Wait for the stream's data to be taken in, then commit exactly one version
        (DAT-023..DAT-036)."""
        header = session.header
        with span("data.take_in", dataset=session.dataset.id):
            ingested = await self._off_loop(ingest.finish)
        if header.HasField("arrow_data_digest") and (
            ingested.raw_sha256 != header.arrow_data_digest.hex
        ):
            raise DataLoss(
                reason="DIGEST_MISMATCH",
                message="the arrow_data bytes do not hash to header.arrow_data_digest",
            )
        commit = Commit(
            mode=header.mode,
            lineage=resources.Lineage(
                origin=resources.VERSION_ORIGIN_WRITE, request_id=header.request_id
            ),
            tags=tuple(header.tags),
            description=header.description,
            expected_parent=header.expected_parent_version
            if header.HasField("expected_parent_version")
            else None,
            request=("WriteVersion", header.parent, header) if header.request_id else None,
        )
        with span("data.publish", dataset=session.dataset.id):
            return await self.commit_ingested(session.dataset, ingested, commit)

    async def commit_ingested(
        self, dataset: DatasetRow, ingested: Ingested, commit: Commit
    ) -> resources.DatasetVersion:
        """Commit rows a builder took in while they arrived (a write's, an import's) as one
        version: as built, if the head is still the one the builder began with; otherwise
        (an APPEND whose head moved meanwhile) the new rows again on the new head. The
        caller discards the builder's segment afterwards; once published, that is a no-op."""
        async with self._commit_lock(dataset):
            head = self.store.head(dataset.uid)
            _check_expected_parent(commit.expected_parent, dataset.id, head)
            if not ingested.append or _version_id(head) == _version_id(ingested.parent):
                return await self._publish(dataset, commit, head, ingested)
        written = await self._off_loop(_new_rows, ingested)
        return await self.commit_table(dataset, written, commit)

    async def commit_table(
        self, dataset: DatasetRow, written: pa.Table, commit: Commit
    ) -> resources.DatasetVersion:
        """Add one version holding `written` (or the head's rows plus `written`, for APPEND)
        to `dataset`'s history, atomically. Every producer of versions commits through here
        or through commit_ingested: writes, imports, pipeline runs."""
        async with self._commit_lock(dataset):
            head = self.store.head(dataset.uid)
            _check_expected_parent(commit.expected_parent, dataset.id, head)
            builder = await self.builder(dataset, commit.mode, written.schema)
            try:
                ingested = await self._off_loop(_build, builder, written)
                return await self._publish(dataset, commit, head, ingested)
            finally:
                await self._off_loop(builder.discard)

    def _commit_lock(self, dataset: DatasetRow) -> asyncio.Lock:
        lock = self._commit_locks.get(dataset.uid)
        if lock is None:  # no commit to the dataset holds one
            lock = self._commit_locks[dataset.uid] = asyncio.Lock()
        return lock

    async def _publish(
        self, dataset: DatasetRow, commit: Commit, head: VersionRow | None, ingested: Ingested
    ) -> resources.DatasetVersion:
        """Make the built segment durable and record the version (under the commit lock)."""
        # The rows were built on `ingested.parent` (for APPEND), which is the head by now.
        segments = list(ingested.parent.segments) if ingested.parent is not None else []
        if ingested.writer is not None:
            segment = await self._off_loop(ingested.writer.commit)
            segments.append(segment)
            await self._off_loop(self.storage.write_leaves, dataset.uid, segment, ingested.leaves)
        size = await self._off_loop(self.storage.size_bytes, dataset.uid, segments)
        stored = StoredRows(segments, ingested.rows, size, ingested.digest)
        return self._record_version(dataset, commit, head, ingested.schema, stored)

    def _record_version(
        self,
        dataset: DatasetRow,
        commit: Commit,
        head: VersionRow | None,
        schema: pa.Schema,
        stored: StoredRows,
    ) -> resources.DatasetVersion:
        sequence = head.sequence + 1 if head else 1
        version_id = f"v{sequence}"
        name = f"datasets/{dataset.id}/versions/{version_id}"
        parent_name = f"datasets/{dataset.id}/versions/{head.id}" if head else ""
        append = commit.mode == resources.WRITE_MODE_APPEND and head is not None
        lineage = resources.Lineage()
        lineage.CopyFrom(commit.lineage)
        if append:
            lineage.input_versions.insert(0, parent_name)
        now = now_ns()
        version = resources.DatasetVersion(
            name=name,
            sequence_number=sequence,
            parent_version=parent_name,
            write_mode=commit.mode,
            schema=schema_message(schema),
            row_count=stored.row_count,
            size_bytes=stored.size_bytes,
            content_digest=digest_pb2.Digest(
                algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=stored.digest
            ),
            create_time=timestamp(now),
            description=commit.description,
            lineage=lineage,
        )
        with self.store.transaction():
            still = self.store.dataset(dataset.id)
            if still is None or still.uid != dataset.uid:
                raise not_found(f"datasets/{dataset.id}")  # deleted while the rows were stored
            self.store.insert_version(
                VersionRow(
                    dataset.uid,
                    version_id,
                    sequence,
                    now,
                    version.SerializeToString(),
                    stored.segments,
                )
            )
            for tag in commit.tags:
                self._move_tag(dataset.uid, tag, version_id, now)
            if commit.request is not None:
                self.remember(*commit.request, name)
        return self._version_message(dataset, self.store.version(dataset.uid, version_id))

    def _move_tag(self, dataset_uid: str, tag_id: str, version_id: str, now: int) -> None:
        current = self.store.tag(dataset_uid, tag_id)
        if current is not None and current.version_id == version_id:
            return
        created = current.create_time if current else now
        self.store.put_tag(TagRow(dataset_uid, tag_id, version_id, created, now, new_etag()))


def _check_digest(digest: digest_pb2.Digest, field: str) -> None:
    if digest.algorithm != digest_pb2.DIGEST_ALGORITHM_SHA256:
        raise invalid_field(f"{field}.algorithm", "must be DIGEST_ALGORITHM_SHA256")
    if len(digest.hex) != 64 or any(c not in "0123456789abcdef" for c in digest.hex):
        raise invalid_field(f"{field}.hex", "must be 64 lowercase hexadecimal characters")


def _version_id(row: VersionRow | None) -> str | None:
    return row.id if row is not None else None


def _build(builder: VersionBuilder, written: pa.Table) -> Ingested:
    builder.add(written)
    return builder.finish()


def _new_rows(ingested: Ingested) -> pa.Table:
    if ingested.writer is None:
        return ingested.schema.empty_table()
    return ingested.writer.rows()


def _check_expected_parent(expected: str | None, dataset_id: str, head: VersionRow | None) -> None:
    """DAT-030: a commit that names its parent fails when the head has moved."""
    if expected is None:
        return
    current = f"datasets/{dataset_id}/versions/{head.id}" if head else ""
    if expected != current:
        raise Aborted(
            reason="PARENT_VERSION_MISMATCH",
            message=f"the head is {current or 'empty'}, not {expected or 'empty'}",
            metadata={"head_version": current},
        )


def schema_message(schema: pa.Schema) -> resources.Schema:
    return resources.Schema(
        arrow_schema=schema.serialize().to_pybytes(),
        fields=[
            resources.Field(name=name, type=type_string, nullable=nullable)
            for name, type_string, nullable in arrow_types.field_descriptions(schema)
        ],
    )

"""Writing versions (spec/data.md §4.5, §8.3, DAT-021 to DAT-036): a WriteVersion header checked
before any data is read, the spooled stream parsed and checked, and the one commit path through
which writes, imports and pipeline runs add a version (and move its tags) atomically."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_server.aip import resource_names
from lepton_server.data import arrow_types
from lepton_server.data.arrow_stream import WriteSpool
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
from lepton_server.data.table_digest import content_digest
from lepton_server.data.version_storage import VersionStorage
from lepton_server.runtime.errors import Aborted, DataLoss, invalid_argument, invalid_field


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
    """The write path of DatasetCatalog, which it is mixed into: the store, storage, spool
    directory and commit locks it uses are the catalog's, as are get_version, replayed,
    remember, _version_message and _off_loop."""

    store: MetadataStore
    storage: VersionStorage
    spool_dir: Path
    _commit_locks: dict[str, asyncio.Lock]

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

    def spool(self, header: pb.WriteVersionHeader) -> WriteSpool:
        return WriteSpool(self.spool_dir, hashed=header.HasField("arrow_data_digest"))

    async def commit(self, session: WriteSession, spool: WriteSpool) -> resources.DatasetVersion:
        """Validate the spooled data and commit exactly one version (DAT-023..DAT-036)."""
        header = session.header
        if header.HasField("arrow_data_digest") and (
            spool.hexdigest() != header.arrow_data_digest.hex
        ):
            raise DataLoss(
                reason="DIGEST_MISMATCH",
                message="the arrow_data bytes do not hash to header.arrow_data_digest",
            )
        written = await self._off_loop(_parse_written, spool)
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
        return await self.commit_table(session.dataset, written, commit)

    async def commit_table(
        self, dataset: DatasetRow, written: pa.Table, commit: Commit
    ) -> resources.DatasetVersion:
        """Add one version holding `written` (or the head's rows plus `written`, for APPEND)
        to `dataset`'s history, atomically. Every producer of versions commits through here:
        writes, imports, pipeline runs."""
        lock = self._commit_locks.setdefault(dataset.uid, asyncio.Lock())
        async with lock:
            head = self.store.head(dataset.uid)
            _check_expected_parent(commit.expected_parent, dataset.id, head)
            append = commit.mode == resources.WRITE_MODE_APPEND and head is not None
            parent = resources.DatasetVersion.FromString(head.message) if head else None
            schema = _merged_schema(parent, written.schema) if append else written.schema
            segments = list(head.segments) if append else []
            stored = await self._store_rows(dataset.uid, segments, schema, written)
            return self._record_version(dataset, commit, head, schema, stored)

    async def _store_rows(
        self, dataset_uid: str, segments: list[str], schema: pa.Schema, written: pa.Table
    ) -> StoredRows:
        """Write the new rows as a segment and digest the version's rows, side by side off the
        loop: hashing and writing both release the GIL, so a write costs the longer of the two."""
        rows = written.cast(schema)
        if segments:  # the parent's rows: memory-mapped locally, fetched from a remote store
            earlier = await self._off_loop(self.storage.read, dataset_uid, segments, schema)
            version_rows = pa.concat_tables([earlier, rows])
        else:
            version_rows = rows
        digesting = self._off_loop(content_digest, version_rows)
        if rows.num_rows:
            written_segment = self._off_loop(self.storage.write_segment, dataset_uid, rows)
            segment, digest = await asyncio.gather(written_segment, digesting)
            segments = [*segments, segment]
        else:
            digest = await digesting
        size = await self._off_loop(self.storage.size_bytes, dataset_uid, segments)
        return StoredRows(segments, version_rows.num_rows, size, digest)

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


def _parse_written(spool: WriteSpool) -> pa.Table:
    """The spooled stream as a table of supported, dictionary-decoded columns."""
    table = spool.table()
    try:
        # Reading checks the messages, not that each batch's buffers fit the schema (DAT-023).
        table.validate(full=True)
    except pa.ArrowException as exc:
        raise invalid_argument(
            "INVALID_ARROW_DATA", "arrow_data", f"a record batch does not match the schema: {exc}"
        ) from None
    check_storable(
        table.schema,
        "arrow_data",
        extension_note=", which is not one of the supported types of spec/data.md §4.1",
    )
    return arrow_types.decode_dictionaries(table)


def check_storable(schema: pa.Schema, field: str, *, extension_note: str = "") -> None:
    """DAT-024: a schema a version may have, its errors on `field`: UNSUPPORTED_ARROW_TYPE for
    a type outside §4.1 or an Arrow extension type (its message ends with `extension_note`),
    INVALID_ARROW_DATA for empty or repeated column names. A write's data and an import's
    arrow_schema are checked here alike."""
    try:
        arrow_types.check_supported(schema)
    except arrow_types.UnsupportedArrowType as exc:
        raise invalid_argument(
            "UNSUPPORTED_ARROW_TYPE", field, str(exc), column=exc.column
        ) from None
    except arrow_types.InvalidColumnNames as exc:
        raise invalid_argument("INVALID_ARROW_DATA", field, str(exc)) from None
    extension = next((f.name for f in schema if holds_extension(f)), None)
    if extension is not None:
        raise invalid_argument(
            "UNSUPPORTED_ARROW_TYPE",
            field,
            f"column {extension!r} holds an Arrow extension type{extension_note}",
            column=extension,
        )


def holds_extension(field: pa.Field) -> bool:
    """Whether `field` or a child is an extension type pyarrow does not know: it reads as its
    storage type, marked by the ARROW:extension:name field metadata (DAT-024)."""
    if field.metadata and b"ARROW:extension:name" in field.metadata:
        return True
    return any(holds_extension(field.type.field(i)) for i in range(field.type.num_fields))


def _merged_schema(parent: resources.DatasetVersion, written: pa.Schema) -> pa.Schema:
    """§4.4: same names, order and canonical types; nullable if either side is; the
    parent's metadata kept. Otherwise SCHEMA_MISMATCH."""
    schema = pa.ipc.read_schema(pa.py_buffer(parent.schema.arrow_schema))
    if len(schema) != len(written):
        raise invalid_argument(
            "SCHEMA_MISMATCH",
            "arrow_data",
            f"the parent has {len(schema)} columns, the data {len(written)}",
        )
    fields = []
    for theirs, ours in zip(schema, written, strict=True):
        same_type = arrow_types.canonical_type(theirs.type) == arrow_types.canonical_type(ours.type)
        if theirs.name != ours.name or not same_type:
            raise invalid_argument(
                "SCHEMA_MISMATCH",
                "arrow_data",
                f"column {ours.name!r}: {arrow_types.canonical_type(ours.type)}, the parent "
                f"has {theirs.name!r}: {arrow_types.canonical_type(theirs.type)}",
            )
        fields.append(theirs.with_nullable(theirs.nullable or ours.nullable))
    return pa.schema(fields, metadata=schema.metadata)


def schema_message(schema: pa.Schema) -> resources.Schema:
    return resources.Schema(
        arrow_schema=schema.serialize().to_pybytes(),
        fields=[
            resources.Field(name=name, type=type_string, nullable=nullable)
            for name, type_string, nullable in arrow_types.field_descriptions(schema)
        ],
    )

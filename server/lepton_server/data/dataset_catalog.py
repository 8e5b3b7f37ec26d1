"""The dataset domain (spec/data.md §3, §8.1-8.5): datasets, immutable versions with a
linear history, tags, and reads. It knows nothing of gRPC: requests and resources are the
contract's messages, failures are LeptonError with the reasons the spec names."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from google.protobuf.timestamp_pb2 import Timestamp

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.filtering.fields import FieldType, FilterField
from lepton_server.aip.labels import check_labels
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.data import arrow_types
from lepton_server.data.arrow_stream import Batch, WriteSpool, batches, choose_batch_rows
from lepton_server.data.metadata_store import DatasetRow, MetadataStore, TagRow, VersionRow
from lepton_server.data.table_digest import content_digest
from lepton_server.data.version_storage import VersionStorage
from lepton_server.runtime.errors import (
    Aborted,
    AlreadyExists,
    DataLoss,
    FailedPrecondition,
    NotFound,
    OutOfRange,
    ResourceExhausted,
    invalid_argument,
    invalid_field,
)

DATASET = ("datasets",)
VERSION = ("datasets", "versions")
TAG = ("datasets", "tags")
MAX_DISPLAY_NAME = 256
MAX_DESCRIPTION = 16384
REQUEST_ID_WINDOW_NS = 24 * 3600 * 10**9
MUTABLE_DATASET_FIELDS = ("display_name", "description", "labels")

DATASET_FILTER = [
    FilterField("labels", FieldType.LABEL, frozenset({"=", "!="})),
    FilterField("display_name", FieldType.STRING, frozenset({"=", "!="})),
    FilterField("create_time", FieldType.TIMESTAMP, frozenset({"=", "!=", "<", "<=", ">", ">="})),
]
VERSION_FILTER = [
    FilterField("create_time", FieldType.TIMESTAMP, frozenset({"=", "!=", "<", "<=", ">", ">="})),
    FilterField("sequence_number", FieldType.INTEGER, frozenset({"=", "!=", "<", "<=", ">", ">="})),
]
DATASETS = Listing(DATASET_FILTER, ("name", "create_time", "update_time"), "name", "name")
VERSIONS = Listing(
    VERSION_FILTER,
    ("sequence_number", "create_time"),
    "sequence_number desc",
    "sequence_number",
)
# Tags have neither filter nor order_by: ascending tag id, which is the name's order.
TAGS = Listing((), ("name",), "name", "name", default_page_size=100)


def _now() -> int:
    return time.time_ns()


def _timestamp(ns: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(ns)
    return stamp


def _etag() -> str:
    return uuid.uuid4().hex[:16]


def _fingerprint(message: Any) -> str:
    """A request's identity for request_id replays, with the request_id itself left out."""
    copy = type(message)()
    copy.CopyFrom(message)
    copy.ClearField("request_id")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


@dataclass(frozen=True)
class ReadPlan:
    """A validated ReadVersion: the header to send first and the batches to follow."""

    header: pb.ReadVersionHeader
    batches: Callable[[], Any]


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


class DatasetCatalog:
    """Datasets and their versions, stored in SQLite and version segments on disk."""

    def __init__(
        self,
        store: MetadataStore,
        storage: VersionStorage,
        spool_dir: Path,
        *,
        max_message_bytes: int,
        executor: Any = None,
    ) -> None:
        self.store = store
        self.storage = storage
        self.spool_dir = spool_dir
        self.max_message_bytes = max_message_bytes
        self.tokens = PageTokens()
        # Whether a running job holds the dataset (DAT-019); set by whoever runs the jobs.
        self.in_use: Callable[[str], bool] = lambda _name: False
        # Called with a dataset's name after it is deleted, to drop its jobs (DAT-020).
        self.on_delete: Callable[[str], None] = lambda _name: None
        self._executor = executor
        self._commit_locks: dict[str, asyncio.Lock] = {}

    def collect_garbage(self) -> int:
        """Remove segments no committed version refers to (after a crash, say)."""
        return self.storage.collect_garbage(self.store.dataset_uids(), self.store.all_segments())

    # --- datasets -------------------------------------------------------------------------

    def dataset_row(self, name: str, field: str = "name") -> DatasetRow:
        (dataset_id,) = resource_names.parse(name, DATASET, field)
        row = self.store.dataset(dataset_id)
        if row is None:
            raise _not_found(name)
        return row

    def _dataset_message(self, row: DatasetRow) -> resources.Dataset:
        head = self.store.head(row.uid)
        return resources.Dataset(
            name=f"datasets/{row.id}",
            display_name=row.display_name,
            description=row.description,
            labels=row.labels,
            create_time=_timestamp(row.create_time),
            update_time=_timestamp(row.update_time),
            etag=row.etag,
            head_version=f"datasets/{row.id}/versions/{head.id}" if head else "",
            version_count=self.store.version_count(row.uid),
        )

    def create_dataset(self, request: pb.CreateDatasetRequest) -> resources.Dataset:
        dataset_id = resource_names.check_id(request.dataset_id, "dataset_id", "dataset id")
        given = request.dataset
        _check_text(given.display_name, "dataset.display_name", MAX_DISPLAY_NAME)
        _check_text(given.description, "dataset.description", MAX_DESCRIPTION)
        labels = check_labels(given.labels, "dataset.labels")
        name = f"datasets/{dataset_id}"
        if request.request_id:
            earlier = self.replayed("CreateDataset", "", request)
            if earlier is not None:
                return self.get_dataset(earlier)
        now = _now()
        row = DatasetRow(
            dataset_id,
            uuid.uuid4().hex,
            given.display_name,
            given.description,
            labels,
            now,
            now,
            _etag(),
        )
        with self.store.transaction():
            if self.store.dataset(dataset_id) is not None:
                raise AlreadyExists(
                    reason="RESOURCE_ALREADY_EXISTS",
                    message=f"{name} exists",
                    metadata={"resource_name": name},
                )
            self.store.insert_dataset(row)
            if request.request_id:
                self.remember("CreateDataset", "", request, name)
        return self._dataset_message(row)

    def get_dataset(self, name: str) -> resources.Dataset:
        return self._dataset_message(self.dataset_row(name))

    def list_datasets(self, request: pb.ListDatasetsRequest) -> tuple[list[resources.Dataset], str]:
        rows = self.store.datasets
        return DATASETS.page(
            self.tokens,
            request,
            lambda: [self._dataset_message(row) for row in rows()],
            _getter,
            "datasets",
        )

    def update_dataset(self, request: pb.UpdateDatasetRequest) -> resources.Dataset:
        resource_names.parse(request.dataset.name, DATASET, "dataset.name")
        paths = list(request.update_mask.paths)
        if paths == ["*"]:
            paths = list(MUTABLE_DATASET_FIELDS)
        elif not paths:
            given = request.dataset
            paths = [f for f in MUTABLE_DATASET_FIELDS if _is_set(getattr(given, f))]
        for path in paths:
            if path not in MUTABLE_DATASET_FIELDS:
                raise invalid_field(
                    "update_mask", f"{path!r} is not one of {', '.join(MUTABLE_DATASET_FIELDS)}"
                )
        given = request.dataset
        changes: dict[str, Any] = {}
        if "display_name" in paths:
            changes["display_name"] = _check_text(
                given.display_name, "dataset.display_name", MAX_DISPLAY_NAME
            )
        if "description" in paths:
            changes["description"] = _check_text(
                given.description, "dataset.description", MAX_DESCRIPTION
            )
        if "labels" in paths:
            changes["labels"] = check_labels(given.labels, "dataset.labels")
        with self.store.transaction():
            current = self.dataset_row(request.dataset.name, "dataset.name")
            _check_etag(given.etag, current.etag)
            updated = replace(current, **changes, update_time=_now(), etag=_etag())
            self.store.update_dataset(updated)
        return self._dataset_message(updated)

    def delete_dataset(self, request: pb.DeleteDatasetRequest) -> None:
        with self.store.transaction():
            row = self.dataset_row(request.name)
            _check_etag(request.etag, row.etag)
            if self.in_use(request.name):
                raise FailedPrecondition(
                    reason="DATASET_IN_USE",
                    message=f"a job of {request.name} is still running",
                    metadata={"resource_name": request.name},
                )
            if self.store.version_count(row.uid) and not request.force:
                raise FailedPrecondition(
                    reason="DATASET_NOT_EMPTY",
                    message=f"{request.name} holds versions; delete with force",
                    metadata={"resource_name": request.name},
                )
            self.store.delete_dataset(row)
            self.store.forget_requests(request.name)
        self.storage.delete_dataset(row.uid)
        self.on_delete(request.name)

    # --- writing versions -----------------------------------------------------------------

    def begin_write(self, header: pb.WriteVersionHeader) -> WriteSession:
        """Validate a WriteVersion header before any data is read (DAT-021, DAT-022)."""
        (dataset_id,) = resource_names.parse(header.parent, DATASET, "header.parent")
        if header.mode == resources.WRITE_MODE_UNSPECIFIED:
            raise invalid_field("header.mode", "WRITE_MODE_APPEND or WRITE_MODE_OVERWRITE")
        for i, tag in enumerate(header.tags):
            resource_names.check_id(tag, f"header.tags[{i}]", "tag id")
        _check_text(header.description, "header.description", MAX_DESCRIPTION)
        if header.HasField("expected_parent_version") and header.expected_parent_version:
            resource_names.parse(
                header.expected_parent_version, VERSION, "header.expected_parent_version"
            )
        if header.HasField("arrow_data_digest"):
            _check_digest(header.arrow_data_digest, "header.arrow_data_digest")
        row = self.store.dataset(dataset_id)
        if row is None:
            raise _not_found(header.parent)
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
        now = _now()
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
            create_time=_timestamp(now),
            description=commit.description,
            lineage=lineage,
        )
        with self.store.transaction():
            still = self.store.dataset(dataset.id)
            if still is None or still.uid != dataset.uid:
                raise _not_found(f"datasets/{dataset.id}")  # deleted while the rows were stored
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
        self.store.put_tag(TagRow(dataset_uid, tag_id, version_id, created, now, _etag()))

    # --- versions and tags -----------------------------------------------------------------

    def _version_message(self, dataset: DatasetRow, row: VersionRow) -> resources.DatasetVersion:
        version = resources.DatasetVersion.FromString(row.message)
        version.tags.extend(self.store.tags_of(dataset.uid, row.id))
        return version

    def resolve(self, reference: str, field: str) -> tuple[DatasetRow, VersionRow]:
        """A version name or a tag name, resolved to the version now (DAT-004)."""
        layout, ids = resource_names.parse_any(reference, (VERSION, TAG), field)
        dataset = self.store.dataset(ids[0])
        if dataset is None:
            raise _not_found(reference)
        version_id = ids[1]
        if layout == TAG:
            tag = self.store.tag(dataset.uid, ids[1])
            if tag is None:
                raise _not_found(reference)
            version_id = tag.version_id
        row = self.store.version(dataset.uid, version_id)
        if row is None:
            raise _not_found(reference)
        return dataset, row

    def get_version(self, reference: str) -> resources.DatasetVersion:
        return self._version_message(*self.resolve(reference, "name"))

    def list_versions(
        self, request: pb.ListVersionsRequest
    ) -> tuple[list[resources.DatasetVersion], str]:
        dataset = self.dataset_row(request.parent, "parent")
        return VERSIONS.page(
            self.tokens,
            request,
            lambda: [
                self._version_message(dataset, row) for row in self.store.versions(dataset.uid)
            ],
            _getter,
            f"{request.parent}/versions",
        )

    def _tag_message(self, dataset: DatasetRow, row: TagRow) -> resources.VersionTag:
        return resources.VersionTag(
            name=f"datasets/{dataset.id}/tags/{row.id}",
            version=f"datasets/{dataset.id}/versions/{row.version_id}",
            create_time=_timestamp(row.create_time),
            update_time=_timestamp(row.update_time),
            etag=row.etag,
        )

    def set_tag(self, request: pb.SetTagRequest) -> tuple[resources.VersionTag, str]:
        dataset_id, tag_id = resource_names.parse(request.name, TAG, "name")
        _, ids = resource_names.parse_any(request.version, (VERSION, TAG), "version")
        if ids[0] != dataset_id:
            raise invalid_field(
                "version", f"{request.version} is not a version of datasets/{dataset_id}"
            )
        with self.store.transaction():
            dataset, target = self.resolve(request.version, "version")
            current = self.store.tag(dataset.uid, tag_id)
            if request.etag and (current is None or current.etag != request.etag):
                raise _etag_mismatch()
            previous = f"datasets/{dataset.id}/versions/{current.version_id}" if current else ""
            self._move_tag(dataset.uid, tag_id, target.id, _now())
            tag = self.store.tag(dataset.uid, tag_id)
        return self._tag_message(dataset, tag), previous

    def set_tag_now(self, dataset: DatasetRow, tag_id: str, version_name: str) -> None:
        """Point a tag at a version of `dataset` (a reused pipeline output, DAT-102)."""
        version_id = version_name.rsplit("/", 1)[1]
        with self.store.transaction():
            self._move_tag(dataset.uid, tag_id, version_id, _now())

    def delete_tag(self, request: pb.DeleteTagRequest) -> None:
        dataset_id, tag_id = resource_names.parse(request.name, TAG, "name")
        with self.store.transaction():
            dataset = self.store.dataset(dataset_id)
            current = self.store.tag(dataset.uid, tag_id) if dataset else None
            if current is None:
                raise _not_found(request.name)
            if request.etag and request.etag != current.etag:
                raise _etag_mismatch()
            self.store.delete_tag(dataset.uid, tag_id)

    def list_tags(self, request: pb.ListTagsRequest) -> tuple[list[resources.VersionTag], str]:
        dataset = self.dataset_row(request.parent, "parent")
        return TAGS.page(
            self.tokens,
            request,
            lambda: [self._tag_message(dataset, row) for row in self.store.tags(dataset.uid)],
            _getter,
            f"{request.parent}/tags",
        )

    # --- reading --------------------------------------------------------------------------

    def version_table(self, dataset: DatasetRow, row: VersionRow) -> pa.Table:
        """Every row of a version (memory-mapped; call off the event loop for big ones)."""
        version = resources.DatasetVersion.FromString(row.message)
        schema = pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
        return self.storage.read(dataset.uid, row.segments, schema)

    async def plan_read_on_loop(self, request: pb.ReadVersionRequest) -> ReadPlan:
        """`plan_read` for the event loop: off it when the segments are fetched from a remote
        store; in place for local ones, which are only memory-mapped (measured: moving that to
        a thread made 600 MiB reads up to 1.5x slower)."""
        if self.storage.local:
            return self.plan_read(request)
        return await self._off_loop(self.plan_read, request)

    def plan_read(self, request: pb.ReadVersionRequest) -> ReadPlan:
        """Validate a ReadVersion and fix its batches (DAT-052..DAT-060)."""
        dataset, row = self.resolve(request.name, "name")
        for field in ("offset", "limit", "batch_rows", "start_batch_index"):
            if getattr(request, field) < 0:
                raise invalid_field(field, "must not be negative")
        version = resources.DatasetVersion.FromString(row.message)
        schema = pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
        columns = list(request.columns) or schema.names
        seen: set[str] = set()
        for i, column in enumerate(request.columns):
            if column not in schema.names:
                raise invalid_argument(
                    "COLUMN_NOT_FOUND",
                    f"columns[{i}]",
                    f"the version has no column {column!r}",
                    column=column,
                )
            if column in seen:
                raise invalid_field(f"columns[{i}]", f"column {column!r} is listed twice")
            seen.add(column)
        if request.offset > version.row_count:
            raise OutOfRange(
                reason="OFFSET_OUT_OF_RANGE",
                message=f"offset {request.offset} is past the {version.row_count} rows",
            )
        end = (
            version.row_count
            if not request.limit
            else min(version.row_count, request.offset + request.limit)
        )
        projected = self.storage.read(dataset.uid, row.segments, schema).select(columns)
        table = projected.slice(request.offset, end - request.offset)
        # B depends on the version and the projection only, not on offset or limit (DAT-058).
        batch_rows = request.batch_rows or choose_batch_rows(projected)
        count = max(1, math.ceil(table.num_rows / batch_rows))
        if request.start_batch_index and request.start_batch_index >= count:
            raise OutOfRange(
                reason="OFFSET_OUT_OF_RANGE",
                message=f"start_batch_index {request.start_batch_index} is past the "
                f"{count} batches",
            )
        if request.batch_rows and table.num_rows:
            widest = table.slice(0, batch_rows).nbytes
            if widest > self.max_message_bytes:
                raise ResourceExhausted(
                    reason="MESSAGE_TOO_LARGE",
                    message=f"a batch of {batch_rows} rows exceeds the send limit",
                )
        header = pb.ReadVersionHeader(
            version=row_name(dataset, row),
            arrow_schema=table.schema.serialize().to_pybytes(),
            total_row_count=table.num_rows,
            batch_rows=batch_rows,
            batch_count=count,
        )
        return ReadPlan(
            header,
            lambda: batches(table, request.offset, batch_rows, request.start_batch_index),
        )

    # --- shared helpers ---------------------------------------------------------------------

    def replayed(self, method: str, parent: str, request: Any) -> str | None:
        found = self.store.request(
            method, parent, request.request_id, _now() - REQUEST_ID_WINDOW_NS
        )
        if found is None:
            return None
        fingerprint, result = found
        if fingerprint != _fingerprint(request):
            raise AlreadyExists(
                reason="REQUEST_ID_CONFLICT",
                message=f"request_id {request.request_id!r} was used with a different request",
            )
        return result

    def remember(self, method: str, parent: str, request: Any, result: str) -> None:
        self.store.remember_request(
            method,
            parent,
            request.request_id,
            fingerprint=_fingerprint(request),
            result=result,
            now=_now(),
        )

    async def _off_loop(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)


def row_name(dataset: DatasetRow, row: VersionRow) -> str:
    return f"datasets/{dataset.id}/versions/{row.id}"


def _not_found(name: str) -> NotFound:
    return NotFound(
        reason="RESOURCE_NOT_FOUND",
        message=f"{name} does not exist",
        metadata={"resource_name": name},
    )


def _etag_mismatch() -> Aborted:
    return Aborted(reason="ETAG_MISMATCH", message="the etag is not the resource's current etag")


def _check_etag(given: str, current: str) -> None:
    if given and given != current:
        raise _etag_mismatch()


def _check_text(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise invalid_field(field, f"at most {limit} characters, got {len(value)}")
    return value


def _check_digest(digest: digest_pb2.Digest, field: str) -> None:
    if digest.algorithm != digest_pb2.DIGEST_ALGORITHM_SHA256:
        raise invalid_field(f"{field}.algorithm", "must be DIGEST_ALGORITHM_SHA256")
    if len(digest.hex) != 64 or any(c not in "0123456789abcdef" for c in digest.hex):
        raise invalid_field(f"{field}.hex", "must be 64 lowercase hexadecimal characters")


def _is_set(value: Any) -> bool:
    return bool(value) if not hasattr(value, "items") else len(value) > 0


def _getter(message: Any) -> Callable[[str], Any]:
    """Field values of a resource message for filters and orderings."""

    def get(path: str) -> Any:
        value = getattr(message, path)
        if isinstance(value, Timestamp):
            # The Timestamp itself: a datetime would drop the nanoseconds that filters compare.
            return value if (value.seconds or value.nanos) else None
        if path == "labels":
            return dict(value)
        return value

    return get


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
    try:
        arrow_types.check_supported(table.schema)
    except arrow_types.UnsupportedArrowType as exc:
        raise invalid_argument(
            "UNSUPPORTED_ARROW_TYPE", "arrow_data", str(exc), column=exc.column
        ) from None
    except arrow_types.InvalidColumnNames as exc:
        raise invalid_argument("INVALID_ARROW_DATA", "arrow_data", str(exc)) from None
    extension = next((f.name for f in table.schema if holds_extension(f)), None)
    if extension is not None:
        raise invalid_argument(
            "UNSUPPORTED_ARROW_TYPE",
            "arrow_data",
            f"column {extension!r} holds an Arrow extension type, which is not one of the "
            "supported types of spec/data.md §4.1",
            column=extension,
        )
    return arrow_types.decode_dictionaries(table)


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


__all__ = ["Batch", "DatasetCatalog", "ReadPlan", "WriteSession"]

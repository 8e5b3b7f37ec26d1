"""The dataset domain (spec/data.md §3, §8.1-8.5): datasets, immutable versions with a
linear history, tags, and request-id replays; DatasetCatalog takes writing versions from
version_writes and reading them from version_reads. It knows nothing of gRPC: requests and
resources are the contract's messages, failures are LeptonError with the reasons the spec
names."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_server.aip import request_ids, resource_names
from lepton_server.aip.filtering.fields import FieldType, FilterField
from lepton_server.aip.labels import check_labels
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.data.dataset_resources import (
    DATASET,
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    TAG,
    VERSION,
    check_text,
    new_etag,
    not_found,
    now_ns,
    timestamp,
)
from lepton_server.data.metadata_store import DatasetRow, MetadataStore, TagRow, VersionRow
from lepton_server.data.version_reads import VersionReads
from lepton_server.data.version_storage import VersionStorage
from lepton_server.data.version_writes import VersionWrites
from lepton_server.runtime.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    LeptonError,
    invalid_field,
)

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


class DatasetCatalog(VersionWrites, VersionReads):
    """Datasets and their versions, stored in SQLite and version segments on disk."""

    def __init__(
        self,
        store: MetadataStore,
        storage: VersionStorage,
        *,
        max_message_bytes: int,
        executor: Any = None,
    ) -> None:
        self.store = store
        self.storage = storage
        self.max_message_bytes = max_message_bytes
        self.tokens = PageTokens()
        # Whether a running job holds the dataset (DAT-019); set by whoever runs the jobs.
        self.in_use: Callable[[str], bool] = lambda _name: False
        # Called with a dataset's name after it is deleted, to drop its jobs (DAT-020).
        self.on_delete: Callable[[str], None] = lambda _name: None
        self._executor = executor
        # Weak: a dataset's lock lives while a commit holds it, not for every dataset ever made
        # (a long-running server creates and deletes many).
        self._commit_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def collect_garbage(self) -> int:
        """Remove segments no committed version refers to (after a crash, say)."""
        return self.storage.collect_garbage(self.store.dataset_uids(), self.store.all_segments())

    # --- datasets -------------------------------------------------------------------------

    def dataset_row(self, name: str, field: str = "name") -> DatasetRow:
        (dataset_id,) = resource_names.parse(name, DATASET, field)
        row = self.store.dataset(dataset_id)
        if row is None:
            raise not_found(name)
        return row

    def _dataset_message(self, row: DatasetRow) -> resources.Dataset:
        head = self.store.head(row.uid)
        return resources.Dataset(
            name=f"datasets/{row.id}",
            display_name=row.display_name,
            description=row.description,
            labels=row.labels,
            create_time=timestamp(row.create_time),
            update_time=timestamp(row.update_time),
            etag=row.etag,
            head_version=f"datasets/{row.id}/versions/{head.id}" if head else "",
            version_count=self.store.version_count(row.uid),
        )

    def create_dataset(self, request: pb.CreateDatasetRequest) -> resources.Dataset:
        dataset_id = resource_names.check_id(request.dataset_id, "dataset_id", "dataset id")
        given = request.dataset
        check_text(given.display_name, "dataset.display_name", MAX_DISPLAY_NAME)
        check_text(given.description, "dataset.description", MAX_DESCRIPTION)
        labels = check_labels(given.labels, "dataset.labels")
        name = f"datasets/{dataset_id}"
        if request.request_id:
            earlier = self.replayed("CreateDataset", "", request)
            if earlier is not None:
                return self.get_dataset(earlier)
        now = now_ns()
        row = DatasetRow(
            dataset_id,
            uuid.uuid4().hex,
            given.display_name,
            given.description,
            labels,
            now,
            now,
            new_etag(),
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
            changes["display_name"] = check_text(
                given.display_name, "dataset.display_name", MAX_DISPLAY_NAME
            )
        if "description" in paths:
            changes["description"] = check_text(
                given.description, "dataset.description", MAX_DESCRIPTION
            )
        if "labels" in paths:
            changes["labels"] = check_labels(given.labels, "dataset.labels")
        with self.store.transaction():
            current = self.dataset_row(request.dataset.name, "dataset.name")
            _check_etag(given.etag, current.etag)
            updated = replace(current, **changes, update_time=now_ns(), etag=new_etag())
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

    # --- versions and tags -----------------------------------------------------------------

    def version_made_by(self, dataset: str, source: str) -> resources.DatasetVersion | None:
        """The version of `dataset` whose lineage names `source` (the job or run that
        committed it), if there is one: what a restart finds of a job that committed before
        the server stopped, and had not yet recorded its output."""
        try:
            row = self.dataset_row(dataset)
        except LeptonError:  # the dataset is gone, and the version with it
            return None
        for version in reversed(self.store.versions(row.uid)):
            message = self._version_message(row, version)
            if message.lineage.source == source:
                return message
        return None

    def _version_message(self, dataset: DatasetRow, row: VersionRow) -> resources.DatasetVersion:
        version = resources.DatasetVersion.FromString(row.message)
        version.tags.extend(self.store.tags_of(dataset.uid, row.id))
        return version

    def resolve(self, reference: str, field: str) -> tuple[DatasetRow, VersionRow]:
        """A version name or a tag name, resolved to the version now (DAT-004)."""
        layout, ids = resource_names.parse_any(reference, (VERSION, TAG), field)
        dataset = self.store.dataset(ids[0])
        if dataset is None:
            raise not_found(reference)
        version_id = ids[1]
        if layout == TAG:
            tag = self.store.tag(dataset.uid, ids[1])
            if tag is None:
                raise not_found(reference)
            version_id = tag.version_id
        row = self.store.version(dataset.uid, version_id)
        if row is None:
            raise not_found(reference)
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
            create_time=timestamp(row.create_time),
            update_time=timestamp(row.update_time),
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
            self._move_tag(dataset.uid, tag_id, target.id, now_ns())
            tag = self.store.tag(dataset.uid, tag_id)
        return self._tag_message(dataset, tag), previous

    def set_tag_now(self, dataset: DatasetRow, tag_id: str, version_name: str) -> None:
        """Point a tag at a version of `dataset` (a reused pipeline output, DAT-102)."""
        version_id = version_name.rsplit("/", 1)[1]
        with self.store.transaction():
            self._move_tag(dataset.uid, tag_id, version_id, now_ns())

    def delete_tag(self, request: pb.DeleteTagRequest) -> None:
        dataset_id, tag_id = resource_names.parse(request.name, TAG, "name")
        with self.store.transaction():
            dataset = self.store.dataset(dataset_id)
            current = self.store.tag(dataset.uid, tag_id) if dataset else None
            if current is None:
                raise not_found(request.name)
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

    # --- shared helpers ---------------------------------------------------------------------

    def replayed(self, method: str, parent: str, request: Any) -> str | None:
        return request_ids.replayed(self.store, method, parent, request)

    def remember(self, method: str, parent: str, request: Any, result: str) -> None:
        request_ids.remember(self.store, method, parent, request, result)

    async def _off_loop(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)


def _etag_mismatch() -> Aborted:
    return Aborted(reason="ETAG_MISMATCH", message="the etag is not the resource's current etag")


def _check_etag(given: str, current: str) -> None:
    if given and given != current:
        raise _etag_mismatch()


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


__all__ = ["DatasetCatalog"]

"""`DatasetCatalog`: the metadata half of the data layer's DatasetService (datasets, versions,
tags, and resolving a reference to the version a request takes). `DataManager` builds the
movement of data and pipeline runs on top of it."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import grpc

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton_ai.client import ServiceClient
from lepton_ai.data.names import DatasetRef, VersionRef, dataset_name
from lepton_ai.errors import AlreadyExistsError, NotFoundError

DATASET_SERVICE = "lepton.data.v1.DatasetService"
PROCESSING_SERVICE = "lepton.data.v1.ProcessingService"
PAGE_SIZE = 1000


class DatasetCatalog(ServiceClient):
    """Datasets, their versions and tags, over one channel (see ServiceClient for
    `connect`, `progress` and `timeout`)."""

    def _create_stubs(self, channel: grpc.Channel) -> None:
        super()._create_stubs(channel)
        self._datasets = pb_grpc.DatasetServiceStub(channel)

    def features(self, service: str = DATASET_SERVICE) -> frozenset[str] | None:
        """The optional features the server lists for `service`, or None if it does not host
        it (e.g. features(PROCESSING_SERVICE) is None on a server without pipelines)."""
        return super().features(service)

    def _list(self, method: Any, request: Any, field: str) -> list[Any]:
        return list(self.paginate(method, request, field))

    # ----------------------------------------------------------------------------- datasets

    def create_dataset(
        self,
        dataset_id: str,
        *,
        display_name: str = "",
        description: str = "",
        labels: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> resources.Dataset:
        """Create an empty dataset. With exist_ok, an existing dataset is returned instead of
        raising AlreadyExistsError."""
        dataset_id = dataset_name(dataset_id).split("/", 1)[1]
        request = pb.CreateDatasetRequest(
            dataset_id=dataset_id,
            dataset=resources.Dataset(
                display_name=display_name, description=description, labels=labels or {}
            ),
        )
        try:
            return self.call(self._datasets.CreateDataset, request).dataset
        except AlreadyExistsError:
            if not exist_ok:
                raise
            return self.get_dataset(dataset_id)

    def get_dataset(self, dataset: DatasetRef) -> resources.Dataset:
        """A dataset's metadata and head. NotFoundError if it does not exist."""
        request = pb.GetDatasetRequest(name=dataset_name(dataset))
        return self.call(self._datasets.GetDataset, request).dataset

    def list_datasets(self, *, filter: str = "", order_by: str = "") -> list[resources.Dataset]:
        """Every dataset (all pages), optionally filtered and ordered (spec/data.md §7)."""
        request = pb.ListDatasetsRequest(page_size=PAGE_SIZE, filter=filter, order_by=order_by)
        return self._list(self._datasets.ListDatasets, request, "datasets")

    def delete_dataset(self, dataset: DatasetRef, *, force: bool = False) -> None:
        """Delete a dataset; one holding versions needs force=True (else
        FailedPreconditionError with reason DATASET_NOT_EMPTY)."""
        request = pb.DeleteDatasetRequest(name=dataset_name(dataset), force=force)
        self.call(self._datasets.DeleteDataset, request)

    def _ensure_dataset(self, dataset: str) -> None:
        request = pb.CreateDatasetRequest(dataset_id=dataset.split("/", 1)[1])
        with contextlib.suppress(AlreadyExistsError):
            self.call(self._datasets.CreateDataset, request)

    # ----------------------------------------------------------------------------- versions

    def resolve(
        self, source: VersionRef, *, version: str | None = None, tag: str | None = None
    ) -> str:
        """The version reference a request takes: a version or tag name as given, the
        `version` or `tag` of a dataset, or else the dataset's head (NotFoundError when the
        dataset has no version yet)."""
        if isinstance(source, resources.DatasetVersion | resources.VersionTag) or (
            isinstance(source, str) and ("/versions/" in source or "/tags/" in source)
        ):
            if version is not None or tag is not None:
                raise ValueError("version= and tag= apply to a dataset, not to a version")
            return source if isinstance(source, str) else source.name
        dataset = dataset_name(source)
        if version is not None and tag is not None:
            raise ValueError("pass version= or tag=, not both")
        if version is not None:
            return f"{dataset}/versions/{version}"
        if tag is not None:
            return f"{dataset}/tags/{tag}"
        head = self.get_dataset(dataset).head_version
        if not head:
            raise NotFoundError(
                grpc.StatusCode.NOT_FOUND, "", f"{dataset} has no version yet", {"dataset": dataset}
            )
        return head

    def get_version(
        self, source: VersionRef, *, version: str | None = None, tag: str | None = None
    ) -> resources.DatasetVersion:
        """A version's metadata (schema, row count, digest, tags, lineage); by default the
        dataset's head."""
        name = self.resolve(source, version=version, tag=tag)
        return self.call(self._datasets.GetVersion, pb.GetVersionRequest(name=name)).version

    def versions(
        self, dataset: DatasetRef, *, filter: str = "", order_by: str = ""
    ) -> list[resources.DatasetVersion]:
        """A dataset's versions, newest first unless `order_by` says otherwise."""
        request = pb.ListVersionsRequest(
            parent=dataset_name(dataset), page_size=PAGE_SIZE, filter=filter, order_by=order_by
        )
        return self._list(self._datasets.ListVersions, request, "versions")

    # --------------------------------------------------------------------------------- tags

    def tag(
        self, source: VersionRef, tag: str, *, version: str | None = None, etag: str = ""
    ) -> resources.VersionTag:
        """Point `tag` at a version (by default the dataset's head), creating or moving it.
        A non-empty `etag` makes the move conditional (AbortedError ETAG_MISMATCH)."""
        target = self.resolve(source, version=version)
        request = pb.SetTagRequest(
            name=f"{dataset_name(target)}/tags/{tag}", version=target, etag=etag
        )
        return self.call(self._datasets.SetTag, request).tag

    def untag(self, dataset: DatasetRef, tag: str, *, etag: str = "") -> None:
        """Remove a tag; the version it pointed at is unaffected."""
        request = pb.DeleteTagRequest(name=f"{dataset_name(dataset)}/tags/{tag}", etag=etag)
        self.call(self._datasets.DeleteTag, request)

    def tags(self, dataset: DatasetRef) -> dict[str, str]:
        """A dataset's tags: {tag id: canonical version name}, in tag id order."""
        request = pb.ListTagsRequest(parent=dataset_name(dataset), page_size=PAGE_SIZE)
        tags = self._list(self._datasets.ListTags, request, "tags")
        return {tag.name.rsplit("/", 1)[1]: tag.version for tag in tags}

"""Model versions (REG-012 to REG-018): created PENDING_REGISTRATION with the next number
(never reused), read by name or alias, listed per model or across all (`models/-`), their
description and labels updated by mask and etag, deleted (with `force`, with their aliases)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import model_format_pb2
from lepton_server.aip import request_ids
from lepton_server.aip.filtering.fields import (
    COMPARISONS,
    EQUALITY,
    SUBSTRING,
    FieldType,
    FilterField,
)
from lepton_server.aip.labels import check_labels
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.standard_fields import (
    MAX_DESCRIPTION,
    check_etag,
    check_text,
    new_etag,
    now_ns,
    timestamp,
)
from lepton_server.registry import model_names
from lepton_server.registry.events import EventLog
from lepton_server.registry.model_names import ALL_MODELS
from lepton_server.registry.models import message_getter
from lepton_server.registry.records import PENDING, Records
from lepton_server.registry.registry_store import ModelRow
from lepton_server.registry.version_checks import check_metrics, check_new_version
from lepton_server.runtime.errors import FailedPrecondition, invalid_field
from lepton_server.runtime.principals import current_principal

MUTABLE_FIELDS = ("description", "labels", "metrics")
VERSION_FILTER = [
    FilterField.for_enum("state", mv.ModelVersionState.keys()),
    FilterField.for_enum("artifact.format", model_format_pb2.ModelFormat.keys()),
    FilterField("framework", FieldType.STRING, EQUALITY | SUBSTRING),
    FilterField("labels", FieldType.LABEL, EQUALITY),
    FilterField("lineage.training_job", FieldType.RESOURCE_NAME, EQUALITY),
    FilterField("lineage.parent_model_version", FieldType.RESOURCE_NAME, EQUALITY),
    FilterField("lineage.datasets.dataset_version", FieldType.RESOURCE_NAME, frozenset({"="})),
    FilterField("metrics", FieldType.METRIC, COMPARISONS),
    FilterField("creator", FieldType.STRING, EQUALITY),
    FilterField("create_time", FieldType.TIMESTAMP, COMPARISONS),
]
# create_time is strictly increasing within a model (see `create`), so its order is the
# version-number order there; name breaks ties across models.
VERSIONS = Listing(VERSION_FILTER, ("create_time", "update_time"), "create_time desc", "name")


class Versions:
    """The model version resource's standard methods."""

    def __init__(
        self,
        records: Records,
        events: EventLog,
        tokens: PageTokens,
        *,
        max_artifact_bytes: int,
    ) -> None:
        self.records = records
        self.store = records.store
        self.events = events
        self.tokens = tokens
        self.max_artifact_bytes = max_artifact_bytes
        # Frees a deleted version's bytes: (model uid, number, sha256); set by services.py.
        self.release: Callable[[str, int, str], None] = lambda _uid, _number, _sha256: None

    def create(self, request: pb.CreateModelVersionRequest) -> mv.ModelVersion:
        model_id = model_names.parse_model(request.parent, "parent")
        given = request.model_version
        check_new_version(given, self.max_artifact_bytes)
        request_ids.check_request_id(request.request_id)
        self.records.model_of(model_id, request.parent)
        earlier = request_ids.replayed(self.store, "CreateModelVersion", request.parent, request)
        if earlier is not None:
            return self.get(earlier)
        version = mv.ModelVersion(
            description=given.description,
            labels=given.labels,
            artifact=given.artifact,
            format_version=given.format_version,
            framework=given.framework,
            framework_version=given.framework_version,
            lineage=given.lineage,
            metadata=given.metadata,
            metrics=given.metrics,
            creator=current_principal(),
            state=PENDING,
        )
        if given.HasField("signature"):
            version.signature.CopyFrom(given.signature)
        with self.events.committing():
            model = self.records.model_of(model_id, request.parent)
            number = self.add(model, version)
            request_ids.remember(
                self.store, "CreateModelVersion", request.parent, request, version.name
            )
        return self.records.version_message(model, self.store.version(model.uid, number))

    def add(self, model: ModelRow, version: mv.ModelVersion) -> int:
        """Store `version` as the model's next version and emit VERSION_CREATED; its number.
        Sets its name, create and update times and etag; call inside `events.committing`."""
        number = model.last_number + 1
        now = now_ns()
        previous = self.store.version(model.uid, model.last_number)
        if previous is not None:
            # Strictly after the previous version, so create_time orders by number.
            last = self.records.stored_version(previous).create_time.ToNanoseconds()
            now = max(now, last + 1)
        version.name = model_names.version_name(model.id, number)
        version.create_time.CopyFrom(timestamp(now))
        version.update_time.CopyFrom(timestamp(now))
        version.etag = new_etag()
        self.store.put_model(replace(model, last_number=number))
        self.records.save_version(model, number, version)
        self.events.record(
            ev.MODEL_EVENT_TYPE_VERSION_CREATED,
            model_names.model_name(model.id),
            model_version=version.name,
        )
        return number

    def get(self, name: str, field: str = "name") -> mv.ModelVersion:
        ref = model_names.parse_version(name, field, alias_allowed=True)
        return self.records.version_message(*self.records.resolve(ref))

    def list(self, request: pb.ListModelVersionsRequest) -> tuple[list[mv.ModelVersion], str]:
        if request.parent == ALL_MODELS:
            models = self.store.models()
        else:
            models = [self.records.model_row(request.parent, "parent")]

        def items() -> list[mv.ModelVersion]:
            return [
                self.records.version_message(model, row)
                for model in models
                for row in self.store.versions(model.uid)
            ]

        return VERSIONS.page(
            self.tokens, request, items, _version_getter, f"{request.parent}/versions"
        )

    def update(self, request: pb.UpdateModelVersionRequest) -> mv.ModelVersion:
        given = request.model_version
        ref = model_names.parse_version(given.name, "model_version.name")
        paths = list(request.update_mask.paths) or list(MUTABLE_FIELDS)
        for i, path in enumerate(paths):
            if path not in MUTABLE_FIELDS:
                raise invalid_field(
                    f"update_mask.paths[{i}]",
                    f"{path!r} is not one of description, labels, metrics",
                )
        if "description" in paths:
            check_text(given.description, "model_version.description", MAX_DESCRIPTION)
        if "labels" in paths:
            check_labels(given.labels, "model_version.labels")
        if "metrics" in paths:
            check_metrics(given.metrics, "model_version.metrics")
        with self.events.committing():
            model, row = self.records.resolve(ref)
            version = self.records.stored_version(row)
            check_etag(given.etag, version.etag)
            if "description" in paths:
                version.description = given.description
            if "labels" in paths:
                version.labels.clear()
                version.labels.update(given.labels)
            if "metrics" in paths:
                version.metrics.clear()
                version.metrics.update(given.metrics)
            version.update_time.CopyFrom(timestamp(now_ns()))
            version.etag = new_etag()
            self.records.save_version(model, row.number, version)
            self.events.record(
                ev.MODEL_EVENT_TYPE_VERSION_UPDATED,
                model_names.model_name(model.id),
                model_version=given.name,
            )
        return self.records.version_message(model, self.store.version(model.uid, row.number))

    def delete(self, request: pb.DeleteModelVersionRequest) -> None:
        ref = model_names.parse_version(request.name, "name")
        with self.events.committing():
            model, row = self.records.resolve(ref)
            check_etag(request.etag, self.records.stored_version(row).etag)
            aliases = [a for a, n in self.store.aliases(model.uid).items() if n == row.number]
            if aliases and not request.force:
                raise FailedPrecondition(
                    reason="VERSION_HAS_ALIASES",
                    message=f"aliases {', '.join(aliases)} point to {request.name}; move them "
                    "or delete with force",
                    metadata={"resource_name": request.name},
                )
            parent = model_names.model_name(model.id)
            for alias in aliases:
                self.store.delete_alias(model.uid, alias)
                self.events.record(
                    ev.MODEL_EVENT_TYPE_ALIAS_DELETED,
                    parent,
                    alias=f"{parent}/aliases/{alias}",
                    previous_model_version=request.name,
                )
            if aliases:
                self.store.put_model(replace(model, update_time=now_ns(), etag=new_etag()))
            self.store.delete_version(model.uid, row.number)
            self.events.record(
                ev.MODEL_EVENT_TYPE_VERSION_DELETED, parent, model_version=request.name
            )
        self.release(model.uid, row.number, row.sha256)


class _AnyOf(tuple):
    """A repeated field's values, equal to a filter value when any of them is (the `=` of
    `lineage.datasets.dataset_version`)."""

    def __eq__(self, other: object) -> bool:
        return other in tuple(self)

    __hash__ = tuple.__hash__


def _version_getter(version: mv.ModelVersion) -> Callable[[str], Any]:
    plain = message_getter(version)

    def get(path: str) -> Any:
        if path == "state":
            return mv.ModelVersionState.Name(version.state)
        if path == "artifact.format":
            return model_format_pb2.ModelFormat.Name(version.artifact.format)
        if path == "lineage.datasets.dataset_version":
            return _AnyOf(d.dataset_version for d in version.lineage.datasets)
        return plain(path)

    return get

"""Registered models (REG-005 to REG-011): create with a request id, get, list with filter,
order and pages, update by field mask and etag, delete (with `force`, everything under it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_server.aip import request_ids, resource_names
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
    MAX_DISPLAY_NAME,
    check_etag,
    check_text,
    new_etag,
    now_ns,
)
from lepton_server.registry import model_names
from lepton_server.registry.events import EventLog
from lepton_server.registry.records import Records
from lepton_server.registry.registry_store import ModelRow
from lepton_server.runtime.errors import AlreadyExists, FailedPrecondition, invalid_field
from lepton_server.runtime.principals import current_principal

MUTABLE_FIELDS = ("display_name", "description", "labels")
MODEL_FILTER = [
    FilterField("name", FieldType.RESOURCE_NAME, EQUALITY | SUBSTRING),
    FilterField("display_name", FieldType.STRING, EQUALITY | SUBSTRING),
    FilterField("description", FieldType.STRING, EQUALITY | SUBSTRING),
    FilterField("labels", FieldType.LABEL, EQUALITY),
    FilterField("create_time", FieldType.TIMESTAMP, COMPARISONS),
    FilterField("update_time", FieldType.TIMESTAMP, COMPARISONS),
]
MODELS = Listing(
    MODEL_FILTER, ("name", "display_name", "create_time", "update_time"), "name", "name"
)


class Models:
    """The model resource's standard methods."""

    def __init__(self, records: Records, events: EventLog, tokens: PageTokens) -> None:
        self.records = records
        self.store = records.store
        self.events = events
        self.tokens = tokens
        # Frees a deleted version's bytes: (model uid, number, sha256); set by services.py.
        self.release: Callable[[str, int, str], None] = lambda _uid, _number, _sha256: None
        # Forgets the jobs of a deleted model (by name); set by services.py.
        self.on_delete: Callable[[str], None] = lambda _name: None

    def create(self, request: pb.CreateModelRequest) -> model_pb2.Model:
        model_id = resource_names.check_id(request.model_id, "model_id", "model id")
        given = request.model
        check_text(given.display_name, "model.display_name", MAX_DISPLAY_NAME)
        check_text(given.description, "model.description", MAX_DESCRIPTION)
        labels = check_labels(given.labels, "model.labels")
        request_ids.check_request_id(request.request_id)
        name = model_names.model_name(model_id)
        earlier = request_ids.replayed(self.store, "CreateModel", "", request)
        if earlier is not None:
            return self.get(earlier)
        now = now_ns()
        row = ModelRow(
            model_id,
            uuid.uuid4().hex,
            given.display_name,
            given.description,
            labels,
            now,
            now,
            new_etag(),
            0,
            current_principal(),
        )
        with self.events.committing():
            if self.store.model(model_id) is not None:
                raise AlreadyExists(
                    reason="RESOURCE_ALREADY_EXISTS",
                    message=f"{name} exists",
                    metadata={"resource_name": name},
                )
            self.store.put_model(row)
            request_ids.remember(self.store, "CreateModel", "", request, name)
            self.events.record(ev.MODEL_EVENT_TYPE_MODEL_CREATED, name)
        return self.records.model_message(row)

    def get(self, name: str) -> model_pb2.Model:
        return self.records.model_message(self.records.model_row(name))

    def list(self, request: pb.ListModelsRequest) -> tuple[list[model_pb2.Model], str]:
        return MODELS.page(
            self.tokens,
            request,
            lambda: [self.records.model_message(row) for row in self.store.models()],
            message_getter,
            "models",
        )

    def update(self, request: pb.UpdateModelRequest) -> model_pb2.Model:
        given = request.model
        model_names.parse_model(given.name, "model.name")
        paths = list(request.update_mask.paths) or list(MUTABLE_FIELDS)
        for i, path in enumerate(paths):
            if path not in MUTABLE_FIELDS:
                raise invalid_field(
                    f"update_mask.paths[{i}]",
                    f"{path!r} is not one of {', '.join(MUTABLE_FIELDS)}",
                )
        changes: dict[str, Any] = {}
        if "display_name" in paths:
            changes["display_name"] = check_text(
                given.display_name, "model.display_name", MAX_DISPLAY_NAME
            )
        if "description" in paths:
            changes["description"] = check_text(
                given.description, "model.description", MAX_DESCRIPTION
            )
        if "labels" in paths:
            changes["labels"] = check_labels(given.labels, "model.labels")
        with self.events.committing():
            current = self.records.model_row(given.name, "model.name")
            check_etag(given.etag, current.etag)
            updated = replace(
                current,
                **changes,
                update_time=max(now_ns(), current.update_time),
                etag=new_etag(),
            )
            self.store.put_model(updated)
            self.events.record(ev.MODEL_EVENT_TYPE_MODEL_UPDATED, given.name)
        return self.records.model_message(updated)

    def delete(self, request: pb.DeleteModelRequest) -> None:
        with self.events.committing():
            row = self.records.model_row(request.name)
            check_etag(request.etag, row.etag)
            versions = self.store.versions(row.uid)
            if versions and not request.force:
                raise FailedPrecondition(
                    reason="MODEL_HAS_VERSIONS",
                    message=f"{request.name} has versions; delete them or use force",
                    metadata={"resource_name": request.name},
                )
            for alias, number in self.store.aliases(row.uid).items():
                self.events.record(
                    ev.MODEL_EVENT_TYPE_ALIAS_DELETED,
                    request.name,
                    alias=f"{request.name}/aliases/{alias}",
                    previous_model_version=model_names.version_name(row.id, number),
                )
            for version in versions:
                self.events.record(
                    ev.MODEL_EVENT_TYPE_VERSION_DELETED,
                    request.name,
                    model_version=model_names.version_name(row.id, version.number),
                )
            self.store.delete_model(row)
            self.events.record(ev.MODEL_EVENT_TYPE_MODEL_DELETED, request.name)
        for version in versions:
            self.release(row.uid, version.number, version.sha256)
        self.on_delete(request.name)


def message_getter(message: Any) -> Callable[[str], Any]:
    """Field values of a resource message for filters and orderings; dotted paths walk into
    sub-messages."""

    def get(path: str) -> Any:
        value = message
        for part in path.split("."):
            value = getattr(value, part)
        if isinstance(value, Timestamp):
            return value if (value.seconds or value.nanos) else None
        if path == "labels":
            return dict(value)
        return value

    return get

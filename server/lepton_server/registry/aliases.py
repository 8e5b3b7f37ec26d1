"""Aliases (REG-033 to REG-038): set and delete by compare-and-swap on the model's etag. An
alias lives on its model, so moving it changes the model's etag and update_time, and the
versions it leaves and reaches change their update_time; `latest` is implicit and reserved."""

from __future__ import annotations

from dataclasses import replace

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_server.aip.standard_fields import check_etag, new_etag, not_found, now_ns, timestamp
from lepton_server.registry import model_names
from lepton_server.registry.events import EventLog
from lepton_server.registry.model_names import LATEST
from lepton_server.registry.records import READY, Records, not_ready
from lepton_server.registry.registry_store import ModelRow
from lepton_server.runtime.errors import invalid_argument, invalid_field


def _check_not_reserved(alias: str) -> None:
    if alias == LATEST:
        raise invalid_argument(
            "RESERVED_ALIAS", "name", "'latest' always names the newest READY version"
        )


class Aliases:
    """SetModelAlias and DeleteModelAlias."""

    def __init__(self, records: Records, events: EventLog) -> None:
        self.records = records
        self.store = records.store
        self.events = events

    def set(self, request: pb.SetModelAliasRequest) -> tuple[model_pb2.Model, str]:
        """The model after the move, and the version the alias pointed to before ("")."""
        model_id, alias = model_names.parse_alias(request.name, "name")
        _check_not_reserved(alias)
        target = model_names.parse_version(
            request.model_version, "model_version", alias_allowed=True
        )
        if target.model_id != model_id:
            raise invalid_field(
                "model_version", f"{request.model_version} is not a version of models/{model_id}"
            )
        with self.events.committing():
            model = self.records.model_of(model_id, request.name)
            check_etag(request.etag, model.etag)
            # An alias target is resolved once, now: the new alias does not follow it (REG-035).
            _, row = self.records.resolve(target)
            if row.state != READY:
                raise not_ready(request.model_version)
            before = self.store.aliases(model.uid).get(alias)
            previous = model_names.version_name(model_id, before) if before else ""
            self.store.put_alias(model.uid, alias, row.number)
            model = self._touch(model, (before, row.number))
            self.events.record(
                ev.MODEL_EVENT_TYPE_ALIAS_SET,
                model_names.model_name(model_id),
                model_version=model_names.version_name(model_id, row.number),
                alias=request.name,
                previous_model_version=previous,
            )
        return self.records.model_message(model), previous

    def delete(self, request: pb.DeleteModelAliasRequest) -> tuple[model_pb2.Model, str]:
        """The model after the removal, and the version the alias pointed to."""
        model_id, alias = model_names.parse_alias(request.name, "name")
        _check_not_reserved(alias)
        with self.events.committing():
            model = self.records.model_of(model_id, request.name)
            before = self.store.aliases(model.uid).get(alias)
            if before is None:
                raise not_found(request.name)
            check_etag(request.etag, model.etag)
            self.store.delete_alias(model.uid, alias)
            model = self._touch(model, (before,))
            previous = model_names.version_name(model_id, before)
            self.events.record(
                ev.MODEL_EVENT_TYPE_ALIAS_DELETED,
                model_names.model_name(model_id),
                alias=request.name,
                previous_model_version=previous,
            )
        return self.records.model_message(model), previous

    def _touch(self, model: ModelRow, numbers: tuple[int | None, ...]) -> ModelRow:
        """A new etag and update_time for the model, and update_time for the versions whose
        aliases changed."""
        now = now_ns()
        changed = replace(model, update_time=max(now, model.update_time), etag=new_etag())
        self.store.put_model(changed)
        for number in set(numbers) - {None}:
            row = self.store.version(model.uid, number)
            if row is not None:
                version = self.records.stored_version(row)
                version.update_time.CopyFrom(timestamp(now))
                self.records.save_version(model, number, version)
        return changed

"""Reading the registry's records as the contract's messages, and resolving the names every
RPC takes: a model, a concrete version, or an alias (including `latest`) resolved to the
version it points to at the moment of the call (REG-003, REG-011, REG-015, REG-038)."""

from __future__ import annotations

from collections.abc import Callable

from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_version_pb2 as mv
from lepton_server.aip.standard_fields import not_found, timestamp
from lepton_server.registry import model_names
from lepton_server.registry.model_names import LATEST, VersionRef
from lepton_server.registry.registry_store import ModelRow, RegistryStore, VersionRow
from lepton_server.runtime.errors import FailedPrecondition

READY = mv.MODEL_VERSION_STATE_READY
PENDING = mv.MODEL_VERSION_STATE_PENDING_REGISTRATION
FAILED = mv.MODEL_VERSION_STATE_FAILED_REGISTRATION


def not_ready(name: str) -> FailedPrecondition:
    """FAILED_PRECONDITION [VERSION_NOT_READY]: `name` cannot be downloaded or aliased yet."""
    return FailedPrecondition(
        reason="VERSION_NOT_READY",
        message=f"{name} is not READY",
        metadata={"resource_name": name},
    )


class Records:
    """The store's rows as messages, and names resolved to rows."""

    def __init__(self, store: RegistryStore) -> None:
        self.store = store
        # When a pending version expires: (model uid, number, create ns) -> ns; None when
        # uploads never expire. Set by services.py.
        self.upload_expiry: Callable[[str, int, int], int] | None = None

    def model_row(self, name: str, field: str = "name") -> ModelRow:
        row = self.store.model(model_names.parse_model(name, field))
        if row is None:
            raise not_found(name)
        return row

    def model_of(self, model_id: str, requested: str) -> ModelRow:
        """The model `model_id`, or NOT_FOUND naming `requested` (REG-003)."""
        row = self.store.model(model_id)
        if row is None:
            raise not_found(requested)
        return row

    def model_message(self, row: ModelRow) -> model_pb2.Model:
        latest = self.store.latest_ready(row.uid, READY)
        return model_pb2.Model(
            name=model_names.model_name(row.id),
            display_name=row.display_name,
            description=row.description,
            labels=row.labels,
            aliases={
                alias: model_names.version_name(row.id, number)
                for alias, number in self.store.aliases(row.uid).items()
            },
            latest_version=model_names.version_name(row.id, latest) if latest else "",
            version_count=self.store.version_count(row.uid),
            create_time=timestamp(row.create_time),
            update_time=timestamp(row.update_time),
            etag=row.etag,
            creator=row.creator,
        )

    def resolve(self, ref: VersionRef) -> tuple[ModelRow, VersionRow]:
        """The version `ref` names now; NOT_FOUND naming the name as requested."""
        model = self.model_of(ref.model_id, ref.name)
        number = ref.number
        if ref.alias == LATEST:
            number = self.store.latest_ready(model.uid, READY)
        elif ref.alias is not None:
            number = self.store.aliases(model.uid).get(ref.alias)
        # A number beyond SQLite's integers names no version (none is ever assigned).
        row = self.store.version(model.uid, number) if number and number < 2**63 else None
        if row is None:
            raise not_found(ref.name)
        return model, row

    def version_message(self, model: ModelRow, row: VersionRow) -> mv.ModelVersion:
        version = mv.ModelVersion.FromString(row.message)
        if row.state == PENDING and self.upload_expiry is not None:
            expires = self.upload_expiry(model.uid, row.number, version.create_time.ToNanoseconds())
            version.upload_expire_time.CopyFrom(timestamp(expires))
        version.aliases.extend(
            sorted(a for a, n in self.store.aliases(model.uid).items() if n == row.number)
        )
        return version

    def stored_version(self, row: VersionRow) -> mv.ModelVersion:
        """The version as stored (without its derived aliases), for changing it."""
        return mv.ModelVersion.FromString(row.message)

    def save_version(self, model: ModelRow, number: int, version: mv.ModelVersion) -> None:
        """Store `version` (its `aliases` are derived, never stored)."""
        version.ClearField("aliases")
        self.store.put_version(
            VersionRow(
                model.uid,
                number,
                version.state,
                version.artifact.descriptor.digest.hex,
                version.SerializeToString(),
            )
        )

"""Deployments (spec/edge.md 2.5, EDG-059 to EDG-063, EDG-110): Create, Get, List, Update
by field mask and etag, Delete (refused while a rollout is active), per-device parameter
overrides, and the live device counts computed on read. Releases only reach devices through
rollouts (FleetAssignments in desired_states.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from lepton.edge.v1 import deployment_pb2, device_state_pb2, release_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_server.aip import request_ids
from lepton_server.aip.filtering.fields import EQUALITY, FieldType, FilterField
from lepton_server.aip.labels import check_labels
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.resource_names import check_id, parse
from lepton_server.aip.standard_fields import (
    MAX_DISPLAY_NAME,
    check_etag,
    check_text,
    new_etag,
    not_found,
    now_ns,
    timestamp,
)
from lepton_server.edge.desired_states import DesiredStates
from lepton_server.edge.devices import MAX_DESCRIPTION
from lepton_server.edge.fleet_database import FleetDatabase
from lepton_server.runtime.errors import AlreadyExists, FailedPrecondition, invalid_field

MUTABLE_FIELDS = ("display_name", "description", "labels", "target", "parameter_overrides")
MAX_TARGET_DEVICES = 10000
MAX_OVERRIDES = 10000
# ModelRelease.parameters rules, which each override entry follows too.
MAX_PARAMETERS = 64
MAX_PARAMETER_KEY = 63
MAX_PARAMETERS_BYTES = 64 * 1024

DEPLOYMENTS = Listing(
    (FilterField("labels", FieldType.LABEL, EQUALITY),),
    ("name", "create_time", "update_time"),
    "name",
    "name",
)

UPDATING_PHASES = frozenset(
    {
        device_state_pb2.UPDATE_PHASE_QUEUED,
        device_state_pb2.UPDATE_PHASE_DOWNLOADING,
        device_state_pb2.UPDATE_PHASE_VERIFYING,
        device_state_pb2.UPDATE_PHASE_AWAITING_INSTALL_WINDOW,
        device_state_pb2.UPDATE_PHASE_INSTALLING,
        device_state_pb2.UPDATE_PHASE_HEALTH_CHECKING,
    }
)
FAILED_PHASES = frozenset(
    {device_state_pb2.UPDATE_PHASE_FAILED, device_state_pb2.UPDATE_PHASE_ROLLED_BACK}
)


def deployment_name(name: str, field_path: str = "name") -> str:
    """`name` if it is "deployments/{deployment}", else INVALID_NAME on `field_path`."""
    parse(name, ("deployments",), field_path)
    return name


def check_parameters(parameters: dict[str, str], field_path: str) -> None:
    """The rules of ModelRelease.parameters: at most 64 entries, keys 1-63 characters,
    at most 64 KiB in all (INVALID_FIELD)."""
    if len(parameters) > MAX_PARAMETERS:
        raise invalid_field(field_path, f"at most {MAX_PARAMETERS} parameters")
    size = 0
    for key, value in parameters.items():
        if not 1 <= len(key) <= MAX_PARAMETER_KEY:
            raise invalid_field(f"{field_path}.{key}", "a parameter key is 1-63 characters")
        size += len(key.encode()) + len(value.encode())
    if size > MAX_PARAMETERS_BYTES:
        raise invalid_field(field_path, "parameters take at most 64 KiB")


def check_target(target: deployment_pb2.DeviceTarget, field_path: str) -> None:
    """EDG-059: the target's rules."""
    if target.all_devices and (target.match_labels or target.devices):
        raise invalid_field(field_path, "all_devices excludes match_labels and devices")
    check_labels(target.match_labels, f"{field_path}.match_labels")
    if len(target.devices) > MAX_TARGET_DEVICES:
        raise invalid_field(f"{field_path}.devices", f"at most {MAX_TARGET_DEVICES} devices")
    for i, device in enumerate(target.devices):
        parse(device, ("devices",), f"{field_path}.devices[{i}]")
    if len(set(target.devices)) != len(target.devices):
        raise invalid_field(f"{field_path}.devices", "a device is listed twice")


def check_overrides(
    overrides: Sequence[deployment_pb2.DeviceParameterOverride], field_path: str
) -> None:
    """EDG-110: device names, one entry per device, the parameter rules."""
    if len(overrides) > MAX_OVERRIDES:
        raise invalid_field(field_path, f"at most {MAX_OVERRIDES} entries")
    seen: set[str] = set()
    for i, entry in enumerate(overrides):
        parse(entry.device, ("devices",), f"{field_path}[{i}].device")
        if entry.device in seen:
            raise invalid_field(f"{field_path}[{i}].device", f"{entry.device} has two entries")
        seen.add(entry.device)
        check_parameters(dict(entry.parameters), f"{field_path}[{i}].parameters")


def _check_fields(deployment: deployment_pb2.Deployment, paths: Sequence[str]) -> None:
    if "display_name" in paths:
        check_text(deployment.display_name, "deployment.display_name", MAX_DISPLAY_NAME)
    if "description" in paths:
        check_text(deployment.description, "deployment.description", MAX_DESCRIPTION)
    if "labels" in paths:
        check_labels(deployment.labels, "deployment.labels")
    if "target" in paths:
        if not deployment.HasField("target"):
            raise invalid_field("deployment.target", "a target is required")
        check_target(deployment.target, "deployment.target")
    if "parameter_overrides" in paths:
        check_overrides(deployment.parameter_overrides, "deployment.parameter_overrides")


def runs(
    release: release_pb2.ModelRelease,
    model_version: str,
    digest: Any,
) -> bool:
    """Whether an installed release or attempt (by model version and artifact digest) is
    `release`."""
    return model_version == release.model_version and (
        not release.artifact.HasField("digest") or digest == release.artifact.digest
    )


class Deployments:
    """The deployments of the fleet."""

    def __init__(self, db: FleetDatabase, desired: DesiredStates, page_tokens: PageTokens) -> None:
        self.db = db
        self.desired = desired
        self.page_tokens = page_tokens
        # Called with a deleted deployment's name, inside its deletion (e.g. to delete its
        # rollouts); an exception undoes the deletion.
        self.on_delete: list[Callable[[str], None]] = []

    def stored(self, name: str, field_path: str = "name") -> deployment_pb2.Deployment:
        found = self.db.deployment(deployment_name(name, field_path))
        if found is None:
            raise not_found(name)
        return found

    def create(self, request: pb.CreateDeploymentRequest) -> deployment_pb2.Deployment:
        check_id(request.deployment_id, "deployment_id", "deployment_id")
        request_ids.check_request_id(request.request_id)
        given = request.deployment
        _check_fields(given, MUTABLE_FIELDS)
        name = f"deployments/{request.deployment_id}"
        with self.db.atomic():
            replay = request_ids.replayed(self.db, "CreateDeployment", "", request)
            if replay is not None:
                return self.get(replay)
            if self.db.deployment(name) is not None:
                raise AlreadyExists(
                    reason="RESOURCE_ALREADY_EXISTS",
                    message=f"{name} already exists",
                    metadata={"resource_name": name},
                )
            now = timestamp(now_ns())
            deployment = deployment_pb2.Deployment(
                name=name,
                display_name=given.display_name,
                description=given.description,
                labels=given.labels,
                target=given.target,
                parameter_overrides=given.parameter_overrides,
                create_time=now,
                update_time=now,
                etag=new_etag(),
            )
            self.db.put_deployment(deployment)
            request_ids.remember(self.db, "CreateDeployment", "", request, name)
            self.desired.retarget_deployment(deployment)
        return self.get(name)

    def get(self, name: str) -> deployment_pb2.Deployment:
        return self._message(self.stored(name))

    def list(
        self, request: pb.ListDeploymentsRequest
    ) -> tuple[list[deployment_pb2.Deployment], str]:
        return DEPLOYMENTS.page(
            self.page_tokens,
            request,
            lambda: [self._message(d) for d in self.db.deployments()],
            _getter,
            "deployments",
        )

    def update(self, request: pb.UpdateDeploymentRequest) -> deployment_pb2.Deployment:
        given = request.deployment
        name = deployment_name(given.name, "deployment.name")
        paths = list(request.update_mask.paths) or [
            path for path in MUTABLE_FIELDS if _is_set(given, path)
        ]
        for path in paths:
            if path not in MUTABLE_FIELDS:
                raise invalid_field(
                    "update_mask", f"{path!r} is not one of {', '.join(MUTABLE_FIELDS)}"
                )
        _check_fields(given, paths)
        with self.db.atomic():
            deployment = self.stored(name, "deployment.name")
            check_etag(given.etag, deployment.etag)
            before = deployment.SerializeToString(deterministic=True)
            for path in paths:
                if path == "labels":
                    deployment.labels.clear()
                    deployment.labels.update(given.labels)
                elif path == "target":
                    deployment.target.CopyFrom(given.target)
                elif path == "parameter_overrides":
                    del deployment.parameter_overrides[:]
                    deployment.parameter_overrides.extend(given.parameter_overrides)
                else:
                    setattr(deployment, path, getattr(given, path))
            if deployment.SerializeToString(deterministic=True) != before:
                deployment.update_time.CopyFrom(timestamp(now_ns()))
                deployment.etag = new_etag()
                self.db.put_deployment(deployment)
                if "target" in paths or "parameter_overrides" in paths:
                    self.desired.retarget_deployment(deployment)
        return self.get(name)

    def delete(self, name: str, etag: str) -> None:
        with self.db.atomic():
            deployment = self.stored(name)
            check_etag(etag, deployment.etag)
            if deployment.rollout_active:
                raise FailedPrecondition(
                    reason="ROLLOUT_IN_PROGRESS",
                    message=f"{deployment.latest_rollout} is still active",
                    metadata={"rollout": deployment.latest_rollout},
                )
            self.db.delete_deployment(name)
            self.desired.remove_deployment(name)
            self.db.forget_requests(name)
            for hook in self.on_delete:
                hook(name)

    def _message(self, deployment: deployment_pb2.Deployment) -> deployment_pb2.Deployment:
        """The deployment with its device counts (EDG-063)."""
        counts = deployment.device_counts
        assignments = self.db.assignments_of_deployment(deployment.name)
        for row in self.desired.targeted_rows(deployment):
            counts.targeted_count += 1
            assigned = assignments.get(row.device.name)
            reported = next(
                (
                    d
                    for d in row.device.reported_state.deployments
                    if d.deployment == deployment.name
                ),
                None,
            )
            if assigned is None or reported is None:
                counts.unreported_count += 1
                continue
            release = assigned.release
            running = reported.running
            attempt = reported.last_update
            if reported.HasField("running") and runs(
                release, running.model_version, running.artifact_digest
            ):
                counts.in_sync_count += 1
            elif reported.HasField("last_update") and runs(
                release, attempt.model_version, attempt.artifact_digest
            ):
                if attempt.phase in UPDATING_PHASES:
                    counts.updating_count += 1
                elif attempt.phase in FAILED_PHASES:
                    counts.failed_count += 1
                else:
                    counts.unreported_count += 1
            else:
                counts.unreported_count += 1
        return deployment


def _is_set(deployment: deployment_pb2.Deployment, path: str) -> bool:
    if path == "target":
        return deployment.HasField("target")
    return bool(getattr(deployment, path))


def _getter(deployment: deployment_pb2.Deployment) -> Callable[[str], Any]:
    def get(path: str) -> Any:
        if path == "labels":
            return dict(deployment.labels)
        value = getattr(deployment, path)
        if isinstance(value, Timestamp):
            return value if deployment.HasField(path) else None
        return value

    return get

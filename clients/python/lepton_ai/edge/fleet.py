"""`EdgeFleet`: the fleet side of a Lepton edge server (lepton.edge.v1.EdgeService) as Python
calls: devices, deployments, signed releases with their artifacts, rollouts and telemetry.

    key = Ed25519PrivateKey.from_private_bytes(...)
    with EdgeFleet.connect("localhost:50051", token="...") as fleet:
        created = fleet.create_device("camera-7", labels={"site": "plant-7"})
        print(created.bootstrap_token)     # hand it to the device's agent
        fleet.create_deployment("defects", match_labels={"site": "plant-7"})
        vectors = build_vectors("model.onnx", samples)   # lepton_ai.edge.health_vectors
        release = fleet.create_release("models/defect-detector/versions/3", "model.onnx",
                                       vectors=vectors, sign_with=(key, "release-2026-q4"))
        rollout = fleet.create_rollout("deployments/defects", release)
        fleet.watch_rollout(rollout)       # a progress view of the devices' outcomes

`create_release` uploads the model and every file with UploadArtifact, resumably (a broken
upload continues from the offset the server has committed, GEN-082), and signs the
release it returns (spec/edge.md, "Release digests and signatures"). A rollout that ends in
any state but SUCCEEDED raises `JobFailedError` from `watch_rollout`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.edge.v1 import deployment_pb2, device_pb2, release_pb2, rollout_pb2, telemetry_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton.edge.v1.artifact_upload_pb2 import ArtifactUploadHeader
from lepton.type.v1 import artifact_pb2
from lepton.type.v1 import model_format_pb2 as formats
from lepton_ai.client import ServiceClient
from lepton_ai.edge.health_vectors import VECTORS_MEDIA_TYPE
from lepton_ai.edge.releases import sign_release
from lepton_ai.errors import UnknownError, from_rpc_error, job_failed
from lepton_ai.progress import ProgressBar
from lepton_ai.registry import ModelRegistry
from lepton_ai.registry.artifact_transfer import ATTEMPTS, BROKEN, CHUNK_BYTES, descriptor_of
from lepton_ai.registry.model_packaging import OCTET_STREAM, Package, package
from lepton_ai.retries import STREAM_RETRIES, pause_before_retry

RolloutState = rollout_pb2.RolloutState
ReleaseFileRole = release_pb2.ReleaseFileRole
TERMINAL_ROLLOUT_STATES = frozenset(
    {
        RolloutState.ROLLOUT_STATE_SUCCEEDED,
        RolloutState.ROLLOUT_STATE_FAILED,
        RolloutState.ROLLOUT_STATE_ABORTED,
        RolloutState.ROLLOUT_STATE_ROLLED_BACK,
    }
)
DEFAULT_VECTORS_PATH = "health_check_vectors.pb"
PAGE_SIZE = 100
# A file, its bytes, or an artifact the server already holds.
Source = str | Path | bytes | artifact_pb2.ArtifactDescriptor
Signer = tuple[Ed25519PrivateKey, str]


@dataclass(frozen=True)
class ReleaseFileSource:
    """A file of a release with its role and media type (a bare `Source` in
    `create_release`'s `files` has role UNSPECIFIED and media type octet-stream)."""

    source: Source
    role: ReleaseFileRole.ValueType = ReleaseFileRole.RELEASE_FILE_ROLE_UNSPECIFIED
    media_type: str = OCTET_STREAM


class EdgeFleet(ServiceClient):
    """Devices, deployments, releases, rollouts and telemetry over one gRPC channel (see the
    module docstring)."""

    def _create_stubs(self, channel: grpc.Channel) -> None:
        super()._create_stubs(channel)
        self._edge = pb_grpc.EdgeServiceStub(channel)

    # ------------------------------------------------------------------------- devices

    def create_device(
        self,
        device_id: str,
        *,
        display_name: str = "",
        description: str = "",
        labels: Mapping[str, str] | None = None,
        report_interval: timedelta | None = None,
        require_approval: bool = False,
        bootstrap_token_ttl: timedelta | None = None,
        request_id: str = "",
    ) -> pb.CreateDeviceResponse:
        """Create `devices/{device_id}`; the response holds the device and the bootstrap
        token its agent registers with."""
        device = device_pb2.Device(
            display_name=display_name, description=description, labels=dict(labels or {})
        )
        if report_interval is not None:
            device.report_interval.FromTimedelta(report_interval)
        request = pb.CreateDeviceRequest(
            device=device,
            device_id=device_id,
            require_approval=require_approval,
            request_id=request_id,
        )
        if bootstrap_token_ttl is not None:
            request.bootstrap_token_ttl.FromTimedelta(bootstrap_token_ttl)
        return self.call(self._edge.CreateDevice, request)

    def device(self, name: str) -> device_pb2.Device:
        """The device `name` ("devices/{device}"), with its desired and reported state."""
        return self.call(self._edge.GetDevice, pb.GetDeviceRequest(name=name)).device

    def devices(self, filter: str = "", order_by: str = "") -> Iterator[device_pb2.Device]:
        """Every device matching `filter` (spec/edge.md, "Filters"), page after page."""
        request = pb.ListDevicesRequest(page_size=PAGE_SIZE, filter=filter, order_by=order_by)
        return self.paginate(self._edge.ListDevices, request, "devices")

    # --------------------------------------------------------------------- deployments

    def create_deployment(
        self,
        deployment_id: str,
        *,
        match_labels: Mapping[str, str] | None = None,
        devices: Sequence[str] = (),
        all_devices: bool = False,
        display_name: str = "",
        description: str = "",
        labels: Mapping[str, str] | None = None,
        parameter_overrides: Mapping[str, Mapping[str, str]] | None = None,
        request_id: str = "",
    ) -> deployment_pb2.Deployment:
        """Create `deployments/{deployment_id}` targeting the devices with `match_labels`,
        the `devices` named, or `all_devices`; `parameter_overrides` maps a device name to
        its values of the release's overridable parameters (EDG-110)."""
        deployment = deployment_pb2.Deployment(
            display_name=display_name,
            description=description,
            labels=dict(labels or {}),
            target=deployment_pb2.DeviceTarget(
                match_labels=dict(match_labels or {}),
                devices=list(devices),
                all_devices=all_devices,
            ),
            parameter_overrides=[
                deployment_pb2.DeviceParameterOverride(device=device, parameters=dict(values))
                for device, values in (parameter_overrides or {}).items()
            ],
        )
        request = pb.CreateDeploymentRequest(
            deployment=deployment, deployment_id=deployment_id, request_id=request_id
        )
        return self.call(self._edge.CreateDeployment, request).deployment

    def deployment(self, name: str) -> deployment_pb2.Deployment:
        """The deployment `name` with its current release and device counts."""
        request = pb.GetDeploymentRequest(name=name)
        return self.call(self._edge.GetDeployment, request).deployment

    def deployments(self, filter: str = "") -> Iterator[deployment_pb2.Deployment]:
        """Every deployment matching `filter`, page after page."""
        request = pb.ListDeploymentsRequest(page_size=PAGE_SIZE, filter=filter)
        return self.paginate(self._edge.ListDeployments, request, "deployments")

    # ------------------------------------------------------------------------ releases

    def upload_artifact(
        self, source: str | Path | bytes, media_type: str = OCTET_STREAM
    ) -> artifact_pb2.ArtifactDescriptor:
        """Upload a file (or bytes) as an artifact releases can name, resumably: it starts
        at the offset the server has committed and continues after a broken stream. An
        artifact the server holds already is not sent again. Returns its descriptor."""
        if isinstance(source, bytes):
            content = Package(source, None, formats.MODEL_FORMAT_UNSPECIFIED, media_type)
        else:
            content = Package(None, Path(source), formats.MODEL_FORMAT_UNSPECIFIED, media_type)
        return self._upload(content)

    def _upload(self, content: Package) -> artifact_pb2.ArtifactDescriptor:
        artifact = descriptor_of(content)
        with self.progress_bar(f"upload {artifact.digest.hex[:12]}", None, "bytes") as bar:
            for _ in range(ATTEMPTS):
                offset = self._committed_offset(artifact)
                bar.update(offset, artifact.size_bytes, "bytes")
                messages = _upload_messages(content, artifact, offset, bar)
                try:
                    answer = self._edge.UploadArtifact(messages)
                except grpc.RpcError as error:
                    if error.code() in BROKEN:
                        continue
                    raise from_rpc_error(error) from None
                if answer.committed_offset >= artifact.size_bytes:
                    bar.update(artifact.size_bytes)
                    return artifact
        raise UnknownError(
            grpc.StatusCode.UNAVAILABLE,
            "",
            f"the upload of sha256:{artifact.digest.hex} did not complete in {ATTEMPTS} attempts",
        )

    def _committed_offset(self, artifact: artifact_pb2.ArtifactDescriptor) -> int:
        request = pb.GetArtifactUploadStatusRequest(digest=artifact.digest)
        try:
            status = self._edge.GetArtifactUploadStatus(request, timeout=self.timeout)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:  # nothing uploaded yet
                return 0
            raise from_rpc_error(error) from None
        return status.committed_offset

    def _artifact(self, source: Source, media_type: str) -> artifact_pb2.ArtifactDescriptor:
        if isinstance(source, artifact_pb2.ArtifactDescriptor):
            return source
        return self.upload_artifact(source, media_type)

    def create_release(
        self,
        model_version: str,
        model: Source | None = None,
        *,
        sign_with: Signer | Iterable[Signer],
        runtime: str = "onnxruntime",
        execution_providers: Sequence[str] = (),
        files: Mapping[str, Source | ReleaseFileSource] | None = None,
        vectors: release_pb2.HealthCheckVectors | None = None,
        vectors_path: str = DEFAULT_VECTORS_PATH,
        skip_inference_test: bool = False,
        health_check_timeout: timedelta | None = None,
        stability_period: timedelta | None = None,
        parameters: Mapping[str, str] | None = None,
        overridable_parameters: Sequence[str] = (),
        model_format: formats.ModelFormat.ValueType | None = None,
        entry_path: str | None = None,
        runtime_options: Mapping[str, str] | None = None,
        registry: ModelRegistry | None = None,
    ) -> release_pb2.ModelRelease:
        """A release of `model_version` ("models/{model}/versions/{n}") signed by every
        (private key, key ID) of `sign_with`, its artifacts uploaded. `model` is a file or
        directory (a directory travels as a tar archive; format and entry path are detected
        as the registry SDK does), bytes, or the descriptor of an uploaded artifact. Without
        `model`, the release takes the version's artifact from the registry (`registry`, by
        default the one on the same server; `model_version` may then be an alias, and the
        release names the version it resolves to), and the fleet serves the registry's
        bytes: nothing is uploaded.
        `files` maps a path in the release directory to its source. `vectors` (see
        `lepton_ai.edge.health_vectors.build_vectors`) are uploaded as the file
        `vectors_path` the health check runs (EDG-109); without them, pass
        `skip_inference_test=True` to have the health check only load the model."""
        if vectors is None and not skip_inference_test:
            raise ValueError("a release needs health-check vectors or skip_inference_test=True")
        signers = [sign_with] if isinstance(sign_with, tuple) else list(sign_with)
        if not signers:
            raise ValueError("a release needs a signature: sign_with names a key")
        release = release_pb2.ModelRelease(
            model_version=model_version,
            runtime_config=release_pb2.RuntimeConfig(
                runtime=runtime,
                execution_providers=list(execution_providers),
                options=dict(runtime_options or {}),
            ),
            parameters=dict(parameters or {}),
            overridable_parameters=list(overridable_parameters),
        )
        if model is None:
            self._add_registry_model(release, registry, model_format, entry_path)
        else:
            self._add_model(release, model, model_format, entry_path)
        for path, file in (files or {}).items():
            spec = file if isinstance(file, ReleaseFileSource) else ReleaseFileSource(file)
            release.files.add(
                path=path, artifact=self._artifact(spec.source, spec.media_type), role=spec.role
            )
        health = release.health_check
        health.skip_inference_test = skip_inference_test
        if vectors is not None:
            role = ReleaseFileRole.RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS
            data = vectors.SerializeToString()
            artifact = self.upload_artifact(data, VECTORS_MEDIA_TYPE)
            release.files.add(path=vectors_path, artifact=artifact, role=role)
            health.vectors_path = vectors_path
        if health_check_timeout is not None:
            health.timeout.FromTimedelta(health_check_timeout)
        if stability_period is not None:
            health.stability_period.FromTimedelta(stability_period)
        for key, key_id in signers:
            release = sign_release(release, key, key_id)
        return release

    def _add_model(
        self,
        release: release_pb2.ModelRelease,
        model: Source,
        model_format: formats.ModelFormat.ValueType | None,
        entry_path: str | None,
    ) -> None:
        if isinstance(model, artifact_pb2.ArtifactDescriptor):
            release.artifact.CopyFrom(model)
            detected, detected_entry = formats.MODEL_FORMAT_UNSPECIFIED, ""
        else:
            if isinstance(model, bytes):
                content = Package(model, None, formats.MODEL_FORMAT_UNSPECIFIED, OCTET_STREAM)
            else:
                content = package(model)
            release.artifact.CopyFrom(self._upload(content))
            detected, detected_entry = content.format, content.entry_path
        release.format = model_format if model_format is not None else detected
        release.entry_path = entry_path if entry_path is not None else detected_entry

    def _add_registry_model(
        self,
        release: release_pb2.ModelRelease,
        registry: ModelRegistry | None,
        model_format: formats.ModelFormat.ValueType | None,
        entry_path: str | None,
    ) -> None:
        """The release as the fleet server fills it from its registry (spec/edge.md §2.6),
        so the signatures cover what the server stores."""
        if registry is None:
            registry = ModelRegistry(self.channel, progress=False, timeout=self.timeout)
        version = registry.version(release.model_version)
        release.model_version = version.name
        release.artifact.CopyFrom(version.artifact.descriptor)
        release.format = model_format if model_format is not None else version.artifact.format
        release.entry_path = entry_path if entry_path is not None else version.artifact.entry_path

    # ------------------------------------------------------------------------ rollouts

    def create_rollout(
        self,
        deployment: str,
        release: release_pb2.ModelRelease,
        *,
        strategy: rollout_pb2.RolloutStrategy | None = None,
        rollout_id: str = "",
        description: str = "",
        request_id: str = "",
    ) -> rollout_pb2.Rollout:
        """Start rolling `release` out to `deployment` ("deployments/{deployment}") with
        `strategy` (default: the server's, one stage of every device)."""
        rollout = rollout_pb2.Rollout(release=release, description=description)
        if strategy is not None:
            rollout.strategy.CopyFrom(strategy)
        request = pb.CreateRolloutRequest(
            parent=deployment, rollout=rollout, rollout_id=rollout_id, request_id=request_id
        )
        return self.call(self._edge.CreateRollout, request).rollout

    def rollout(self, name: str) -> rollout_pb2.Rollout:
        """The rollout `name` ("deployments/{deployment}/rollouts/{rollout}")."""
        return self.call(self._edge.GetRollout, pb.GetRolloutRequest(name=name)).rollout

    def rollouts(self, deployment: str, filter: str = "") -> Iterator[rollout_pb2.Rollout]:
        """The rollouts of `deployment`, newest first, page after page."""
        request = pb.ListRolloutsRequest(parent=deployment, page_size=PAGE_SIZE, filter=filter)
        return self.paginate(self._edge.ListRollouts, request, "rollouts")

    def rollout_devices(
        self, rollout: str, filter: str = ""
    ) -> Iterator[rollout_pb2.RolloutDeviceStatus]:
        """Each device's outcome in `rollout`: its state, stage, update phase and error
        (filter on `state`, `stage`), in device name order, page after page."""
        request = pb.ListRolloutDeviceStatusesRequest(
            parent=rollout, page_size=PAGE_SIZE, filter=filter
        )
        return self.paginate(self._edge.ListRolloutDeviceStatuses, request, "device_statuses")

    def watch_rollout(self, rollout: str | rollout_pb2.Rollout) -> rollout_pb2.Rollout:
        """Follow a rollout through WatchRollout to its end and return it; a progress view
        shows its devices' outcomes and stage. A stream broken by the network is reopened
        (its first message is the whole rollout). Raises JobFailedError (with the
        rollout's status.error) unless it SUCCEEDED."""
        current = rollout if isinstance(rollout, rollout_pb2.Rollout) else self.rollout(rollout)
        with self.progress_bar(current.name, None, "devices") as bar:
            current = self._follow(current, bar)
        state = current.status.state
        if state != RolloutState.ROLLOUT_STATE_SUCCEEDED:
            error = current.status.error if current.status.HasField("error") else None
            raise job_failed(current.name, RolloutState.Name(state), error)
        return current

    def _follow(self, current: rollout_pb2.Rollout, bar: ProgressBar) -> rollout_pb2.Rollout:
        failures = 0
        request = pb.WatchRolloutRequest(name=current.name)
        while current.status.state not in TERMINAL_ROLLOUT_STATES:
            try:
                for message in self._edge.WatchRollout(request):
                    current, failures = message.rollout, 0
                    show_rollout(current, bar)
                    if current.status.state in TERMINAL_ROLLOUT_STATES:
                        break
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or failures >= STREAM_RETRIES:
                    raise from_rpc_error(error) from None
            else:
                if current.status.state in TERMINAL_ROLLOUT_STATES:
                    break
                if failures >= STREAM_RETRIES:
                    raise UnknownError(
                        grpc.StatusCode.UNKNOWN,
                        "",
                        f"the watch of {current.name} ended before the rollout did",
                    )
            failures += 1
            pause_before_retry(failures)
        return current

    # ----------------------------------------------------------------------- telemetry

    def telemetry(
        self,
        device: str = "devices/-",
        filter: str = "",
        order_by: str = "",
    ) -> Iterator[telemetry_pb2.StoredTelemetryRecord]:
        """The telemetry records `device` uploaded (default every device), matching
        `filter` (e.g. 'rollout = "deployments/d/rollouts/r"'), page after page."""
        request = pb.ListTelemetryRecordsRequest(
            parent=device, page_size=PAGE_SIZE, filter=filter, order_by=order_by
        )
        return self.paginate(self._edge.ListTelemetryRecords, request, "records")


def _upload_messages(
    content: Package, artifact: artifact_pb2.ArtifactDescriptor, offset: int, bar: ProgressBar
) -> Iterator[pb.UploadArtifactRequest]:
    yield pb.UploadArtifactRequest(header=ArtifactUploadHeader(artifact=artifact))
    with content.open() as stream:
        stream.seek(offset, io.SEEK_SET)
        while block := stream.read(CHUNK_BYTES):
            yield pb.UploadArtifactRequest(
                chunk=artifact_pb2.ArtifactChunk(offset=offset, data=block)
            )
            offset += len(block)
            bar.update(offset)


def finished_devices(counts: rollout_pb2.RolloutDeviceCounts) -> int:
    """How many of a rollout's targeted devices have an outcome."""
    return (
        counts.succeeded_count
        + counts.failed_count
        + counts.timed_out_count
        + counts.incompatible_count
        + counts.skipped_count
        + counts.rolled_back_count
    )


def describe_rollout(rollout: rollout_pb2.Rollout) -> str:
    """One line on a rollout's state, stage and failures, e.g. "RUNNING, stage 2/3
    VERIFYING, 1 failed"."""
    state = RolloutState.Name(rollout.status.state).removeprefix("ROLLOUT_STATE_")
    parts = [state]
    if rollout.stages:
        index = min(max(rollout.current_stage, 0), len(rollout.stages) - 1)
        stage_state = rollout_pb2.RolloutStageState.Name(rollout.stages[index].state)
        parts.append(
            f"stage {index + 1}/{len(rollout.stages)} "
            f"{stage_state.removeprefix('ROLLOUT_STAGE_STATE_')}"
        )
    counts = rollout.device_counts
    failed = counts.failed_count + counts.timed_out_count
    if failed:
        parts.append(f"{failed} failed")
    if counts.incompatible_count:
        parts.append(f"{counts.incompatible_count} incompatible")
    return ", ".join(parts)


def show_rollout(rollout: rollout_pb2.Rollout, bar: ProgressBar) -> None:
    """Draw a rollout on a progress bar: devices with an outcome of those targeted, and
    `describe_rollout` beside the counts."""
    bar.note(describe_rollout(rollout))
    counts = rollout.device_counts
    bar.update(finished_devices(counts), counts.targeted_count or None, "devices")

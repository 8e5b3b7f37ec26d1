"""Update attempts (spec/edge.md 2.4): per deployment a directory of its own per release
digest, `deployments/<id>/releases/<sha256>/` holding the model (`model`, or an unpacked
archive) and every release file at its path (EDG-108), and a `current` symbolic link that
one rename switches to it. The previous release stays until the new one passed its health
check and stability period (EDG-095); a failure switches back (EDG-109). Nothing is fetched
before the release's digest and signature check against the trust roots (EDG-105), and a
verified release waits for an install window (EDG-121). Deployments absent from the
desired state are removed (EDG-096)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from google.protobuf import timestamp_pb2

from lepton.edge.v1 import device_state_pb2, release_pb2
from lepton.type.v1 import artifact_pb2, error_pb2, model_format_pb2
from lepton_ai.edge.update_windows import window_open
from lepton_server.agent.agent_state import AgentState, CommittedRelease
from lepton_server.agent.downloads import ArtifactNotFound, DigestMismatch, Downloads
from lepton_server.agent.health_checks import HealthCheckError, health_check, load_model
from lepton_server.agent.local_inference import LocalInference
from lepton_server.agent.release_trust import TrustRoots, UntrustedRelease, check_trusted
from lepton_server.runtime.errors import ERROR_DOMAIN

log = logging.getLogger(__name__)

Phase = device_state_pb2.UpdatePhase
TERMINAL = (Phase.UPDATE_PHASE_COMMITTED, Phase.UPDATE_PHASE_FAILED, Phase.UPDATE_PHASE_ROLLED_BACK)
RUNTIME = "onnxruntime"
ARCHIVE_MEDIA_TYPE = "application/x-tar"
MODEL_FILE = "model"
WINDOW_POLL_SECONDS = 15.0
DEPLOYMENT_ID = re.compile(r"^deployments/([a-z]([a-z0-9-]{0,61}[a-z0-9])?)$")
# Canonical gRPC codes of the in-band reasons (spec/edge.md 6.2).
CODES = {
    "RELEASE_SIGNATURE_INVALID": 7,
    "DIGEST_MISMATCH": 15,
    "ARTIFACT_NOT_FOUND": 5,
    "RUNTIME_NOT_SUPPORTED": 9,
    "MODEL_LOAD_FAILED": 9,
    "HEALTH_CHECK_FAILED": 14,
    "HEALTH_CHECK_TIMEOUT": 4,
    "INVALID_FIELD": 3,
}


@dataclass
class AttemptEnded(Exception):
    """An attempt ends in `phase` with `reason`."""

    phase: int
    reason: str
    message: str
    metadata: dict[str, str]


def _failed(reason: str, message: str, **metadata: str) -> AttemptEnded:
    return AttemptEnded(Phase.UPDATE_PHASE_FAILED, reason, message, metadata)


def release_digest(release: release_pb2.ModelRelease) -> str:
    return release.release_digest.hex.lower()


def effective_parameters(desired: device_state_pb2.DesiredDeployment) -> dict[str, str]:
    """The release's parameters updated with the overrides of overridable keys only
    (EDG-122)."""
    parameters = dict(desired.release.parameters)
    allowed = set(desired.release.overridable_parameters)
    parameters.update({k: v for k, v in desired.parameter_overrides.items() if k in allowed})
    return parameters


def model_path(release: release_pb2.ModelRelease, directory: Path) -> Path:
    if release.artifact.media_type == ARCHIVE_MEDIA_TYPE:
        return directory / release.entry_path
    return directory / MODEL_FILE


def _now_timestamp() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


class Installer:
    """Runs the update attempts of the held desired state and removes absent deployments."""

    def __init__(
        self,
        *,
        root: Path,
        state: AgentState,
        downloads: Downloads,
        trust_roots: TrustRoots,
        serving: LocalInference,
        clock: Callable[[], dt.datetime],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.root = root
        self.state = state
        self.downloads = downloads
        self.trust_roots = trust_roots
        self.serving = serving
        self.clock = clock  # the estimated server clock, aware
        self.on_change = on_change
        self.attempts: dict[str, device_state_pb2.UpdateAttempt] = {
            name: recorded.attempt for name, recorded in state.attempts().items()
        }
        self.unhealthy: set[str] = set()

    # --- start ------------------------------------------------------------------------

    async def serve_committed(self) -> None:
        """Serve every committed release (at start, with or without the fleet, EDG-098)."""
        loop = asyncio.get_running_loop()
        for name, committed in self.state.committed_releases().items():
            path = model_path(committed.release, committed.directory)
            self._point_current(name, committed.directory)
            try:
                model = await loop.run_in_executor(
                    None, load_model, path, committed.release.runtime_config
                )
            except HealthCheckError as error:
                log.warning("committed release of %s does not load: %s", name, error)
                self.unhealthy.add(name)
                continue
            self.serving.serve(
                name, model, path, committed.rollout, committed.release.model_version
            )

    # --- reconcile --------------------------------------------------------------------

    async def apply(self, desired: device_state_pb2.DesiredState) -> None:
        """Bring the device to `desired`; sets applied_generation when done (EDG-096).
        Cancellable: a newer desired state cancels it and applies itself."""
        wanted = {d.deployment: d for d in desired.deployments if DEPLOYMENT_ID.match(d.deployment)}
        held = set(self.state.committed_releases()) | set(self.attempts)
        for name in sorted(held - set(wanted)):
            self._remove(name)
        pending = [d for d in wanted.values() if self._needs_attempt(desired.generation, d)]
        for deployment in pending:
            self._begin(desired.generation, deployment)
        for deployment in pending:
            await self._attempt(deployment)
        for deployment in wanted.values():
            self._write_parameters(deployment)
        self.state.set_applied_generation(desired.generation)
        self.on_change()

    def _needs_attempt(self, generation: int, desired: device_state_pb2.DesiredDeployment) -> bool:
        committed = self.state.committed_releases().get(desired.deployment)
        if (
            committed is not None
            and release_digest(committed.release) == release_digest(desired.release)
            and committed.rollout == desired.rollout
        ):
            return False
        last = self.attempts.get(desired.deployment)
        # A failed attempt is not retried within the generation it was made in (EDG-097).
        return not (
            last is not None
            and last.phase in TERMINAL
            and last.generation == generation
            and last.rollout == desired.rollout
            and last.artifact_digest == desired.release.artifact.digest
        )

    def _begin(self, generation: int, desired: device_state_pb2.DesiredDeployment) -> None:
        release = desired.release
        last = self.attempts.get(desired.deployment)
        if (
            last is not None
            and last.phase not in TERMINAL
            and last.rollout == desired.rollout
            and last.artifact_digest == release.artifact.digest
        ):
            return  # resume the interrupted attempt (its download resumes too, EDG-094)
        attempt = device_state_pb2.UpdateAttempt(
            model_version=release.model_version,
            artifact_digest=release.artifact.digest,
            rollout=desired.rollout,
            generation=generation,
            phase=Phase.UPDATE_PHASE_QUEUED,
            total_bytes=release.artifact.size_bytes
            + sum(f.artifact.size_bytes for f in release.files),
            start_time=_now_timestamp(),
        )
        self._set(desired, attempt)

    def _set(self, desired: device_state_pb2.DesiredDeployment, attempt) -> None:
        self.attempts[desired.deployment] = attempt
        self.state.record_attempt(desired.deployment, attempt, release_digest(desired.release))
        self.on_change()

    def _phase(self, desired: device_state_pb2.DesiredDeployment, phase: int) -> None:
        attempt = self.attempts[desired.deployment]
        if attempt.phase != phase:
            attempt.phase = phase
            self._set(desired, attempt)

    def _end(self, desired: device_state_pb2.DesiredDeployment, ended: AttemptEnded) -> None:
        attempt = self.attempts[desired.deployment]
        attempt.phase = ended.phase
        attempt.end_time.CopyFrom(_now_timestamp())
        attempt.error.CopyFrom(
            error_pb2.ErrorStatus(
                code=CODES.get(ended.reason, 2),
                reason=ended.reason,
                domain=ERROR_DOMAIN,
                message=ended.message,
                metadata=ended.metadata,
            )
        )
        log.warning("update of %s ended: %s %s", desired.deployment, ended.reason, ended.message)
        self._set(desired, attempt)

    # --- one attempt ------------------------------------------------------------------

    async def _attempt(self, desired: device_state_pb2.DesiredDeployment) -> None:
        try:
            committed = self.state.committed_releases().get(desired.deployment)
            if committed is not None and release_digest(committed.release) == release_digest(
                desired.release
            ):
                # The same release, assigned by another rollout: nothing to install.
                await self._commit(desired, committed.directory, committed)
                return
            self._check_release(desired.release)
            files = await self._download(desired)
            self._phase(desired, Phase.UPDATE_PHASE_VERIFYING)
            await self._await_window(desired)
            self._phase(desired, Phase.UPDATE_PHASE_INSTALLING)
            directory = await asyncio.get_running_loop().run_in_executor(
                None, self._install_directory, desired, files
            )
            await self._switch_and_check(desired, directory, committed)
        except AttemptEnded as ended:
            self._end(desired, ended)

    def _check_release(self, release: release_pb2.ModelRelease) -> None:
        """Offline checks before anything is fetched: trust (EDG-105), then whether this
        agent's runtime can run it."""
        try:
            check_trusted(release, self.trust_roots)
        except UntrustedRelease as error:
            raise _failed(
                "RELEASE_SIGNATURE_INVALID", str(error), release_digest=release_digest(release)
            ) from error
        if release.runtime_config.runtime != RUNTIME:
            raise _failed(
                "RUNTIME_NOT_SUPPORTED",
                f"runtime {release.runtime_config.runtime!r} is not available; {RUNTIME} is",
                runtime=release.runtime_config.runtime,
            )
        if release.format not in (
            model_format_pb2.MODEL_FORMAT_UNSPECIFIED,
            model_format_pb2.MODEL_FORMAT_ONNX,
        ):
            name = model_format_pb2.ModelFormat.Name(release.format)
            raise _failed("MODEL_LOAD_FAILED", f"{RUNTIME} cannot load {name}", format=name)
        for file in release.files:
            path = PurePosixPath(file.path)
            if path.is_absolute() or ".." in path.parts or file.path == MODEL_FILE:
                raise _failed("INVALID_FIELD", f"release file path {file.path!r} is unsafe")

    async def _download(
        self, desired: device_state_pb2.DesiredDeployment
    ) -> list[tuple[str, Path]]:
        """(install path, verified file) of the model and every file (EDG-108)."""
        release = desired.release
        wanted: list[tuple[str, artifact_pb2.ArtifactDescriptor]] = [
            (MODEL_FILE, release.artifact),
            *((f.path, f.artifact) for f in release.files),
        ]
        attempt = self.attempts[desired.deployment]
        before = {
            i: self.downloads.stored_bytes(descriptor) for i, (_, descriptor) in enumerate(wanted)
        }
        attempt.downloaded_bytes = sum(before.values())
        self._phase(desired, Phase.UPDATE_PHASE_DOWNLOADING)
        fetched: list[tuple[str, Path]] = []
        for index, (path, descriptor) in enumerate(wanted):

            def progress(stored: int, index: int = index) -> None:
                before[index] = stored
                attempt.downloaded_bytes = sum(before.values())

            try:
                fetched.append((path, await self.downloads.fetch(descriptor, progress)))
            except DigestMismatch as error:
                raise _failed(
                    "DIGEST_MISMATCH", str(error), digest=descriptor.digest.hex
                ) from error
            except ArtifactNotFound as error:
                raise _failed(
                    "ARTIFACT_NOT_FOUND", str(error), digest=descriptor.digest.hex
                ) from error
        self.state.record_attempt(desired.deployment, attempt, release_digest(release))
        return fetched

    async def _await_window(self, desired: device_state_pb2.DesiredDeployment) -> None:
        while not window_open(desired.install_windows, self.clock()):
            self._phase(desired, Phase.UPDATE_PHASE_AWAITING_INSTALL_WINDOW)
            await asyncio.sleep(WINDOW_POLL_SECONDS)

    def _deployment_dir(self, deployment: str) -> Path:
        return self.root / deployment.removeprefix("deployments/")

    def _install_directory(
        self, desired: device_state_pb2.DesiredDeployment, files: list[tuple[str, Path]]
    ) -> Path:
        """The release directory, complete before it appears under its final name."""
        releases = self._deployment_dir(desired.deployment) / "releases"
        final = releases / release_digest(desired.release)
        staging = releases / (final.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for path, source in files:
                if path == MODEL_FILE and desired.release.artifact.media_type == ARCHIVE_MEDIA_TYPE:
                    _unpack(source, staging)
                    continue
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        except (OSError, tarfile.TarError, ValueError) as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise _failed("MODEL_LOAD_FAILED", f"installing the release failed: {error}") from error
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        return final

    def _point_current(self, deployment: str, directory: Path | None) -> None:
        """Switch the deployment's `current` link in one rename (or remove it)."""
        base = self._deployment_dir(deployment)
        current = base / "current"
        if directory is None:
            current.unlink(missing_ok=True)
            return
        base.mkdir(parents=True, exist_ok=True)
        staged = base / "current.next"
        staged.unlink(missing_ok=True)
        staged.symlink_to(os.path.relpath(directory, base))
        os.replace(staged, current)

    async def _switch_and_check(
        self,
        desired: device_state_pb2.DesiredDeployment,
        directory: Path,
        previous: CommittedRelease | None,
    ) -> None:
        self._point_current(desired.deployment, directory)
        self._phase(desired, Phase.UPDATE_PHASE_HEALTH_CHECKING)
        release = desired.release
        path = model_path(release, directory)
        served = False
        try:
            model = await health_check(release, directory, path)
            # The new release serves through its stability period; the previous one stays
            # on disk until the commit.
            self.serving.serve(
                desired.deployment, model, path, desired.rollout, release.model_version
            )
            served = True
            stability = release.health_check.stability_period.ToNanoseconds() / 1e9
            if stability > 0:
                await asyncio.sleep(stability)
        except HealthCheckError as error:
            self._roll_back(desired, directory, previous, served)
            raise AttemptEnded(
                Phase.UPDATE_PHASE_ROLLED_BACK, error.reason, error.message, {}
            ) from error
        except asyncio.CancelledError:
            self._roll_back(desired, directory, previous, served)
            raise
        await self._commit(desired, directory, previous)

    def _roll_back(
        self,
        desired: device_state_pb2.DesiredDeployment,
        directory: Path,
        previous: CommittedRelease | None,
        served: bool,
    ) -> None:
        """Restore the previous release (or no release) and drop the new directory."""
        if previous is None:
            self._point_current(desired.deployment, None)
            self.serving.remove(desired.deployment)
        else:
            self._point_current(desired.deployment, previous.directory)
        if previous is not None and served:
            with contextlib.suppress(HealthCheckError):
                path = model_path(previous.release, previous.directory)
                self.serving.serve(
                    desired.deployment,
                    load_model(path, previous.release.runtime_config),
                    path,
                    previous.rollout,
                    previous.release.model_version,
                )
        if previous is None or previous.directory != directory:
            shutil.rmtree(directory, ignore_errors=True)

    async def _commit(
        self,
        desired: device_state_pb2.DesiredDeployment,
        directory: Path,
        previous: CommittedRelease | None,
    ) -> None:
        self.state.commit_release(
            CommittedRelease(
                desired.deployment, desired.release, desired.rollout, directory, time.time_ns()
            )
        )
        # Only now may the previous release go (EDG-095).
        releases = self._deployment_dir(desired.deployment) / "releases"
        for other in releases.iterdir() if releases.exists() else ():
            if other != directory:
                shutil.rmtree(other, ignore_errors=True)
        if previous is not None and previous.directory == directory:
            # Same release from another rollout: attribute inferences to the new rollout.
            self.serving.reattribute(
                desired.deployment, desired.rollout, desired.release.model_version
            )
        self.unhealthy.discard(desired.deployment)
        attempt = self.attempts[desired.deployment]
        attempt.phase = Phase.UPDATE_PHASE_COMMITTED
        attempt.end_time.CopyFrom(_now_timestamp())
        attempt.ClearField("error")
        self._set(desired, attempt)

    def _write_parameters(self, desired: device_state_pb2.DesiredDeployment) -> None:
        """`deployments/<id>/parameters.json`: what the inference application reads."""
        if desired.deployment not in self.state.committed_releases():
            return
        base = self._deployment_dir(desired.deployment)
        staged = base / "parameters.json.next"
        staged.write_text(json.dumps(effective_parameters(desired), sort_keys=True))
        os.replace(staged, base / "parameters.json")

    def _remove(self, deployment: str) -> None:
        """A deployment absent from the desired state leaves the device (EDG-096)."""
        self.serving.remove(deployment)
        self.attempts.pop(deployment, None)
        self.state.forget_deployment(deployment)
        if DEPLOYMENT_ID.match(deployment):
            shutil.rmtree(self._deployment_dir(deployment), ignore_errors=True)
        self.on_change()

    # --- reported state ---------------------------------------------------------------

    def reported_state(self) -> device_state_pb2.ReportedState:
        committed = self.state.committed_releases()
        deployments = []
        for name in sorted(set(committed) | set(self.attempts)):
            reported = device_state_pb2.ReportedDeployment(deployment=name)
            running = committed.get(name)
            if running is not None:
                commit_time = timestamp_pb2.Timestamp()
                commit_time.FromNanoseconds(running.commit_time_ns)
                reported.running.CopyFrom(
                    device_state_pb2.InstalledRelease(
                        model_version=running.release.model_version,
                        artifact_digest=running.release.artifact.digest,
                        rollout=running.rollout,
                        commit_time=commit_time,
                    )
                )
                reported.health = (
                    device_state_pb2.HEALTH_STATE_UNHEALTHY
                    if name in self.unhealthy
                    else device_state_pb2.HEALTH_STATE_HEALTHY
                )
            if name in self.attempts:
                reported.last_update.CopyFrom(self.attempts[name])
            deployments.append(reported)
        healths = [d.health for d in deployments if d.HasField("running")]
        health = device_state_pb2.HEALTH_STATE_UNSPECIFIED
        if healths:
            health = max(healths)  # HEALTHY < DEGRADED < UNHEALTHY
        return device_state_pb2.ReportedState(
            applied_generation=self.state.applied_generation,
            deployments=deployments,
            health=health,
            report_time=_now_timestamp(),
        )


def _unpack(archive: Path, target: Path) -> None:
    """Unpack a tar archive, refusing links, absolute paths and `..` segments."""
    with tarfile.open(archive, "r:") as tar:
        members = tar.getmembers()
        for member in members:
            path = PurePosixPath(member.name)
            if member.issym() or member.islnk() or path.is_absolute() or ".." in path.parts:
                raise ValueError(f"archive member {member.name!r} is a link or leaves the release")
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"archive member {member.name!r} is not a file or directory")
        for member in members:
            destination = target / member.name
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise ValueError(f"archive member {member.name!r} has no content")
            with source, destination.open("wb") as out:
                shutil.copyfileobj(source, out)

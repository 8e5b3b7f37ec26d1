"""Rollouts (spec/edge.md, "Deployments and rollouts", EDG-064 to EDG-084 and EDG-111 to
EDG-115): the operations of the rollout RPCs over the records of rollout_records.py, Create, Get,
List, ListRolloutDeviceStatuses, Pause, Resume, Abort, Rollback, ApproveRolloutStage,
RetryRolloutDevices and Watch. What moves a rollout on its own (dispatch, device states,
gates, failure actions) is rollout_controller.RolloutController.

A rollout is a job resource with its own state enum and survives a restart (its controller
picks it up again), so it does not run on aip/jobs' JobRunner, whose jobs use JobState and
fail when the server stops; it shares aip's listing, page tokens and request ids.

The rollouts reach devices only through a `RolloutFleet` (rollout_records.py, the fleet side
of the edge layer): which devices a deployment targets, their desired releases, and how they
progress."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path
from typing import Any

from lepton.edge.v1 import (
    device_state_pb2,
    edge_service_pb2,
    release_pb2,
    rollout_pb2,
)
from lepton_server.aip import request_ids, resource_names
from lepton_server.aip.pagination import PageTokens
from lepton_server.edge import rollout_strategies
from lepton_server.edge.rollout_records import (
    ACTIVE,
    COUNT_FIELDS,
    DEVICE_LISTING,
    FINAL_DEVICE_STATES,
    HANDED,
    ROLLOUT_LISTING,
    TERMINAL,
    UNFINISHED_STAGES,
    AssignedRelease,
    Clock,
    DeviceEntry,
    DeviceTrack,
    RolloutDatabase,
    RolloutFleet,
    RolloutRecord,
    ValidateRelease,
    device_getter,
    rollout_getter,
    timestamp,
)
from lepton_server.runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    invalid_field,
)

R = rollout_pb2
Rollout = rollout_pb2.Rollout
ModelRelease = release_pb2.ModelRelease

MAX_DESCRIPTION = 4096
MAX_MESSAGE = 1024
PROGRESS_INTERVAL_S = 1.0  # GEN-061: at most one progress-only Watch message per second

# --- the operations ---------------------------------------------------------------------------


class Rollouts:
    """The rollout records and the operations of the rollout RPCs.

    `validate_release(release)` checks a release and returns it as stored, with its
    release_digest (raising the release's errors); `check_deployment(name)` raises NOT_FOUND
    for a deployment that does not exist; `features` are the optional features the server
    lists (`edge.rollout_rate`, `edge.update_windows`); `clock()` is the time in ns.
    """

    def __init__(
        self,
        path: Path,
        fleet: RolloutFleet,
        validate_release: ValidateRelease,
        *,
        check_deployment: Callable[[str], object] | None = None,
        tokens: PageTokens | None = None,
        features: Collection[str] = (),
        clock: Clock = time.time_ns,
    ) -> None:
        self.database = RolloutDatabase(path)
        self.fleet = fleet
        self.clock = clock
        self._validate_release = validate_release
        self._check_deployment = check_deployment
        self._tokens = tokens or PageTokens()
        self._features = frozenset(features)
        self._records: dict[str, RolloutRecord] = {r.name: r for r in self.database.load()}
        self._watchers: dict[str, set[asyncio.Event]] = {}
        # Called after an operation that gives the controller work (a new rollout, a resume).
        self.wake: Callable[[], None] = lambda: None

    def close(self) -> None:
        for events in self._watchers.values():
            for event in events:
                event.set()
        self.database.close()

    # --- reading ------------------------------------------------------------------------------

    def get(self, name: str) -> Rollout:
        """GetRollout."""
        return _copy(self.record(name).rollout)

    def list(self, request: edge_service_pb2.ListRolloutsRequest) -> tuple[list[Rollout], str]:
        """ListRollouts: the page and its next_page_token (EDG-084)."""
        parent = request.parent
        if parent != "deployments/-":
            self._deployment(parent, "parent")
        every = parent == "deployments/-"
        page, token = ROLLOUT_LISTING.page(
            self._tokens,
            request,
            lambda: [r.rollout for r in self._records.values() if every or r.deployment == parent],
            rollout_getter,
            f"{parent}/rollouts",
        )
        return [_copy(rollout) for rollout in page], token

    def list_device_statuses(
        self, request: edge_service_pb2.ListRolloutDeviceStatusesRequest
    ) -> tuple[list[rollout_pb2.RolloutDeviceStatus], str]:
        """ListRolloutDeviceStatuses: the page and its next_page_token."""
        record = self.record(request.parent, "parent")
        page, token = DEVICE_LISTING.page(
            self._tokens,
            request,
            lambda: [entry.status for entry in record.devices.values()],
            device_getter,
            f"{record.name}/deviceStatuses",
        )
        return [_copy(status) for status in page], token

    def record(self, name: str, field_path: str = "name") -> RolloutRecord:
        """The record of rollout `name`: INVALID_NAME when malformed, NOT_FOUND when absent."""
        resource_names.parse(name, ("deployments", "rollouts"), field_path)
        record = self._records.get(name)
        if record is None:
            raise NotFound(
                reason="RESOURCE_NOT_FOUND",
                message=f"rollout {name!r} does not exist",
                metadata={"resource": name},
            )
        return record

    def active_records(self) -> list[RolloutRecord]:
        """The rollouts that are not terminal, oldest first."""
        active = [r for r in self._records.values() if r.state in ACTIVE]
        return sorted(active, key=lambda r: r.sequence)

    def active_rollout(self, deployment: str) -> str | None:
        """The deployment's active rollout (for DeleteDeployment's ROLLOUT_IN_PROGRESS)."""
        for record in self._records.values():
            if record.deployment == deployment and record.state in ACTIVE:
                return record.name
        return None

    def current_release(self, deployment: str) -> ModelRelease | None:
        """The release of the deployment's most recent SUCCEEDED rollout."""
        succeeded = [
            r
            for r in self._records.values()
            if r.deployment == deployment and r.state == R.ROLLOUT_STATE_SUCCEEDED
        ]
        if not succeeded:
            return None
        latest = max(
            succeeded, key=lambda r: (r.rollout.status.end_time.ToNanoseconds(), r.sequence)
        )
        return latest.rollout.release

    def latest_rollout(self, deployment: str) -> str:
        """The name of the deployment's most recent rollout; "" when none."""
        mine = [r for r in self._records.values() if r.deployment == deployment]
        return max(mine, key=lambda r: r.sequence).name if mine else ""

    def forget_deployment(self, deployment: str) -> None:
        """Remove every rollout of a deleted deployment (EDG-062)."""
        for name in [n for n, r in self._records.items() if r.deployment == deployment]:
            del self._records[name]
            self._notify(name)
        self.database.delete_deployment(deployment)

    # --- creating -----------------------------------------------------------------------------

    def create(
        self,
        request: edge_service_pb2.CreateRolloutRequest,
        filled: ModelRelease | None = None,
    ) -> Rollout:
        """CreateRollout (EDG-064 to EDG-066), once per request_id; `filled` is the request's
        release as a registry filled it (registry_releases.py), checked in its place."""
        deployment = self._deployment(request.parent, "parent")
        if request.rollout_id:
            resource_names.check_id(request.rollout_id, "rollout_id", "rollout id")
        request_ids.check_request_id(request.request_id)
        earlier = request_ids.replayed(self.database, "CreateRollout", deployment, request)
        if earlier is not None:
            return self.get(earlier)
        given = request.rollout
        if not given.HasField("release"):
            raise invalid_field("rollout.release", "a rollout needs a release")
        if len(given.description) > MAX_DESCRIPTION:
            raise invalid_field("rollout.description", f"at most {MAX_DESCRIPTION} characters")
        strategy = rollout_strategies.normalise_strategy(
            given.strategy, field="rollout.strategy", now_ns=self.clock(), features=self._features
        )
        release = self._validate_release(filled if filled is not None else given.release)
        rollout = self._admit(
            deployment,
            request.rollout_id,
            release=release,
            strategy=strategy,
            description=given.description,
        )
        request_ids.remember(self.database, "CreateRollout", deployment, request, rollout.name)
        return rollout

    def _admit(
        self,
        deployment: str,
        rollout_id: str,
        *,
        release: ModelRelease,
        strategy: rollout_pb2.RolloutStrategy,
        description: str = "",
        rollback_of: str = "",
    ) -> Rollout:
        active = self.active_rollout(deployment)
        if active is not None:
            raise FailedPrecondition(
                reason="ROLLOUT_IN_PROGRESS",
                message=f"{deployment} has an active rollout, {active}",
                metadata={"rollout": active},
            )
        name = f"{deployment}/rollouts/{rollout_id or 'rollout-' + uuid.uuid4().hex[:12]}"
        if name in self._records:
            raise AlreadyExists(
                reason="RESOURCE_ALREADY_EXISTS",
                message=f"rollout {name!r} exists already",
                metadata={"resource": name},
            )
        now = self.clock()
        rollout = Rollout(
            name=name,
            description=description,
            release=release,
            strategy=strategy,
            rollback_of=rollback_of,
        )
        previous = self.current_release(deployment)
        if previous is not None:
            rollout.previous_release.CopyFrom(previous)
        rollout.status.create_time.CopyFrom(timestamp(now))
        sequence = max((r.sequence for r in self._records.values()), default=0) + 1
        record = RolloutRecord(rollout, deployment, sequence, counting_since_ns=now)
        self._records[name] = record
        self.transition(record, R.ROLLOUT_STATE_QUEUED, "created")
        self.commit(record)
        self.fleet.set_rollout_state(deployment, name, True)
        self.wake()
        return _copy(rollout)

    # --- operator actions ---------------------------------------------------------------------

    def pause(self, request: edge_service_pb2.PauseRolloutRequest) -> Rollout:
        """PauseRollout (EDG-076)."""
        record = self.record(request.name)
        _check_message(request.message)
        self._refuse_unless_active(record)
        if record.state in (R.ROLLOUT_STATE_QUEUED, R.ROLLOUT_STATE_RUNNING):
            self.transition(record, R.ROLLOUT_STATE_PAUSED, request.message or "paused by operator")
            self.commit(record)
        return self.get(record.name)

    def resume(self, request: edge_service_pb2.ResumeRolloutRequest) -> Rollout:
        """ResumeRollout (EDG-076): clears the error, restarts the gate's timeout and the
        counting of the abort criteria."""
        record = self.record(request.name)
        _check_message(request.message)
        self._refuse_unless_active(record)
        if record.state == R.ROLLOUT_STATE_PAUSED:
            now = self.clock()
            started = record.rollout.status.HasField("start_time")
            record.rollout.status.ClearField("error")
            record.counting_since_ns = now
            record.gate_since_ns = now
            if record.rollout.stages:
                stage = record.rollout.stages[record.rollout.current_stage]
                stage.ClearField("bake_start_time")
                if stage.state == R.ROLLOUT_STAGE_STATE_FAILED:
                    # The failed gate is evaluated again (after retries, say).
                    stage.state = R.ROLLOUT_STAGE_STATE_VERIFYING
                    stage.ClearField("end_time")
            state = R.ROLLOUT_STATE_RUNNING if started else R.ROLLOUT_STATE_QUEUED
            self.transition(record, state, request.message or "resumed by operator")
            self.commit(record)
            self.wake()
        return self.get(record.name)

    def abort(self, request: edge_service_pb2.AbortRolloutRequest) -> Rollout:
        """AbortRollout, the rollout's Cancel (EDG-077)."""
        record = self.record(request.name)
        _check_message(request.message)
        if record.state == R.ROLLOUT_STATE_ABORTED:
            return self.get(record.name)
        self._refuse_unless_active(record)
        self.finish(record, R.ROLLOUT_STATE_ABORTED, request.message or "aborted by operator")
        self.commit(record)
        return self.get(record.name)

    def rollback(self, request: edge_service_pb2.RollbackRolloutRequest) -> Rollout:
        """RollbackRollout (EDG-078, EDG-079): an active rollout rolls back at once; a finished
        one that is its deployment's latest is undone by a new rollout of its previous
        release, created once per request_id."""
        record = self.record(request.name)
        _check_message(request.message)
        if record.state in (R.ROLLOUT_STATE_ROLLING_BACK, R.ROLLOUT_STATE_ROLLED_BACK):
            return self.get(record.name)
        if record.state in ACTIVE:
            self.enter_rollback(record, request.message or "rollback requested by operator")
            self.commit(record)
            self.wake()
            return self.get(record.name)
        request_ids.check_request_id(request.request_id)
        earlier = request_ids.replayed(self.database, "RollbackRollout", record.name, request)
        if earlier is not None:
            return self.get(earlier)
        latest = self.latest_rollout(record.deployment)
        if latest != record.name:
            raise FailedPrecondition(
                reason="ROLLOUT_SUPERSEDED",
                message=f"{record.name} is not the latest rollout of {record.deployment}",
                metadata={"rollout": record.name, "latest_rollout": latest},
            )
        if not record.rollout.HasField("previous_release"):
            raise FailedPrecondition(
                reason="NO_PREVIOUS_RELEASE",
                message=f"{record.name} has no previous release to return to",
                metadata={"rollout": record.name},
            )
        if request.HasField("strategy"):
            strategy = rollout_strategies.normalise_strategy(
                request.strategy, field="strategy", now_ns=self.clock(), features=self._features
            )
        else:
            strategy = rollout_strategies.normalise_strategy(
                rollout_strategies.rollback_strategy(), field="strategy", now_ns=self.clock()
            )
        release = self._validate_release(record.rollout.previous_release)
        created = self._admit(
            record.deployment,
            "",
            release=release,
            strategy=strategy,
            description=request.message or f"rollback of {record.name}",
            rollback_of=record.name,
        )
        request_ids.remember(self.database, "RollbackRollout", record.name, request, created.name)
        return created

    def approve_stage(self, request: edge_service_pb2.ApproveRolloutStageRequest) -> Rollout:
        """ApproveRolloutStage (EDG-112): the stage waiting for approval, or a later one that
        requires it (approved in advance)."""
        record = self.record(request.name)
        _check_message(request.message)
        stages = record.rollout.strategy.stages
        if not 0 <= request.stage < len(stages):
            raise invalid_field("stage", f"the rollout has stages 0 to {len(stages) - 1}")
        if record.state in TERMINAL:
            raise self._refusal(record, "JOB_ALREADY_FINISHED")
        if record.state == R.ROLLOUT_STATE_ROLLING_BACK:
            raise self._refusal(record, "ROLLOUT_ROLLING_BACK")
        if request.stage in record.approvals:
            return self.get(record.name)
        statuses = record.rollout.stages
        waiting = bool(statuses) and (
            statuses[request.stage].state == R.ROLLOUT_STAGE_STATE_AWAITING_APPROVAL
        )
        ahead = stages[request.stage].require_approval and (
            not statuses or request.stage > record.rollout.current_stage
        )
        if not (waiting or ahead):
            raise FailedPrecondition(
                reason="ROLLOUT_STAGE_NOT_AWAITING_APPROVAL",
                message=f"stage {request.stage} of {record.name} is not awaiting approval",
                metadata={"rollout": record.name, "stage": str(request.stage)},
            )
        now = self.clock()
        record.approvals[request.stage] = now
        if statuses:
            statuses[request.stage].approve_time.CopyFrom(timestamp(now))
        self.commit(record)
        self.wake()
        return self.get(record.name)

    def retry_devices(
        self, request: edge_service_pb2.RetryRolloutDevicesRequest
    ) -> tuple[Rollout, list[str]]:
        """RetryRolloutDevices (EDG-114): FAILED and TIMED_OUT devices return to PENDING and
        are dispatched again in a new desired generation."""
        record = self.record(request.name)
        self._refuse_unless_active(record)
        retryable = (R.ROLLOUT_DEVICE_STATE_FAILED, R.ROLLOUT_DEVICE_STATE_TIMED_OUT)
        if request.devices:
            for i, device in enumerate(request.devices):
                resource_names.parse(device, ("devices",), f"devices[{i}]")
            for device in request.devices:
                entry = record.devices.get(device)
                if entry is None or entry.status.state not in retryable:
                    raise FailedPrecondition(
                        reason="ROLLOUT_DEVICE_NOT_RETRYABLE",
                        message=f"{device} is not a FAILED or TIMED_OUT device of {record.name}",
                        metadata={"rollout": record.name, "device": device},
                    )
            chosen = sorted(set(request.devices))
        else:
            chosen = sorted(n for n, e in record.devices.items() if e.status.state in retryable)
        now = self.clock()
        for device in chosen:
            entry = record.devices[device]
            status = entry.status
            for name in ("error", "dispatch_time", "acknowledge_time"):
                status.ClearField(name)
            status.phase = device_state_pb2.UPDATE_PHASE_UNSPECIFIED
            self.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_PENDING, now)
            entry.track = DeviceTrack(
                position=entry.track.position, final_once=entry.track.final_once
            )
        if chosen:
            self.commit(record)
            self.wake()
        return self.get(record.name), chosen

    # --- watching -----------------------------------------------------------------------------

    async def watch(self, name: str) -> AsyncIterator[Rollout]:
        """WatchRollout (EDG-082, GEN-061): the rollout now; then each state entered, in
        order; in between at most one message a second when stages, progress or device
        counts moved; the stream ends after the first terminal message."""
        record = self.record(name)
        sent = _copy(record.rollout)
        yield sent
        if sent.status.state in TERMINAL:
            return
        seen = len(sent.status.history)
        event = asyncio.Event()
        self._watchers.setdefault(name, set()).add(event)
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        deferred: float | None = None
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), deferred)
                event.clear()
                deferred = None
                record = self._records.get(name)
                if record is None:
                    return
                history = len(record.rollout.status.history)
                if history > seen:
                    for index in range(seen, history):
                        message = _copy(record.transitions.get(index, record.rollout))
                        if index == history - 1:
                            message = _copy(record.rollout)
                        yield message
                        if message.status.state in TERMINAL:
                            return
                    seen, sent, last_sent = history, _copy(record.rollout), loop.time()
                elif _moved(sent, record.rollout):
                    wait = PROGRESS_INTERVAL_S - (loop.time() - last_sent)
                    if wait > 0:
                        deferred = wait
                        continue
                    sent, last_sent = _copy(record.rollout), loop.time()
                    yield sent
        finally:
            self._watchers.get(name, set()).discard(event)

    # --- changing records (shared with the controller) ----------------------------------------

    def transition(self, record: RolloutRecord, state: int, message: str = "") -> None:
        """Enter `state`, with its history entry, start and end times (EDG-080)."""
        now = self.clock()
        status = record.rollout.status
        status.state = state
        status.history.add(state=state, time=timestamp(now), message=message)
        if state == R.ROLLOUT_STATE_RUNNING and not status.HasField("start_time"):
            status.start_time.CopyFrom(timestamp(now))
        if state in TERMINAL:
            status.end_time.CopyFrom(timestamp(now))
        self.refresh(record)
        record.transitions[len(status.history) - 1] = _copy(record.rollout)

    def finish(self, record: RolloutRecord, state: int, message: str) -> None:
        """End the rollout in terminal `state`: unfinished stages SKIPPED, PENDING devices
        SKIPPED, the deployment's rollout no longer active."""
        now = self.clock()
        self._skip_unfinished_stages(record, now)
        for entry in record.devices.values():
            if entry.status.state == R.ROLLOUT_DEVICE_STATE_PENDING:
                self.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_SKIPPED, now)
        self.transition(record, state, message)
        self.fleet.set_rollout_state(
            record.deployment, self.latest_rollout(record.deployment), False
        )

    def enter_rollback(self, record: RolloutRecord, message: str) -> None:
        """Move an active rollout to ROLLING_BACK (spec/edge.md, "Rollback"): every handed
        device gets its assignment set back at once, PENDING devices become SKIPPED."""
        now = self.clock()
        self._skip_unfinished_stages(record, now)
        previous = (
            record.rollout.previous_release if record.rollout.HasField("previous_release") else None
        )
        back: dict[str, AssignedRelease | None] = {}
        for name, entry in record.devices.items():
            if entry.status.state == R.ROLLOUT_DEVICE_STATE_PENDING:
                self.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_SKIPPED, now)
            elif entry.status.state in HANDED:
                self.set_device_state(entry, R.ROLLOUT_DEVICE_STATE_ROLLING_BACK, now)
                back[name] = AssignedRelease(previous, "") if previous is not None else None
        self.transition(record, R.ROLLOUT_STATE_ROLLING_BACK, message)
        if back:
            generations = self.fleet.assign(record.deployment, back)
            for name in back:
                track = record.devices[name].track
                track.rollback_ns = now
                track.generation = generations.get(name, track.generation)

    def set_device_state(self, entry: DeviceEntry, state: int, now: int) -> None:
        entry.status.state = state
        entry.status.update_time.CopyFrom(timestamp(now))
        if state in FINAL_DEVICE_STATES:
            entry.track.final_once = True

    def refresh(self, record: RolloutRecord) -> None:
        """device_counts and status.progress from the device statuses (EDG-081)."""
        counts = R.RolloutDeviceCounts(targeted_count=len(record.devices))
        for entry in record.devices.values():
            name = COUNT_FIELDS[entry.status.state]
            setattr(counts, name, getattr(counts, name) + 1)
            if entry.status.state == R.ROLLOUT_DEVICE_STATE_SUCCEEDED and entry.track.healthy:
                counts.healthy_count += 1
        record.rollout.device_counts.CopyFrom(counts)
        if record.rollout.stages:
            progress = record.rollout.status.progress
            progress.total = len(record.devices)
            progress.completed = sum(e.track.final_once for e in record.devices.values())
            progress.unit = "devices"

    def commit(self, record: RolloutRecord, *, devices: bool = True) -> None:
        """Stamp update_time, persist the record and tell its watchers."""
        if record.state not in TERMINAL:  # a terminal rollout's counts are frozen (EDG-080)
            self.refresh(record)
        record.rollout.update_time.CopyFrom(timestamp(self.clock()))
        self.database.put(record, devices=devices)
        self._notify(record.name)

    # --- internals ----------------------------------------------------------------------------

    def _skip_unfinished_stages(self, record: RolloutRecord, now: int) -> None:
        for stage in record.rollout.stages:
            if stage.state in UNFINISHED_STAGES:
                stage.state = R.ROLLOUT_STAGE_STATE_SKIPPED
                stage.end_time.CopyFrom(timestamp(now))
                stage.ClearField("bake_start_time")

    def _deployment(self, name: str, field_path: str) -> str:
        resource_names.parse(name, ("deployments",), field_path)
        if self._check_deployment is not None:
            self._check_deployment(name)
        return name

    def _refuse_unless_active(self, record: RolloutRecord) -> None:
        if record.state in TERMINAL:
            raise self._refusal(record, "JOB_ALREADY_FINISHED")
        if record.state == R.ROLLOUT_STATE_ROLLING_BACK:
            raise self._refusal(record, "ROLLOUT_ROLLING_BACK")

    def _refusal(self, record: RolloutRecord, reason: str) -> FailedPrecondition:
        state = R.RolloutState.Name(record.state)
        return FailedPrecondition(
            reason=reason,
            message=f"{record.name} is {state.removeprefix('ROLLOUT_STATE_')}",
            metadata={"rollout": record.name, "state": state},
        )

    def _notify(self, name: str) -> None:
        for event in self._watchers.get(name, ()):
            event.set()


def _check_message(message: str) -> None:
    if len(message) > MAX_MESSAGE:
        raise invalid_field("message", f"at most {MAX_MESSAGE} characters")


def _moved(before: Rollout, after: Rollout) -> bool:
    return (
        list(before.stages) != list(after.stages)
        or before.status.progress != after.status.progress
        or before.device_counts != after.device_counts
    )


def _copy(message: Any) -> Any:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy

"""Mutants of the edge fleet server (spec/edge.md 5.1 to 5.9): the reference server with one
MUST of registration, the device twin, rollouts, release checks, artifact uploads, telemetry
or WatchDevices broken."""

from __future__ import annotations

from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_server.aip.filtering.compile import Filter
from lepton_server.edge import (
    artifact_store,
    desired_states,
    device_commands,
    device_watch,
    fleet_database,
    registration,
    registry_releases,
    releases,
    rollout_controller,
    rollouts,
    telemetry_store,
)
from mutants.mutation import Mutant, replace, set_attribute

FLEET = "edge-fleet"


def _bake_ignored(original):
    """A gate passes as soon as its healthy share is reached: the bake is skipped."""

    def mutated(self, record, index):
        verdict = original(self, record, index)
        baking = record.rollout.stages[index].HasField("bake_start_time")
        return True if verdict is None and baking else verdict

    return mutated


def _share_ignored(original):
    """A gate that is still waiting passes: the next stage starts before the share is met."""

    def mutated(self, record, index):
        verdict = original(self, record, index)
        return True if verdict is None else verdict

    return mutated


def _rollback_keeps_assignments(original):
    """ROLLING_BACK is entered but no device's assignment is set back."""

    def mutated(self, record, message):
        self.fleet.assign = lambda deployment, releases: {}
        try:
            original(self, record, message)
        finally:
            del self.fleet.assign

    return mutated


def _challenge_kept(original):
    """A challenge survives the Register that presents it: a captured request replays."""

    def mutated(self, challenge):
        issued = original(self, challenge)
        if issued is not None:
            self.add_challenge(challenge, *issued)
        return issued

    return mutated


def _digest_unchecked(original):
    """CreateRollout recomputes the release digest without comparing the client's."""

    def mutated(release, *args, **kwargs):
        cleared = type(release)()
        cleared.CopyFrom(release)
        cleared.ClearField("release_digest")
        return original(cleared, *args, **kwargs)

    return mutated


def _generation_kept(original):
    """A targeting change (not a rollout's dispatch) changes the desired deployments but
    keeps the generation."""

    def mutated(self, device, *, redispatch=False):
        row = self.db.device(device)
        before = row.device.desired_state.generation if row is not None else 0
        after = original(self, device, redispatch=redispatch)
        if after > before and not redispatch:
            row = self.db.device(device)
            row.device.desired_state.generation = before
            self.db.put_device(row)
            return before
        return after

    return mutated


def _upload_restarts(original):
    """Every new upload stream of an unfinished upload starts again at 0."""

    async def mutated(self, header, *, max_bytes=None):
        sha256 = header.artifact.digest.hex
        if sha256 and self.stored(sha256) is None:
            self._discard(sha256)
        return await original(self, header, max_bytes=max_bytes)

    return mutated


class _ClaimsTheDigest:
    def __init__(self, hex_digest: str) -> None:
        self.hex_digest = hex_digest

    def hexdigest(self) -> str:
        return self.hex_digest


def _digest_trusted(original):
    """A complete upload is stored under its declared digest whatever its bytes hash to."""

    async def mutated(self, session):
        hashed = self._hashes.get(session.sha256)
        if hashed is not None:
            self._hashes[session.sha256] = (hashed[0], _ClaimsTheDigest(session.sha256))
        return await original(self, session)

    return mutated


def _rollout_filter_ignored(original):
    """ListTelemetryRecords drops the record.rollout terms of its filter."""

    def mutated(text, fields, *args, **kwargs):
        compiled = original(text, fields, *args, **kwargs)
        kept = [t for t in compiled.terms if t.field.path not in ("record.rollout", "rollout")]
        return Filter(tuple(kept))

    return mutated


def _deleted_not_sent(original):
    """WatchDevices never sends DELETED."""

    def mutated(self, *args, **kwargs):
        message = original(self, *args, **kwargs)
        if message is not None and message.change_type == pb.DEVICE_CHANGE_TYPE_DELETED:
            return None
        return message

    return mutated


def _cases(*ids: str) -> frozenset[str]:
    return frozenset(f"{FLEET}.{case}" for case in ids)


def _key_not_defaulted(original):
    """A command created without an idempotency key keeps an empty one."""

    def mutated(self, request):
        command = original(self, request)
        if not request.command.idempotency_key:
            command.idempotency_key = ""
        return command

    return mutated


def _never_expires(original):
    """Commands are never made EXPIRED."""

    def mutated(self, command, now, device=None):
        return command

    return mutated


def _delivered_cancellable(original):
    """A DELIVERED command is cancelled as a PENDING one would be."""

    def mutated(self, name):
        command = self.get(name)
        if command.state == device_commands.DELIVERED:
            command.state = device_commands.CANCELLED
            self.db.put_command(name.rsplit("/commands/", 1)[0], command)
            return command
        return original(self, name)

    return mutated


def _no_allowance_limit(original):
    """No dispatch is held back for the rate."""

    def mutated(self, record):
        return None

    return mutated


def _bytes_left_behind(original):
    """The release is filled from the registry, but its artifact stays in the registry."""

    def mutated(self, version):
        return None

    return mutated


MUTANTS: dict[str, Mutant] = {
    "edge-command-key-not-defaulted": Mutant(
        "EDG-039: a command created without an idempotency key is returned with none",
        replace(device_commands.DeviceCommands, "create", _key_not_defaulted),
        # The delivery then carries a key the command as returned did not.
        _cases(
            "commands.create-checks-the-command-and-fills-its-defaults",
            "commands.delivered-on-each-stream-until-taken-on",
        ),
    ),
    "edge-commands-not-redelivered": Mutant(
        "EDG-040: a DELIVERED command is not delivered again on a new Sync stream",
        set_attribute(device_commands, "DELIVERABLE", frozenset({device_commands.PENDING})),
        _cases("commands.delivered-on-each-stream-until-taken-on"),
    ),
    "edge-command-terminal-updated": Mutant(
        "EDG-041: an update moves a command that already ended",
        set_attribute(device_commands, "TERMINAL", frozenset()),
        _cases("commands.updates-move-the-command-until-it-ends"),
    ),
    "edge-commands-never-expire": Mutant(
        "EDG-042: a command past its expire_time stays PENDING and is still delivered",
        replace(device_commands.DeviceCommands, "_expired", _never_expires),
        _cases("commands.expire-and-are-never-delivered"),
    ),
    "edge-command-cancelled-after-delivery": Mutant(
        "EDG-043: CancelDeviceCommand cancels a DELIVERED command",
        replace(device_commands.DeviceCommands, "cancel", _delivered_cancellable),
        _cases("commands.cancel-a-pending-command-only"),
    ),
    "edge-dispatch-rate-ignored": Mutant(
        "EDG-085: a rollout with a dispatch rate hands every device the release at once",
        replace(rollout_controller.RolloutController, "_rate_allowance", _no_allowance_limit),
        _cases("rollouts.a-dispatch-rate-paces-the-devices"),
    ),
    "edge-update-windows-ignored": Mutant(
        "EDG-086: a rollout dispatches while none of its update windows is open",
        set_attribute(rollout_controller, "window_open", lambda windows, now: True),
        _cases("rollouts.update-windows-hold-dispatch"),
    ),
    "edge-registry-bytes-left-behind": Mutant(
        "EDG-123: a release resolved in the hosted registry, whose artifact the fleet does "
        "not bring into its store (CreateRollout: ARTIFACT_NOT_AVAILABLE)",
        replace(registry_releases.RegistryReleases, "_import_artifact", _bytes_left_behind),
        _cases("releases.a-hosted-registry-resolves-the-release"),
    ),
    "edge-gate-skips-its-bake": Mutant(
        "EDG-072: a health gate passes when its healthy share is reached, without the bake",
        replace(rollout_controller.RolloutController, "_gate", _bake_ignored),
        _cases("rollouts.stages-wait-for-their-gate-and-its-bake"),
    ),
    "edge-gate-passes-before-its-share": Mutant(
        "EDG-069, EDG-072: a waiting health gate passes, so the next stage is dispatched "
        "before the share is reached",
        replace(rollout_controller.RolloutController, "_gate", _share_ignored),
        _cases(
            "rollouts.a-failed-gate-rolls-the-devices-back",
            "rollouts.approval-and-retry",
            "rollouts.failure-actions-pause-or-stop",
            "rollouts.pause-resume-and-abort-follow-the-table",
            "rollouts.stages-wait-for-their-gate-and-its-bake",
            "rollouts.telemetry-gates-judge-inference-events",
        ),
    ),
    "edge-rollback-leaves-the-release": Mutant(
        "EDG-078: a rollout rolling back leaves its devices assigned the bad release",
        replace(rollouts.Rollouts, "enter_rollback", _rollback_keeps_assignments),
        _cases("rollouts.a-failed-gate-rolls-the-devices-back"),
    ),
    "edge-register-accepts-any-proof": Mutant(
        "EDG-106: Register does not verify the challenge signature",
        set_attribute(registration, "_verify_proof", lambda request: None),
        _cases("registration.challenges-are-fresh-and-single-use"),
    ),
    "edge-register-challenge-reusable": Mutant(
        "EDG-106: a challenge stays valid after a Register presented it",
        replace(fleet_database.FleetDatabase, "take_challenge", _challenge_kept),
        _cases("registration.challenges-are-fresh-and-single-use"),
    ),
    "edge-rollout-accepts-unsigned-releases": Mutant(
        "EDG-104: CreateRollout checks no release signature",
        set_attribute(releases, "_check_signatures", lambda release, field: None),
        _cases("releases.create-rollout-checks-digest-signatures-and-files"),
    ),
    "edge-rollout-ignores-the-release-digest": Mutant(
        "EDG-103: CreateRollout accepts a release_digest that is not the canonical one",
        replace(releases, "validate_release", _digest_unchecked),
        _cases("releases.create-rollout-checks-digest-signatures-and-files"),
    ),
    "edge-desired-generation-not-bumped": Mutant(
        "EDG-033, EDG-061: a device's desired deployments change under the same generation",
        replace(desired_states.DesiredStates, "recompute", _generation_kept),
        _cases("rollouts.the-current-release-follows-targeting"),
    ),
    "edge-upload-resume-restarts-at-zero": Mutant(
        "EDG-048, EDG-116: a new upload stream discards the committed bytes",
        replace(artifact_store.ArtifactStore, "begin", _upload_restarts),
        _cases(
            "artifacts.device-blobs-upload-resumably-and-download",
            "artifacts.upload-resumes-at-the-committed-offset",
        ),
    ),
    "edge-upload-trusts-the-declared-digest": Mutant(
        "EDG-048, EDG-116: an upload whose bytes hash to another digest is stored",
        replace(artifact_store.ArtifactStore, "_complete", _digest_trusted),
        _cases(
            "artifacts.device-blobs-upload-resumably-and-download",
            "artifacts.upload-resumes-at-the-committed-offset",
        ),
    ),
    "edge-telemetry-ignores-the-mark": Mutant(
        "EDG-052, EDG-053: every resent record counts as accepted, none as a duplicate",
        set_attribute(telemetry_store, "bisect_right", lambda sequences, mark: 0),
        _cases("telemetry.high-water-marks-make-resends-duplicates"),
    ),
    "edge-telemetry-list-ignores-the-rollout": Mutant(
        "EDG-118: ListTelemetryRecords ignores a record.rollout filter",
        replace(telemetry_store, "compile_filter", _rollout_filter_ignored),
        _cases("telemetry.list-records-with-filters-across-devices"),
    ),
    "edge-watch-devices-without-deleted": Mutant(
        "EDG-117: WatchDevices never says DELETED",
        replace(device_watch._Watch, "change", _deleted_not_sent),
        _cases("watch.devices-then-a-marker-then-every-change"),
    ),
}

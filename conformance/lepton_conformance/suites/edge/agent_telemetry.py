"""edge-agent cases of telemetry and of life without the fleet (spec/edge.md 2.8): inference
events carry the deployment and rollout of the serving release (EDG-119); records in the
outbox survive a SIGKILL and are uploaded after the restart, in ascending order and not
again once acknowledged (EDG-099); committed releases keep serving, and inferences keep
being recorded, while the fleet is unreachable (EDG-098, EDG-120); a device that lost its
state uses a new boot id and numbers its records from 1 again (EDG-090)."""

from __future__ import annotations

import shutil
import time

from lepton.edge.v1 import telemetry_pb2
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.agent_rig import (
    BASELINE_FACTOR,
    DEPLOYMENT,
    PROMPT_S,
    AgentRig,
    deployment_of,
    describe_state,
    rig,
)
from lepton_conformance.suites.edge.profiles import AGENT

CASES = CaseList()
INFERENCES = 4
QUIET_S = 1.5
Key = tuple[str, str, int]  # (stream, boot id, sequence)


def _records(r: AgentRig, since: int, failed: bool | None = False):
    """(key, record) of every record in the uploads after `since` (failed ones, accepted
    ones, or both with None)."""
    for event in r.fleet.since(since, "UploadTelemetry"):
        if failed is not None and event.info["failed"] != failed:
            continue
        for segment in event.message.segments:
            for record in segment.records:
                yield (segment.stream, segment.boot_id, record.sequence), record


def _inference_keys(
    r: AgentRig, since: int, failed: bool | None = False
) -> dict[Key, telemetry_pb2.TelemetryRecord]:
    return {
        key: record for key, record in _records(r, since, failed) if record.HasField("inference")
    }


def _wait_uploaded(r: AgentRig, since: int, count: int, what: str, failed: bool = False) -> dict:
    deadline = time.monotonic() + PROMPT_S
    while True:
        found = _inference_keys(r, since, failed)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise Failed(what, f"{len(found)} inference record(s) within {PROMPT_S:g} s")
        time.sleep(0.1)


def _infer(r: AgentRig, count: int, tag: str) -> None:
    for index in range(count):
        r.infer(request_id=f"{tag}-{index}")


@CASES.case(AGENT, "telemetry.inference-events-attributed", "EDG-119")
def inference_events_carry_deployment_and_rollout(ctx: CaseContext) -> None:
    """Every inference event names the deployment and the rollout that assigned the serving
    release"""
    r = rig(ctx)
    r.ensure_baseline()
    release = r.release(BASELINE_FACTOR)
    since = r.fleet.mark()
    _, desired = r.deploy(release)
    reported = r.outcome(release, since)
    if reported.running.artifact_digest.hex != release.model_digest:
        raise Failed("the new release committed", describe_state(r.reported_states(since)[-1]))
    r.baseline = release
    committed = reported.running.commit_time.ToNanoseconds()
    since = r.fleet.mark()
    _infer(r, INFERENCES, "edg-119")
    deadline = time.monotonic() + PROMPT_S
    while True:
        # Events of inferences made before the commit (uploaded late) name the rollout
        # that assigned the release serving then; those made since, this one's.
        events = {
            key: record
            for key, record in _inference_keys(r, since).items()
            if record.time.ToNanoseconds() >= committed
        }
        if len(events) >= INFERENCES:
            break
        if time.monotonic() > deadline:
            raise Failed(
                f"{INFERENCES} inference events (at or after the commit time) uploaded",
                f"{len(events)} within {PROMPT_S:g} s",
            )
        time.sleep(0.1)
    for (stream, _, sequence), record in sorted(events.items()):
        if (record.deployment, record.rollout) != (DEPLOYMENT, desired.rollout):
            raise Failed(
                f"inference events with deployment {DEPLOYMENT!r} and rollout {desired.rollout!r}",
                f"{stream} #{sequence}: deployment {record.deployment!r}, rollout "
                f"{record.rollout!r}",
            )


@CASES.case(AGENT, "telemetry.outbox-survives-sigkill", "EDG-099")
def outbox_survives_sigkill(ctx: CaseContext) -> None:
    """Records the agent tried to upload before a SIGKILL are uploaded after the restart,
    each stream in ascending order, and not sent again once acknowledged"""
    r = rig(ctx)
    r.ensure_baseline()
    r.fleet.uploads_fail = True
    try:
        since = r.fleet.mark()
        _infer(r, INFERENCES, "edg-099")
        tried = _wait_uploaded(
            r, since, INFERENCES, "upload attempts of the inference events", failed=True
        )
        r.agent.kill()
    finally:
        r.fleet.uploads_fail = False
    since = r.fleet.mark()
    r.start()
    deadline = time.monotonic() + PROMPT_S
    while set(tried) - set(r.fleet.stored):
        if time.monotonic() > deadline:
            lost = len(set(tried) - set(r.fleet.stored))
            raise Failed(
                "every record tried before the SIGKILL uploaded after the restart",
                f"{lost} of {len(tried)} never uploaded",
            )
        time.sleep(0.1)
    for key, record in tried.items():
        if r.fleet.stored[key] != record:
            raise Failed(f"record {key} uploaded as it was first tried", "a different record")
    time.sleep(QUIET_S)
    # What the fleet acknowledged so far, per (stream, boot id), as the agent was told.
    acknowledged: dict[tuple[str, str], int] = {}
    for event in r.fleet.since(since, "UploadTelemetry"):
        for segment in event.message.segments:
            pair = (segment.stream, segment.boot_id)
            sequences = [record.sequence for record in segment.records]
            if sequences != sorted(set(sequences)):
                raise Failed(f"{pair} uploaded in ascending sequence order", str(sequences))
            if sequences and sequences[0] <= acknowledged.get(pair, 0):
                raise Failed(
                    f"no record of {pair} at or below its acknowledged mark "
                    f"{acknowledged[pair]} sent again",
                    f"sequence {sequences[0]}",
                )
        if not event.info["failed"]:
            acknowledged.update(event.info["acks"])


@CASES.case(AGENT, "offline.serves-while-fleet-unreachable", "EDG-098", "EDG-120")
def serves_while_the_fleet_is_unreachable(ctx: CaseContext) -> None:
    """With the fleet unreachable, a restarted agent serves its committed release over OIP
    and records its inferences, which it uploads once the fleet is back"""
    r = rig(ctx)
    base = r.ensure_baseline()
    r.fleet.set_reachable(False)
    try:
        r.restart()
        time.sleep(QUIET_S)
        r.expect_answers(BASELINE_FACTOR, "the committed release while the fleet is unreachable")
        since = r.fleet.mark()
        _infer(r, INFERENCES, "edg-098")
        time.sleep(QUIET_S)
        r.expect_answers(BASELINE_FACTOR, "the committed release while the fleet is unreachable")
    finally:
        r.fleet.set_reachable(True)
    hello = r.wait_for_stream(since)
    reported = deployment_of(hello.message.reported_state)
    if reported is None or reported.running.artifact_digest.hex != base.model_digest:
        raise Failed(
            "the release kept while the fleet was unreachable",
            describe_state(hello.message.reported_state),
        )
    _wait_uploaded(
        r, since, INFERENCES + 1, "the inferences made while the fleet was unreachable uploaded"
    )


@CASES.case(AGENT, "telemetry.new-boot-after-state-loss", "EDG-090")
def lost_state_gives_a_new_boot_id(ctx: CaseContext) -> None:
    """An agent that lost its state registers with a new boot id and numbers its telemetry
    from 1 under it"""
    r = rig(ctx)
    r.ensure_baseline()
    boots = {e.message.boot_id for e in r.fleet.since(0, "Register")}
    r.agent.kill()
    shutil.rmtree(r.state_dir, ignore_errors=True)
    since = r.fleet.mark()
    r.baseline = None
    r.start()
    register = r.expect(lambda e: e.kind == "Register", "Register after the state was lost", since)
    boot = register.message.boot_id
    if boot in boots:
        raise Failed("a new boot_id after the state was lost", f"{boot!r}, used before")
    r.ensure_baseline()
    mark = r.fleet.mark()
    _infer(r, 1, "edg-090")
    _wait_uploaded(r, mark, 1, "an inference event uploaded")
    firsts: dict[str, int] = {}
    for (stream, boot_id, sequence), _ in _records(r, since):
        if boot_id == boot:
            firsts[stream] = min(firsts.get(stream, sequence), sequence)
    if not firsts or any(first != 1 for first in firsts.values()):
        raise Failed(f"every stream numbered from 1 under boot id {boot!r}", str(firsts))

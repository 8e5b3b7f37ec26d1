"""edge-agent cases of registration and the Sync stream (spec/edge.md 2.1-2.3): a fresh
registration proof at every start with a key kept across restarts (EDG-088), the hello first
with the reported state and the generation held, heartbeats every report interval (EDG-091),
desired states persisted before they are acknowledged and older generations ignored
(EDG-092), and commands of an unsupported type rejected once per idempotency key
(EDG-101)."""

from __future__ import annotations

import time

from google.protobuf import duration_pb2

from lepton.edge.v1 import command_pb2, device_state_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.agent_rig import (
    BASELINE_FACTOR,
    DEPLOYMENT,
    DEVICE_ID,
    AgentRig,
    deployment_of,
    describe_state,
    rig,
)
from lepton_conformance.suites.edge.fake_fleet import REPORT_INTERVAL_S, Event
from lepton_conformance.suites.edge.profiles import AGENT

CASES = CaseList()
# Heartbeats counted over this many report intervals (plus one of slack).
HEARTBEAT_INTERVALS = 3
# How long an agent is watched for doing what it must not.
QUIET_S = 2.0
# A command type no agent implements.
UNSUPPORTED_COMMAND = "lepton-conformance.unsupported"
REJECTED = command_pb2.DEVICE_COMMAND_STATE_REJECTED


def check_registration(r: AgentRig, since: int, wanted: str) -> Event:
    """The agent's next Register after `since`, which must carry a valid proof over a
    challenge the fleet issued for it."""
    register = r.expect(
        lambda e: e.kind == "Register", f"the agent to call Register {wanted}", since
    )
    if register.info["problem"]:
        raise Failed(
            f"Register {wanted} with a valid proof over a fresh challenge",
            register.info["problem"],
        )
    return register


@CASES.case(AGENT, "registration.proof", "EDG-088")
def registers_with_a_fresh_proof(ctx: CaseContext) -> None:
    """At start the agent registers with a fresh challenge signed by its Ed25519 device key"""
    r = rig(ctx)
    register = check_registration(r, 0, "at start")
    first = r.fleet.since(0)[0]
    if first.kind != "CreateRegistrationChallenge":
        raise Failed("CreateRegistrationChallenge as the agent's first call", first.kind)
    if not register.message.boot_id:
        raise Failed("a boot_id in Register", "an empty one")


@CASES.case(AGENT, "sync.hello-and-heartbeats", "EDG-091")
def hello_first_then_heartbeats(ctx: CaseContext) -> None:
    """Each Sync stream opens with a hello carrying the reported state and the generation
    held; heartbeats follow every report interval"""
    r = rig(ctx)
    r.wait_for_stream(0)
    acked = 0
    for event in r.fleet.since(0):
        if event.kind == "desired_state_ack":
            acked = max(acked, event.message.generation)
        if not event.info.get("first"):
            continue
        if event.kind != "hello":
            raise Failed("a hello as the first message of every Sync stream", event.kind)
        hello = event.message
        if not hello.HasField("reported_state"):
            raise Failed("the hello to carry the complete reported state", "no reported_state")
        if hello.acknowledged_generation != acked:
            raise Failed(
                f"hello.acknowledged_generation {acked}, the highest generation the agent "
                "acknowledged before",
                str(hello.acknowledged_generation),
            )
    since = r.fleet.mark()
    window = (HEARTBEAT_INTERVALS + 1) * REPORT_INTERVAL_S
    deadline = time.monotonic() + window
    while len(beats := r.fleet.since(since, "heartbeat")) < HEARTBEAT_INTERVALS:
        if time.monotonic() > deadline:
            raise Failed(
                f"a heartbeat every report interval ({REPORT_INTERVAL_S} s): at least "
                f"{HEARTBEAT_INTERVALS} in {window} s",
                f"{len(beats)}",
            )
        time.sleep(0.1)


@CASES.case(AGENT, "desired.persisted-before-ack", "EDG-092", "EDG-088")
def desired_state_persisted_before_ack(ctx: CaseContext) -> None:
    """A desired state acknowledged before a SIGKILL is held after the restart; the agent
    registers again with the same device key"""
    r = rig(ctx)
    r.ensure_baseline()
    key = r.fleet.since(0, "Register")[-1].message.device_public_key
    since = r.fleet.mark()
    generation = r.fleet.set_desired(*r.fleet.desired.deployments)
    r.expect(
        lambda e: e.kind == "desired_state_ack" and e.message.generation == generation,
        f"desired_state_ack for generation {generation}",
        since,
    )
    r.agent.kill()
    since = r.fleet.mark()
    r.start()
    register = check_registration(r, since, "after a restart")
    if register.message.device_public_key != key:
        raise Failed("the same device key after a restart", "a different device_public_key")
    hello = r.wait_for_stream(since).message
    if hello.acknowledged_generation < generation:
        raise Failed(
            f"hello.acknowledged_generation >= {generation}: the generation acknowledged "
            "before the SIGKILL, persisted before its acknowledgement",
            str(hello.acknowledged_generation),
        )


@CASES.case(AGENT, "desired.older-generation-ignored", "EDG-092")
def older_generation_is_ignored(ctx: CaseContext) -> None:
    """A desired state whose generation is not greater than the one held is neither
    acknowledged nor applied"""
    r = rig(ctx)
    r.ensure_baseline()
    since = r.fleet.mark()
    older = r.fleet.desired.generation - 1
    # An older generation without the deployment: applying it would remove the release.
    r.fleet.push(
        agent_pb.SyncResponse(desired_state=device_state_pb2.DesiredState(generation=older))
    )
    time.sleep(QUIET_S)
    acks = [e for e in r.fleet.since(since, "desired_state_ack") if e.message.generation == older]
    if acks:
        raise Failed(f"no desired_state_ack for the older generation {older}", "one")
    for state in r.reported_states(since):
        if deployment_of(state) is None:
            raise Failed(
                f"{DEPLOYMENT} kept after an older desired state without it",
                describe_state(state),
            )
    r.expect_answers(BASELINE_FACTOR, "the release of the held generation")


def _command(name: str, key: str) -> agent_pb.SyncResponse:
    return agent_pb.SyncResponse(
        command=agent_pb.CommandDelivery(
            name=f"devices/{DEVICE_ID}/commands/{name}",
            type=UNSUPPORTED_COMMAND,
            idempotency_key=key,
            remaining_ttl=duration_pb2.Duration(seconds=300),
        )
    )


def _answer(r: AgentRig, since: int, name: str) -> agent_pb.CommandUpdate:
    full = f"devices/{DEVICE_ID}/commands/{name}"
    return r.expect(
        lambda e: e.kind == "command_update" and e.message.name == full,
        f"a command_update for {full}",
        since,
    ).message


@CASES.case(AGENT, "commands.unsupported-rejected-once", "EDG-101")
def unsupported_command_is_rejected_once(ctx: CaseContext) -> None:
    """A command of a type the agent does not implement is REJECTED with
    COMMAND_NOT_SUPPORTED, and a redelivery of its idempotency key gets the same answer"""
    r = rig(ctx)
    r.ensure_baseline()
    key = f"conformance-{time.time_ns()}"
    since = r.fleet.mark()
    r.fleet.push(_command("c1", key))
    first = _answer(r, since, "c1")
    if (first.state, first.error.reason) != (REJECTED, "COMMAND_NOT_SUPPORTED"):
        raise Failed(
            f"{UNSUPPORTED_COMMAND!r} REJECTED with reason COMMAND_NOT_SUPPORTED",
            f"{command_pb2.DeviceCommandState.Name(first.state)} {first.error.reason}",
        )
    since = r.fleet.mark()
    r.fleet.push(_command("c1-again", key))
    again = _answer(r, since, "c1-again")
    if (again.state, again.error.reason) != (first.state, first.error.reason):
        raise Failed(
            "a redelivered idempotency key answered with its first outcome",
            f"{command_pb2.DeviceCommandState.Name(again.state)} {again.error.reason}",
        )

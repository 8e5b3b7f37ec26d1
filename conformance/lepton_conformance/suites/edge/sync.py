"""edge-fleet cases of the Sync stream and the device twin: the hello protocol, welcome and
desired state, supersession, acknowledgements, reported state and heartbeats, and settings
pushed on a report interval change (spec/edge.md sections 2.2 and 2.3; EDG-029 to EDG-037)."""

from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_pb2, device_state_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.devices import seconds
from lepton_conformance.suites.edge.edge_client import (
    AgentClient,
    FleetClient,
    enrol,
    eventually,
    unique_id,
)
from lepton_conformance.suites.edge.profiles import FLEET
from lepton_conformance.suites.edge.sync_driver import SyncStream, hello

CASES = CaseList()
INVALID = grpc.StatusCode.INVALID_ARGUMENT
HEALTHY = device_state_pb2.HEALTH_STATE_HEALTHY
DEGRADED = device_state_pb2.HEALTH_STATE_DEGRADED
A_LONG_TIME_AGO = timestamp_pb2.Timestamp(seconds=946684800)  # 2000-01-01, a skewed clock


def now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def without_receive_time(state: device_state_pb2.ReportedState) -> device_state_pb2.ReportedState:
    copy = device_state_pb2.ReportedState()
    copy.CopyFrom(state)
    copy.ClearField("receive_time")
    return copy


def _violation(agent: AgentClient, token: str, reason: str, *messages: object) -> None:
    """A stream that sends `messages` (after answering any hello with welcome and desired
    state) ends with INVALID_ARGUMENT [`reason`]."""
    with SyncStream(agent, token) as stream:
        for message in messages:
            stream.send(message)
        stream.ends_with(INVALID, reason)


@CASES.case(FLEET, "sync.the-first-message-and-only-it-is-a-hello", "EDG-029")
def protocol(ctx: CaseContext) -> None:
    """A Sync stream whose first message is not a hello, that sends an empty message or a
    second hello ends with INVALID_ARGUMENT [SYNC_PROTOCOL_VIOLATION]; a hello without
    reported_state or boot_id ends it with INVALID_ARGUMENT [INVALID_FIELD]."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        beat = agent_pb.SyncRequest(heartbeat=device_state_pb2.Heartbeat(time=now()))
        violation = "SYNC_PROTOCOL_VIOLATION"
        _violation(agent, device.token, violation, beat)
        _violation(agent, device.token, violation, agent_pb.SyncRequest())
        for after in (hello(), agent_pb.SyncRequest()):
            with SyncStream(agent, device.token, hello()) as stream:
                stream.opened()
                stream.send(after)
                stream.ends_with(INVALID, violation)
        no_state = agent_pb.SyncRequest(hello=agent_pb.SyncHello(boot_id="boot-1"))
        _violation(agent, device.token, "INVALID_FIELD", no_state)
        _violation(agent, device.token, "INVALID_FIELD", hello(boot_id=""))


@CASES.case(
    FLEET, "sync.a-hello-gets-a-welcome-and-the-desired-state", "EDG-030", "EDG-031", "EDG-033"
)
def welcome(ctx: CaseContext) -> None:
    """A valid hello is answered first by a welcome (device name, the device's settings,
    server_time), then by the device's desired state even when the hello acknowledged its
    generation; the hello promptly replaces reported_state (receive_time set by the server),
    boot_id and acknowledged_generation, and leaves the desired generation as it was. A
    hello acknowledging a generation above the desired one ends the stream INVALID_FIELD."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent, report_interval=seconds(20))
        before = fleet.device(device.name)
        generation = before.desired_state.generation
        expect.equal(generation, 1, "the desired generation of a new device")
        sent = hello(
            "boot-7",
            generation,
            applied_generation=generation,
            health=HEALTHY,
            report_time=A_LONG_TIME_AGO,
            receive_time=A_LONG_TIME_AGO,
        )
        with SyncStream(agent, device.token, sent) as stream:
            greeting, desired = stream.opened()
            expect.equal(greeting.device, device.name, "welcome.device")
            expect.equal(
                greeting.settings.report_interval, seconds(20), "welcome.settings.report_interval"
            )
            expect.holds(greeting.HasField("server_time"), "welcome.server_time set", "unset")
            expect.equal(
                (desired.generation, list(desired.deployments)),
                (generation, []),
                "(generation, deployments) of the desired state after the welcome",
            )
            stored = eventually(
                lambda: fleet.device(device.name),
                lambda d: d.boot_id == "boot-7",
                "the device's boot_id to follow the hello",
            )
            reported = sent.hello.reported_state
            expect.equal(
                without_receive_time(stored.reported_state),
                without_receive_time(reported),
                "the stored reported state (receive_time aside)",
            )
            expect.holds(
                stored.reported_state.receive_time.seconds > A_LONG_TIME_AGO.seconds + 86400,
                "receive_time set by the server",
                stored.reported_state.receive_time.ToJsonString(),
            )
            expect.equal(
                (stored.acknowledged_generation, stored.desired_state.generation),
                (generation, generation),
                "(acknowledged_generation, desired generation) after the hello",
            )
            expect.equal(
                (stored.etag, stored.update_time),
                (before.etag, before.update_time),
                "(etag, update_time) after the hello",
            )
        _violation(agent, device.token, "INVALID_FIELD", hello("boot-7", generation + 1))


@CASES.case(FLEET, "sync.a-newer-stream-supersedes-the-older", "EDG-032")
def superseded(ctx: CaseContext) -> None:
    """When a device opens a second Sync stream the first ends with ABORTED
    [SYNC_STREAM_SUPERSEDED] and the second is served."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        with SyncStream(agent, device.token, hello()) as first:
            first.opened()
            with SyncStream(agent, device.token, hello("boot-2")) as second:
                second.opened()
                first.ends_with(grpc.StatusCode.ABORTED, "SYNC_STREAM_SUPERSEDED")
                beat = device_state_pb2.Heartbeat(time=now(), health=DEGRADED)
                second.send(heartbeat=beat)
                eventually(
                    lambda: fleet.device(device.name),
                    lambda d: d.last_heartbeat == beat,
                    "the second stream's heartbeat to be stored",
                )
                expect.holds(second.still_open(), "the second stream to stay open", "it ended")


@CASES.case(FLEET, "sync.acknowledgements-only-raise-the-generation", "EDG-035", "EDG-013")
def acknowledgements(ctx: CaseContext) -> None:
    """A desired_state_ack raises acknowledged_generation to its generation, an older one
    changes nothing (and neither changes etag or update_time), and one above the desired
    generation ends the stream with INVALID_ARGUMENT [INVALID_FIELD]."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        before = fleet.device(device.name)
        generation = before.desired_state.generation
        with SyncStream(agent, device.token, hello()) as stream:
            stream.opened()
            stream.send(desired_state_ack=agent_pb.DesiredStateAck(generation=generation))
            acked = eventually(
                lambda: fleet.device(device.name),
                lambda d: d.acknowledged_generation == generation,
                f"acknowledged_generation to become {generation}",
            )
            stream.send(desired_state_ack=agent_pb.DesiredStateAck(generation=0))
            beat = device_state_pb2.Heartbeat(time=now(), health_message="after the old ack")
            stream.send(heartbeat=beat)
            later = eventually(
                lambda: fleet.device(device.name),
                lambda d: d.last_heartbeat == beat,
                "the heartbeat after an older acknowledgement to be stored",
            )
            expect.equal(
                later.acknowledged_generation, generation, "acknowledged_generation after 0"
            )
            expect.equal(
                (acked.etag, later.etag, later.update_time),
                (before.etag, before.etag, before.update_time),
                "(etag, etag, update_time) across acknowledgements",
            )
            stream.send(desired_state_ack=agent_pb.DesiredStateAck(generation=generation + 1))
            stream.ends_with(INVALID, "INVALID_FIELD")


@CASES.case(
    FLEET,
    "sync.reports-and-heartbeats-replace-the-twin",
    "EDG-036",
    "EDG-013",
    "EDG-018",
)
def reports(ctx: CaseContext) -> None:
    """A reported_state promptly replaces Device.reported_state (receive_time by the
    server) and a heartbeat promptly replaces last_heartbeat, without changing etag or
    update_time; ListDevices selects by last_heartbeat.health; a reported state applying a
    generation above the desired one ends the stream with INVALID_ARGUMENT
    [INVALID_FIELD]."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        run = unique_id("run")
        device = enrol(fleet, agent, labels={"conf-run": run})
        quiet = enrol(fleet, agent, labels={"conf-run": run})
        before = fleet.device(device.name)
        generation = before.desired_state.generation
        with SyncStream(agent, device.token, hello(health=HEALTHY)) as stream:
            stream.opened()
            report = device_state_pb2.ReportedState(
                applied_generation=generation, health=DEGRADED, report_time=now()
            )
            stream.send(reported_state=report)
            stored = eventually(
                lambda: fleet.device(device.name),
                lambda d: d.reported_state.health == DEGRADED,
                "the reported state to be replaced",
            )
            expect.equal(
                without_receive_time(stored.reported_state), report, "the stored reported state"
            )
            expect.holds(
                stored.reported_state.HasField("receive_time"), "receive_time set", "unset"
            )
            beat = device_state_pb2.Heartbeat(
                time=A_LONG_TIME_AGO,
                health=DEGRADED,
                health_message="GPU unavailable, running on CPU",
                uptime=seconds(3600),
                resource_usage=device_state_pb2.ResourceUsage(
                    cpu_percent=12.5, memory_used_bytes=1 << 30, temperature_celsius=51.0
                ),
                outbox=device_state_pb2.OutboxStatus(pending_record_count=3),
            )
            stream.send(heartbeat=beat)
            beaten = eventually(
                lambda: fleet.device(device.name),
                lambda d: d.last_heartbeat == beat,
                "last_heartbeat to be the heartbeat sent (device clock kept)",
            )
            expect.equal(
                (beaten.etag, beaten.update_time),
                (before.etag, before.update_time),
                "(etag, update_time) after a report and a heartbeat",
            )
            term = f'labels.conf-run = "{run}"'
            for health, wanted in (("DEGRADED", [device.name]), ("HEALTHY", [])):
                where = f"{term} AND last_heartbeat.health = {health}"
                expect.equal(fleet.device_names(where), wanted, f"devices where {where}")
            where = f"{term} AND last_heartbeat.health != DEGRADED"
            expect.equal(fleet.device_names(where), [quiet.name], f"devices where {where}")
            ahead = device_state_pb2.ReportedState(applied_generation=generation + 1)
            stream.send(reported_state=ahead)
            stream.ends_with(INVALID, "INVALID_FIELD")


@CASES.case(FLEET, "sync.a-new-report-interval-is-sent-as-settings", "EDG-037")
def settings(ctx: CaseContext) -> None:
    """A change of Device.report_interval is promptly sent on the device's open Sync
    stream as a settings message with the new interval."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        with SyncStream(agent, device.token, hello()) as stream:
            stream.opened()
            fleet.update_device(
                device_pb2.Device(name=device.name, report_interval=seconds(45)),
                "report_interval",
            )
            sent = stream.next_of("settings")
            expect.equal(sent.report_interval, seconds(45), "settings.report_interval")

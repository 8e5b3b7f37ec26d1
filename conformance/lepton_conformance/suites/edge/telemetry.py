"""edge-fleet cases of telemetry: UploadTelemetry's validation, batch limits and acknowledged
high-water marks per (device, stream, boot id), played by a device of the suite's own, and
ListTelemetryRecords (feature edge.telemetry_query) with its filters across devices
(spec/edge.md section 2.8; EDG-050 to EDG-056, EDG-058, EDG-118). Whether a refused upload
stored anything is read back through the mark itself: a record stored by mistake would come
back as a duplicate."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import telemetry_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import (
    SERVICE,
    AgentClient,
    Enrolled,
    FleetClient,
    enrol,
)
from lepton_conformance.suites.edge.fleet_rig import TELEMETRY_QUERY
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
INVALID = grpc.StatusCode.INVALID_ARGUMENT
Record = telemetry_pb2.TelemetryRecord
Segment = agent_pb.TelemetrySegment
A_LONG_TIME_AGO = timestamp_pb2.Timestamp(seconds=946684800)  # 2000-01-01


def now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def metric(sequence: int, value: float = 0.5, **fields: Any) -> Record:
    fields.setdefault("time", now())
    return Record(
        sequence=sequence,
        metric=telemetry_pb2.TelemetryMetric(name="cpu.load", value=value),
        **fields,
    )


def segment(stream: str, *sequences: int, boot_id: str = "boot-1", **fields: Any) -> Segment:
    return Segment(stream=stream, boot_id=boot_id, records=[metric(s, **fields) for s in sequences])


def _upload(
    agent: AgentClient, device: Enrolled, *segments: Segment
) -> agent_pb.UploadTelemetryResponse:
    request = agent_pb.UploadTelemetryRequest(segments=segments)
    return expect.succeeds(
        lambda: agent.call("UploadTelemetry", request, device.token), "UploadTelemetry"
    )


def _acks(response: agent_pb.UploadTelemetryResponse) -> list[tuple]:
    return [
        (
            a.stream,
            a.boot_id,
            a.acknowledged_sequence,
            a.accepted_record_count,
            a.duplicate_record_count,
        )
        for a in response.acknowledgements
    ]


def _refused(agent: AgentClient, device: Enrolled, field: str, *segments: Segment) -> None:
    request = agent_pb.UploadTelemetryRequest(segments=segments)
    expect.rejects(
        lambda: agent.call("UploadTelemetry", request, device.token),
        INVALID,
        "INVALID_FIELD",
        field=field,
    )


@CASES.case(FLEET, "telemetry.upload-validates-and-stores-nothing-it-refuses", "EDG-050", "EDG-054")
def validation(ctx: CaseContext) -> None:
    """UploadTelemetry refuses, with INVALID_FIELD naming the first offending field, no
    segment, two segments of one (stream, boot id), a bad stream name, an empty boot id, an
    empty segment, a sequence <= 0 or not increasing, a record without time or payload, a
    bad metric name, an oversized or untyped inference output and an oversized log body,
    storing nothing, not even the request's valid segment."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        valid = segment("metrics", 1, 2)
        _refused(agent, device, "segments")
        _refused(agent, device, "segments[1]", valid, segment("metrics", 3))
        _refused(agent, device, "segments[1].stream", valid, segment("Bad_Stream", 1))
        _refused(agent, device, "segments[1].boot_id", valid, segment("logs", 1, boot_id=""))
        _refused(agent, device, "segments[1].records", valid, segment("logs"))
        for sequences, where in (((0,), "[0]"), ((-1,), "[0]"), ((3, 3), "[1]"), ((4, 2), "[1]")):
            _refused(
                agent,
                device,
                f"segments[1].records{where}.sequence",
                valid,
                segment("logs", *sequences),
            )
        untimed = Segment(stream="logs", boot_id="boot-1", records=[metric(1)])
        untimed.records[0].ClearField("time")
        _refused(agent, device, "segments[1].records[0].time", valid, untimed)
        empty = Segment(stream="logs", boot_id="boot-1", records=[Record(sequence=1, time=now())])
        _refused(agent, device, "segments[1].records[0]", valid, empty)
        badly_named = segment("logs", 1)
        badly_named.records[0].metric.name = "CPU Load"
        _refused(agent, device, "segments[1].records[0].metric.name", valid, badly_named)
        for event, path in (
            (
                telemetry_pb2.InferenceEvent(
                    output=b"x" * (256 * 1024 + 1), output_media_type="a/b"
                ),
                "inference.output",
            ),
            (telemetry_pb2.InferenceEvent(output=b"{}"), "inference"),
        ):
            bad = Segment(
                stream="inference",
                boot_id="boot-1",
                records=[Record(sequence=1, time=now(), inference=event)],
            )
            _refused(agent, device, f"segments[1].records[0].{path}", valid, bad)
        log = telemetry_pb2.TelemetryLog(body="x" * (64 * 1024 + 1))
        bad = Segment(
            stream="logs", boot_id="boot-1", records=[Record(sequence=1, time=now(), log=log)]
        )
        _refused(agent, device, "segments[1].records[0].log.body", valid, bad)
        expect.equal(
            _acks(_upload(agent, device, valid)),
            [("metrics", "boot-1", 2, 2, 0)],
            "the acknowledgement of the valid segment sent alone (nothing stored before)",
        )


@CASES.case(
    FLEET,
    "telemetry.high-water-marks-make-resends-duplicates",
    "EDG-052",
    "EDG-053",
    "EDG-055",
    "EDG-056",
)
def marks(ctx: CaseContext) -> None:
    """Per (device, stream, boot id): records 1-3 are accepted and acknowledged at 3; the
    same upload again is 3 duplicates at mark 3; 1-5 stores 4 and 5 only; gaps (7, 9) are
    accepted and raise the mark to 9, after which 8 is a duplicate; sequence 1 of a new boot
    id, and of another stream, is stored; records from the year 2000 are accepted; another
    device's marks are its own; acknowledgements come in request order."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        other = enrol(fleet, agent)
        expect.equal(
            _acks(_upload(agent, device, segment("metrics", 1, 2, 3))),
            [("metrics", "boot-1", 3, 3, 0)],
            "(stream, boot_id, acknowledged, accepted, duplicates) of 1-3",
        )
        expect.equal(
            _acks(_upload(agent, device, segment("metrics", 1, 2, 3))),
            [("metrics", "boot-1", 3, 0, 3)],
            "the same upload again",
        )
        expect.equal(
            _acks(_upload(agent, device, segment("metrics", 1, 2, 3, 4, 5))),
            [("metrics", "boot-1", 5, 2, 3)],
            "1-5 after 1-3",
        )
        expect.equal(
            _acks(_upload(agent, device, segment("metrics", 7, 9))),
            [("metrics", "boot-1", 9, 2, 0)],
            "7 and 9 after 5 (gaps)",
        )
        expect.equal(
            _acks(_upload(agent, device, segment("metrics", 8))),
            [("metrics", "boot-1", 9, 0, 1)],
            "8 after the mark reached 9",
        )
        expect.equal(
            _acks(
                _upload(
                    agent,
                    device,
                    segment("metrics", 1, 2, boot_id="boot-2", time=A_LONG_TIME_AGO),
                    segment("logs", 1),
                    segment("metrics", 10),
                )
            ),
            [
                ("metrics", "boot-2", 2, 2, 0),
                ("logs", "boot-1", 1, 1, 0),
                ("metrics", "boot-1", 10, 1, 0),
            ],
            "a new boot id, another stream and the old boot id, in request order",
        )
        expect.equal(
            _acks(_upload(agent, other, segment("metrics", 1, 2, 3))),
            [("metrics", "boot-1", 3, 3, 0)],
            "another device's first upload of the same stream and boot id",
        )


@CASES.case(FLEET, "telemetry.batch-limits-refuse-whole-requests", "EDG-051")
def limits(ctx: CaseContext) -> None:
    """An upload of one record more than the settings' max_telemetry_batch_record_count is
    RESOURCE_EXHAUSTED [MESSAGE_TOO_LARGE] and stores nothing; exactly that many records are
    stored."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        count = device.registered.settings.max_telemetry_batch_record_count
        expect.holds(count >= 1000, "max_telemetry_batch_record_count >= 1000", str(count))
        stamp = now()
        records = [
            Record(sequence=s, time=stamp, log=telemetry_pb2.TelemetryLog(body="x"))
            for s in range(1, count + 2)
        ]
        request = agent_pb.UploadTelemetryRequest(
            segments=[Segment(stream="logs", boot_id="boot-1", records=records)]
        )
        expect.fails_with(
            lambda: agent.call("UploadTelemetry", request, device.token),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "MESSAGE_TOO_LARGE",
        )
        del request.segments[0].records[-1]
        accepted = _upload(agent, device, *request.segments)
        expect.equal(_acks(accepted), [("logs", "boot-1", count, count, 0)], "exactly the limit")


def _listed(fleet: FleetClient, parent: str, filter: str = "", order_by: str = "") -> list:
    request = pb.ListTelemetryRecordsRequest(
        parent=parent, filter=filter, order_by=order_by, page_size=7
    )
    return fleet.walk("ListTelemetryRecords", request)


def _keys(records: list) -> list[tuple[str, str, str, int]]:
    return [(r.device, r.stream, r.boot_id, r.record.sequence) for r in records]


@CASES.case(
    FLEET, "telemetry.list-records-with-filters-across-devices", "EDG-058", "EDG-118", "EDG-053"
)
def listing(ctx: CaseContext) -> None:
    """ListTelemetryRecords (edge.telemetry_query) of a device returns its records once each,
    exactly as uploaded with device, stream, boot id and receive_time, in storage order or
    by order_by; filters on stream and boot_id; with parent devices/- filters on device,
    record.deployment (alias deployment) and record.rollout (alias rollout) select exactly
    the matching records; another filter field is INVALID_FILTER."""
    ctx.require_feature(SERVICE, TELEMETRY_QUERY)
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        a = enrol(fleet, agent)
        b = enrol(fleet, agent)
        deployment, rollout = "deployments/conf-d", "deployments/conf-d/rollouts/r1"
        tagged = segment("inference", 1, 2, deployment=deployment, rollout=rollout)
        tagged.records[1].rollout = "deployments/conf-d/rollouts/r0"
        first = segment("metrics", 1, 2)
        _upload(agent, a, first, segment("metrics", 1, boot_id="boot-2"))
        _upload(agent, a, first)
        _upload(agent, b, tagged)
        records = _listed(fleet, a.name)
        expect.equal(
            _keys(records),
            [
                (a.name, "metrics", "boot-1", 1),
                (a.name, "metrics", "boot-1", 2),
                (a.name, "metrics", "boot-2", 1),
            ],
            "device a's records (each once)",
        )
        expect.equal(records[0].record, first.records[0], "a record exactly as uploaded")
        expect.holds(records[0].HasField("receive_time"), "receive_time set", "unset")
        expect.equal(
            _keys(_listed(fleet, a.name, 'boot_id = "boot-2"')),
            [(a.name, "metrics", "boot-2", 1)],
            "boot_id = boot-2",
        )
        expect.equal(
            _keys(_listed(fleet, a.name, order_by="record.sequence desc, boot_id"))[0][3],
            2,
            "the first sequence by record.sequence desc",
        )
        expect.equal(_listed(fleet, a.name, 'stream = "inference"'), [], "a's inference")
        mine = f'device = "{b.name}"'
        expect.equal(
            _keys(_listed(fleet, "devices/-", mine)),
            [(b.name, "inference", "boot-1", 1), (b.name, "inference", "boot-1", 2)],
            "devices/- with a device filter",
        )
        for term in (f'record.rollout = "{rollout}"', f'rollout = "{rollout}"'):
            expect.equal(
                _keys(_listed(fleet, "devices/-", f"{term} AND {mine}")),
                [(b.name, "inference", "boot-1", 1)],
                term,
            )
        for term in (f'record.deployment = "{deployment}"', f'deployment = "{deployment}"'):
            expect.equal(len(_listed(fleet, "devices/-", f"{term} AND {mine}")), 2, term)
        expect.equal(
            _keys(_listed(fleet, "devices/-", f'{mine} AND rollout != "{rollout}"')),
            [(b.name, "inference", "boot-1", 2)],
            "rollout !=",
        )
        expect.fails_with(
            lambda: fleet.call(
                "ListTelemetryRecords",
                pb.ListTelemetryRecordsRequest(parent=a.name, filter="record.time = 1"),
            ),
            INVALID,
            "INVALID_FILTER",
            field="filter",
        )

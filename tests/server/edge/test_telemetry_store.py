"""The edge telemetry store (spec/edge.md 2.8): idempotent ingest per (device, stream,
boot_id) with high-water marks (EDG-050 to EDG-056), ListTelemetryRecords with its filters,
order and pages (EDG-058, EDG-118), deleting a device's telemetry, and the inference summary
of rollout telemetry gates (EDG-115); directly and through a real gRPC server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import timestamp_pb2
from support.hosting import hosted
from support.status_details import bad_request, error_info

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import edge_service_pb2 as edge_pb
from lepton.edge.v1 import edge_service_pb2_grpc as edge_grpc
from lepton.edge.v1 import telemetry_pb2
from lepton.type.v1 import error_pb2
from lepton_server.aip.pagination import PageTokens
from lepton_server.config import ServerConfig
from lepton_server.edge.telemetry_store import TelemetryStore
from lepton_server.runtime.errors import InvalidArgument, LeptonError, ResourceExhausted
from lepton_server.runtime.hosted_service import HostedService

CAM = "devices/cam-1"
DOOR = "devices/door-2"
ROLLOUT = "deployments/vision/rollouts/v2"
BASE_TIME = 1_750_000_000


def record(
    sequence: int,
    *,
    kind: str = "metric",
    deployment: str = "",
    rollout: str = "",
    latency_ms: int | None = None,
    error: bool = False,
) -> telemetry_pb2.TelemetryRecord:
    made = telemetry_pb2.TelemetryRecord(
        sequence=sequence,
        time=timestamp_pb2.Timestamp(seconds=BASE_TIME + sequence),
        deployment=deployment,
        rollout=rollout,
        attributes={"camera": "left"},
    )
    if kind == "metric":
        made.metric.CopyFrom(telemetry_pb2.TelemetryMetric(name="device.temperature", value=41.5))
    elif kind == "log":
        made.log.CopyFrom(telemetry_pb2.TelemetryLog(body=f"line {sequence}"))
    else:
        made.inference.CopyFrom(telemetry_pb2.InferenceEvent(deployment=deployment))
        if latency_ms is not None:
            made.inference.latency.FromMilliseconds(latency_ms)
        if error:
            made.inference.error.CopyFrom(error_pb2.ErrorStatus(code=13, reason="MODEL_FAILED"))
    return made


def segment(stream: str, boot_id: str, sequences, **options) -> agent_pb.TelemetrySegment:
    return agent_pb.TelemetrySegment(
        stream=stream, boot_id=boot_id, records=[record(s, **options) for s in sequences]
    )


def upload(*segments: agent_pb.TelemetrySegment) -> agent_pb.UploadTelemetryRequest:
    return agent_pb.UploadTelemetryRequest(segments=segments)


def acks(response: agent_pb.UploadTelemetryResponse) -> list[tuple]:
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


def listed(store: TelemetryStore, parent: str = CAM, **fields) -> list[tuple]:
    """Every record of a listing, through all its pages, as (device, stream, boot, seq)."""
    found, token = [], ""
    while True:
        page = store.list_records(
            edge_pb.ListTelemetryRecordsRequest(parent=parent, page_token=token, **fields)
        )
        found += [(r.device, r.stream, r.boot_id, r.record.sequence) for r in page.records]
        token = page.next_page_token
        if not token:
            return found


@pytest.fixture
def store(tmp_path: Path) -> TelemetryStore:
    opened = TelemetryStore(tmp_path / "edge" / "telemetry.db", PageTokens())
    yield opened
    opened.close()


def test_new_records_are_stored_and_acknowledged_per_segment(store: TelemetryStore):
    """EDG-052: one acknowledgement per segment in request order; the records as uploaded."""
    request = upload(segment("metrics", "b1", [1, 2, 3]), segment("logs", "b1", [1], kind="log"))
    assert acks(store.ingest(CAM, request)) == [
        ("metrics", "b1", 3, 3, 0),
        ("logs", "b1", 1, 1, 0),
    ]
    page = store.list_records(edge_pb.ListTelemetryRecordsRequest(parent=CAM))
    stored = {(r.stream, r.record.sequence): r for r in page.records}
    assert stored[("metrics", 2)].record == request.segments[0].records[1]
    assert stored[("logs", 1)].record == request.segments[1].records[0]
    assert all(r.device == CAM and r.boot_id == "b1" for r in page.records)
    assert all(r.receive_time.seconds > BASE_TIME for r in page.records)
    assert store.marks(CAM) == {("metrics", "b1"): 3, ("logs", "b1"): 1}


def test_the_same_request_twice_stores_nothing_new(store: TelemetryStore):
    """EDG-053: the second time, accepted 0 and every record a duplicate; listed once."""
    request = upload(segment("metrics", "b1", [1, 2, 3, 4]))
    store.ingest(CAM, request)
    assert acks(store.ingest(CAM, request)) == [("metrics", "b1", 4, 0, 4)]
    assert listed(store) == [(CAM, "metrics", "b1", s) for s in (1, 2, 3, 4)]


def test_an_overlapping_batch_stores_only_what_is_above_the_mark(store: TelemetryStore):
    """spec/edge.md 2.8: a response lost, the agent resends 1..6 with 7."""
    store.ingest(CAM, upload(segment("metrics", "b1", range(1, 7))))
    assert acks(store.ingest(CAM, upload(segment("metrics", "b1", range(1, 8))))) == [
        ("metrics", "b1", 7, 1, 6)
    ]
    assert [s for *_, s in listed(store)] == [1, 2, 3, 4, 5, 6, 7]


def test_a_new_boot_restarts_the_numbering(store: TelemetryStore):
    """EDG-055: sequence 1 of a new boot id is stored though the stream has a higher mark
    under another boot id; marks are per device too."""
    store.ingest(CAM, upload(segment("metrics", "b1", range(1, 6))))
    assert acks(store.ingest(CAM, upload(segment("metrics", "b2", [1, 2])))) == [
        ("metrics", "b2", 2, 2, 0)
    ]
    assert acks(store.ingest(DOOR, upload(segment("metrics", "b1", [1])))) == [
        ("metrics", "b1", 1, 1, 0)
    ]
    # An earlier boot's records still arrive after a reboot (EDG-056).
    assert acks(store.ingest(CAM, upload(segment("metrics", "b1", [6])))) == [
        ("metrics", "b1", 6, 1, 0)
    ]
    assert store.marks(CAM) == {("metrics", "b1"): 6, ("metrics", "b2"): 2}
    assert len(listed(store)) == 8


def test_gaps_are_accepted_and_do_not_hold_the_mark_back(store: TelemetryStore):
    """EDG-056; records at or below the mark are duplicates even if never stored (EDG-052)."""
    assert acks(store.ingest(CAM, upload(segment("logs", "b1", [1, 2, 5, 9], kind="log")))) == [
        ("logs", "b1", 9, 4, 0)
    ]
    assert acks(store.ingest(CAM, upload(segment("logs", "b1", [3, 4, 10], kind="log")))) == [
        ("logs", "b1", 10, 1, 2)
    ]
    assert [s for *_, s in listed(store)] == [1, 2, 5, 9, 10]


def test_records_and_marks_survive_a_restart(tmp_path: Path):
    """EDG-054: acknowledged records are durable; the mark holds after reopening."""
    path = tmp_path / "telemetry.db"
    first = TelemetryStore(path, PageTokens())
    first.ingest(CAM, upload(segment("metrics", "b1", [1, 2])))
    first.close()
    second = TelemetryStore(path, PageTokens())
    assert acks(second.ingest(CAM, upload(segment("metrics", "b1", [1, 2, 3])))) == [
        ("metrics", "b1", 3, 1, 2)
    ]
    assert len(listed(second)) == 3
    second.close()


def _invalid_field(call) -> str:
    with pytest.raises(InvalidArgument) as caught:
        call()
    assert caught.value.reason == "INVALID_FIELD"
    return caught.value.violations[0].field


def _with(change) -> agent_pb.UploadTelemetryRequest:
    request = upload(
        segment("metrics", "b1", [1, 2]), segment("inference", "b1", [1, 2], kind="inference")
    )
    change(request)
    return request


def _set(path: str, value):
    def change(request):
        *parents, last = path.split(".")
        target = request
        for part in parents:
            target = eval(f"target.{part}")  # a test's own literal paths
        setattr(target, last, value)

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.ClearField("segments"), "segments"),
        (_set("segments[1].stream", "metrics"), "segments[1]"),
        (_set("segments[0].stream", "Metrics"), "segments[0].stream"),
        (_set("segments[0].stream", "metrics-"), "segments[0].stream"),
        (_set("segments[0].stream", "1metrics"), "segments[0].stream"),
        (_set("segments[0].stream", ""), "segments[0].stream"),
        (_set("segments[1].boot_id", ""), "segments[1].boot_id"),
        (lambda r: r.segments[1].ClearField("records"), "segments[1].records"),
        (_set("segments[0].records[0].sequence", 0), "segments[0].records[0].sequence"),
        (_set("segments[0].records[0].sequence", -3), "segments[0].records[0].sequence"),
        (_set("segments[0].records[1].sequence", 1), "segments[0].records[1].sequence"),
        (lambda r: r.segments[0].records[1].ClearField("time"), "segments[0].records[1].time"),
        (
            lambda r: r.segments[0].records[0].ClearField("metric"),
            "segments[0].records[0].payload",
        ),
        (_set("segments[0].records[0].metric.name", "Temp"), "segments[0].records[0].metric.name"),
        (_set("segments[0].records[0].metric.name", ""), "segments[0].records[0].metric.name"),
        (
            _set("segments[1].records[0].inference.output", b"x" * (256 * 1024 + 1)),
            "segments[1].records[0].inference.output",
        ),
        (
            _set("segments[1].records[0].inference.output", b"{}"),
            "segments[1].records[0].inference.output_media_type",
        ),
        (
            _set("segments[1].records[0].inference.correlation_id", "c" * 129),
            "segments[1].records[0].inference.correlation_id",
        ),
        (
            lambda r: r.segments[0].records[0].attributes.update({f"k{i}": "v" for i in range(40)}),
            "segments[0].records[0].attributes",
        ),
        (
            lambda r: (
                r.segments[0]
                .records[0]
                .log.CopyFrom(telemetry_pb2.TelemetryLog(body="é" * (32 * 1024 + 1)))
            ),
            "segments[0].records[0].log.body",
        ),
    ],
)
def test_an_invalid_request_names_its_first_offending_field_and_stores_nothing(
    store: TelemetryStore, change, field: str
):
    """EDG-050, EDG-054: the whole request is refused, including its valid segments."""
    assert _invalid_field(lambda: store.ingest(CAM, _with(change))) == field
    assert listed(store) == []
    assert store.marks(CAM) == {}


def test_a_request_within_its_limits_is_accepted_and_above_them_is_too_large(tmp_path: Path):
    """EDG-051: RESOURCE_EXHAUSTED [MESSAGE_TOO_LARGE], nothing stored."""
    store = TelemetryStore(tmp_path / "t.db", PageTokens(), max_batch_records=3)
    store.ingest(
        CAM, upload(segment("metrics", "b1", [1, 2]), segment("logs", "b1", [1], kind="log"))
    )
    with pytest.raises(ResourceExhausted) as many:
        store.ingest(
            CAM, upload(segment("metrics", "b1", [3, 4]), segment("logs", "b1", [2, 3], kind="log"))
        )
    assert many.value.reason == "MESSAGE_TOO_LARGE"
    # Within the byte limit is accepted whatever the size of its record; above it is not.
    request = upload(segment("logs", "b1", [1], kind="log"))
    request.segments[0].records[0].log.body = "x" * 300
    sized = TelemetryStore(tmp_path / "s.db", PageTokens(), max_batch_bytes=request.ByteSize())
    sized.ingest(CAM, request)
    request.segments[0].records[0].log.body += "x"
    with pytest.raises(ResourceExhausted) as big:
        sized.ingest(CAM, request)
    assert big.value.reason == "MESSAGE_TOO_LARGE"
    assert store.marks(CAM) == {("metrics", "b1"): 2, ("logs", "b1"): 1}
    assert sized.marks(CAM) == {("logs", "b1"): 1}
    store.close()
    sized.close()


# --- listing ----------------------------------------------------------------------------------


@pytest.fixture
def fleet(store: TelemetryStore) -> TelemetryStore:
    """Two devices, two boots, three streams, two deployments and a rollout."""
    store.ingest(
        CAM,
        upload(
            segment("metrics", "b1", [1, 2, 3]),
            segment(
                "inference",
                "b1",
                [1, 2],
                kind="inference",
                deployment="deployments/vision",
                rollout=ROLLOUT,
            ),
        ),
    )
    store.ingest(CAM, upload(segment("metrics", "b2", [1, 2])))
    store.ingest(
        DOOR,
        upload(
            segment("inference", "b7", [4, 5], kind="inference", deployment="deployments/lock"),
            segment("logs", "b7", [1], kind="log"),
        ),
    )
    return store


def test_the_default_order_is_the_order_stored(fleet: TelemetryStore):
    """EDG-058: receive_time, stream, boot_id, record.sequence."""
    assert listed(fleet) == [
        (CAM, "inference", "b1", 1),
        (CAM, "inference", "b1", 2),
        (CAM, "metrics", "b1", 1),
        (CAM, "metrics", "b1", 2),
        (CAM, "metrics", "b1", 3),
        (CAM, "metrics", "b2", 1),
        (CAM, "metrics", "b2", 2),
    ]


def test_every_device_is_listed_under_devices_dash(fleet: TelemetryStore):
    """EDG-118."""
    everything = listed(fleet, "devices/-")
    assert len(everything) == 10
    assert everything[-3:] == [
        (DOOR, "inference", "b7", 4),
        (DOOR, "inference", "b7", 5),
        (DOOR, "logs", "b7", 1),
    ]
    assert listed(fleet, DOOR, filter='stream = "logs"') == [(DOOR, "logs", "b7", 1)]
    assert listed(fleet, "devices/nobody") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('stream = "metrics"', 5),
        ('stream != "metrics"', 5),
        ('boot_id = "b2"', 2),
        ('device = "devices/door-2"', 3),
        ('record.deployment = "deployments/vision"', 2),
        ('deployment = "deployments/lock"', 2),
        ('deployment != ""', 4),
        (f'record.rollout = "{ROLLOUT}"', 2),
        (f'rollout = "{ROLLOUT}" AND device = "{CAM}"', 2),
        (f'rollout = "{ROLLOUT}" AND device = "{DOOR}"', 0),
        ('stream = "metrics" AND boot_id = "b1"', 3),
    ],
)
def test_filters_restrict_the_listing(fleet: TelemetryStore, text: str, expected: int):
    """EDG-058, EDG-118: stream, boot_id, device, record.deployment (deployment),
    record.rollout (rollout), with = and !=."""
    assert len(listed(fleet, "devices/-", filter=text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "sequence = 1",
        'stream : "met"',
        'stream > "a"',
        "stream = metrics",
        'labels.a = "b"',
        "stream =",
    ],
)
def test_an_invalid_filter_is_invalid_filter(fleet: TelemetryStore, text: str):
    with pytest.raises(InvalidArgument) as caught:
        fleet.list_records(edge_pb.ListTelemetryRecordsRequest(parent=CAM, filter=text))
    assert caught.value.reason == "INVALID_FILTER"


def test_order_by_each_orderable_field(fleet: TelemetryStore):
    """spec/edge.md 3.2; ties in the default order."""
    by_sequence = listed(fleet, "devices/-", order_by="record.sequence desc")
    assert [s for *_, s in by_sequence] == [5, 4, 3, 2, 2, 2, 1, 1, 1, 1]
    assert by_sequence[:2] == [(DOOR, "inference", "b7", 5), (DOOR, "inference", "b7", 4)]
    assert [b for _, _, b, _ in listed(fleet, "devices/-", order_by="boot_id desc, stream")][
        :3
    ] == ["b7"] * 3
    streams = [s for _, s, _, _ in listed(fleet, "devices/-", order_by="stream")]
    assert streams == sorted(streams)
    newest = listed(fleet, "devices/-", order_by="receive_time desc")
    assert newest[:3] == [
        (DOOR, "inference", "b7", 4),
        (DOOR, "inference", "b7", 5),
        (DOOR, "logs", "b7", 1),
    ]
    by_time = listed(fleet, CAM, order_by="record.time, stream")
    assert by_time[0] == (CAM, "inference", "b1", 1)
    assert [s for *_, s in by_time] == [1, 1, 1, 2, 2, 2, 3]


@pytest.mark.parametrize(
    "order_by", ["device", "sequence", "stream up", "stream, stream", "stream,"]
)
def test_an_invalid_order_is_invalid_field(fleet: TelemetryStore, order_by: str):
    assert (
        _invalid_field(
            lambda: fleet.list_records(
                edge_pb.ListTelemetryRecordsRequest(parent=CAM, order_by=order_by)
            )
        )
        == "order_by"
    )


@pytest.mark.parametrize("order_by", ["", "record.sequence desc, stream", "receive_time desc"])
@pytest.mark.parametrize("page_size", [1, 3, 4])
def test_pages_add_up_to_the_whole_list(fleet: TelemetryStore, order_by: str, page_size: int):
    """GEN-041: every record once, in order, whatever the page size."""
    whole = listed(fleet, "devices/-", order_by=order_by, page_size=1000)
    assert listed(fleet, "devices/-", order_by=order_by, page_size=page_size) == whole
    assert len(whole) == 10


def test_page_tokens_are_bound_to_their_request(fleet: TelemetryStore):
    """GEN-043; a token's next page also sees records stored after it was issued."""
    first = fleet.list_records(edge_pb.ListTelemetryRecordsRequest(parent="devices/-", page_size=2))
    for other in (
        edge_pb.ListTelemetryRecordsRequest(parent=CAM, page_token=first.next_page_token),
        edge_pb.ListTelemetryRecordsRequest(
            parent="devices/-", filter='stream = "logs"', page_token=first.next_page_token
        ),
        edge_pb.ListTelemetryRecordsRequest(
            parent="devices/-", order_by="stream", page_token=first.next_page_token
        ),
        edge_pb.ListTelemetryRecordsRequest(parent="devices/-", page_token="garbage"),
    ):
        with pytest.raises(InvalidArgument) as caught:
            fleet.list_records(other)
        assert caught.value.reason == "INVALID_PAGE_TOKEN"
    fleet.ingest(CAM, upload(segment("metrics", "b2", [3])))
    rest = listed(fleet, "devices/-")[2:]
    following = fleet.list_records(
        edge_pb.ListTelemetryRecordsRequest(
            parent="devices/-", page_size=100, page_token=first.next_page_token
        )
    )
    assert [(r.device, r.stream, r.boot_id, r.record.sequence) for r in following.records] == rest


@pytest.mark.parametrize(
    "parent", ["", "devices", "devices/", "devices/Cam", "deployments/x", "devices/a/b"]
)
def test_a_malformed_parent_is_invalid_name(fleet: TelemetryStore, parent: str):
    with pytest.raises(InvalidArgument) as caught:
        fleet.list_records(edge_pb.ListTelemetryRecordsRequest(parent=parent))
    assert caught.value.reason == "INVALID_NAME"


def test_a_negative_page_size_is_invalid(fleet: TelemetryStore):
    assert (
        _invalid_field(
            lambda: fleet.list_records(
                edge_pb.ListTelemetryRecordsRequest(parent=CAM, page_size=-1)
            )
        )
        == "page_size"
    )


def test_deleting_a_device_forgets_its_records_and_marks(fleet: TelemetryStore):
    fleet.delete_device(CAM)
    assert listed(fleet, CAM) == []
    assert fleet.marks(CAM) == {}
    assert len(listed(fleet, DOOR)) == 3
    # A device created again under the name starts afresh.
    assert acks(fleet.ingest(CAM, upload(segment("metrics", "b1", [1])))) == [
        ("metrics", "b1", 1, 1, 0)
    ]


# --- inference summary ------------------------------------------------------------------------


def test_the_inference_summary_counts_a_rollouts_events_and_their_p95(store: TelemetryStore):
    """EDG-115: events of the rollout from the chosen devices received since the stage
    started; nearest-rank p95 of their latencies."""
    earlier = upload(
        segment("inference", "b1", [1], kind="inference", rollout=ROLLOUT, latency_ms=999)
    )
    store.ingest(CAM, earlier)
    started = datetime.now(UTC)
    # 20 events with latencies 1..20 ms, two of them failed; other rollouts and metrics too.
    records = [
        record(s, kind="inference", rollout=ROLLOUT, latency_ms=s, error=s in (3, 4))
        for s in range(2, 22)
    ]
    for event, latency in zip(records, range(1, 21), strict=True):
        event.inference.latency.FromMilliseconds(latency)
    store.ingest(
        CAM, upload(agent_pb.TelemetrySegment(stream="inference", boot_id="b1", records=records))
    )
    store.ingest(
        CAM,
        upload(
            segment(
                "other",
                "b1",
                [1, 2],
                kind="inference",
                rollout="deployments/x/rollouts/y",
                latency_ms=5000,
            )
        ),
    )
    store.ingest(CAM, upload(segment("metrics", "b1", [1], rollout=ROLLOUT)))
    store.ingest(
        DOOR,
        upload(segment("inference", "b1", [1], kind="inference", rollout=ROLLOUT, latency_ms=7000)),
    )

    summary = store.inference_summary(ROLLOUT, [CAM], started)
    assert summary == (20, 2, timedelta(milliseconds=19))
    assert summary.to_proto().latency_p95.ToMilliseconds() == 19
    assert store.inference_summary(ROLLOUT, None, started) == (21, 2, timedelta(milliseconds=20))
    assert store.inference_summary(ROLLOUT, [CAM], started - timedelta(hours=1)).count == 21
    assert store.inference_summary(ROLLOUT, [DOOR, "devices/else"], started) == (
        1,
        0,
        timedelta(seconds=7),
    )
    assert store.inference_summary(ROLLOUT, [], started) == (0, 0, None)
    assert store.inference_summary("deployments/x/rollouts/none", None, started) == (0, 0, None)
    assert not store.inference_summary(ROLLOUT, [], started).to_proto().HasField("latency_p95")


def test_events_without_a_latency_count_but_give_no_p95(store: TelemetryStore):
    store.ingest(
        CAM,
        upload(segment("inference", "b1", [1, 2], kind="inference", rollout=ROLLOUT, error=True)),
    )
    assert store.inference_summary(ROLLOUT, None, datetime(2000, 1, 1)) == (2, 2, None)


# --- through gRPC -----------------------------------------------------------------------------


class _TelemetryServicers:
    """UploadTelemetry (as one fixed device) and ListTelemetryRecords on the store."""

    def __init__(self, store: TelemetryStore) -> None:
        self.store = store

    def services(self) -> list[HostedService]:
        store = self.store

        class Agent(agent_grpc.DeviceAgentServiceServicer):
            async def UploadTelemetry(self, request, context):
                return store.ingest(CAM, request)

        class Edge(edge_grpc.EdgeServiceServicer):
            async def ListTelemetryRecords(self, request, context):
                return store.list_records(request)

        return [
            HostedService(
                name="lepton.edge.v1.DeviceAgentService",
                register=lambda server: agent_grpc.add_DeviceAgentServiceServicer_to_server(
                    Agent(), server
                ),
            ),
            HostedService(
                name="lepton.edge.v1.EdgeService",
                register=lambda server: edge_grpc.add_EdgeServiceServicer_to_server(Edge(), server),
            ),
        ]


def test_upload_and_list_over_grpc(store: TelemetryStore, tmp_path: Path):
    """EDG-050, EDG-053, EDG-058 on the wire, through the host's error mapping."""
    config = ServerConfig(data_dir=tmp_path, services=())
    with (
        hosted(config, _TelemetryServicers(store).services()) as address,
        grpc.insecure_channel(address) as channel,
    ):
        agent = agent_grpc.DeviceAgentServiceStub(channel)
        edge = edge_grpc.EdgeServiceStub(channel)
        request = upload(segment("metrics", "b1", [1, 2, 3]))
        assert acks(agent.UploadTelemetry(request)) == [("metrics", "b1", 3, 3, 0)]
        assert acks(agent.UploadTelemetry(request)) == [("metrics", "b1", 3, 0, 3)]
        page = edge.ListTelemetryRecords(
            edge_pb.ListTelemetryRecordsRequest(parent="devices/-", page_size=2)
        )
        assert [r.record.sequence for r in page.records] == [1, 2]
        rest = edge.ListTelemetryRecords(
            edge_pb.ListTelemetryRecordsRequest(parent="devices/-", page_token=page.next_page_token)
        )
        assert [r.record.sequence for r in rest.records] == [3]
        assert rest.next_page_token == ""
        with pytest.raises(grpc.RpcError) as invalid:
            agent.UploadTelemetry(upload(segment("metrics", "b1", [2, 1])))
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (
            bad_request(invalid.value).field_violations[0].field
            == "segments[0].records[1].sequence"
        )
        with pytest.raises(grpc.RpcError) as bad_filter:
            edge.ListTelemetryRecords(
                edge_pb.ListTelemetryRecordsRequest(parent=CAM, filter="nope")
            )
        assert error_info(bad_filter.value).reason == "INVALID_FILTER"


def test_errors_are_lepton_errors(store: TelemetryStore):
    """A client's mistake is never a bare exception (no UNKNOWN/INTERNAL)."""
    with pytest.raises(LeptonError):
        store.ingest(CAM, agent_pb.UploadTelemetryRequest())

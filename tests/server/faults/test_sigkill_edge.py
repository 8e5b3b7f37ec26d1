"""A fleet server killed with SIGKILL while devices enroll, telemetry arrives and an artifact
uploads: after the restart every device the server answered for is there and its token still
works, every acknowledged telemetry record is stored once with no gap, the artifact upload
resumes from its committed offset to the exact bytes, no staging file or half-stored blob
is left, and the server takes new writes."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import grpc
import pytest
from google.protobuf import timestamp_pb2
from support.edge_devices import enroll
from support.edge_fleet import descriptor
from support.polling import eventually
from support.servers import start_server

from lepton.edge.v1 import artifact_upload_pb2, device_pb2, telemetry_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton.type.v1 import artifact_pb2

BATCH = 100  # telemetry records per upload
CHUNK = 64 * 1024
ARTIFACT = os.urandom(40 * CHUNK + 11)
TIME = timestamp_pb2.Timestamp(seconds=1_800_000_000)
pytestmark = pytest.mark.timeout(180)


class Fleet:
    def __init__(self, server) -> None:
        channel = grpc.insecure_channel(server.address)
        self.edge = pb_grpc.EdgeServiceStub(channel)
        self.agent = agent_grpc.DeviceAgentServiceStub(channel)


def _upload_telemetry(fleet: Fleet, token: str, first: int, count: int = BATCH):
    records = [
        telemetry_pb2.TelemetryRecord(
            sequence=sequence,
            time=TIME,
            metric=telemetry_pb2.TelemetryMetric(name="cpu.load", value=sequence / 7),
        )
        for sequence in range(first, first + count)
    ]
    segment = agent_pb.TelemetrySegment(stream="metrics", boot_id="boot-1", records=records)
    request = agent_pb.UploadTelemetryRequest(segments=[segment])
    metadata = (("authorization", f"Bearer {token}"),)
    return fleet.agent.UploadTelemetry(request, metadata=metadata, timeout=30).acknowledgements[0]


def _artifact_messages(start: int, pause: float):
    header = artifact_upload_pb2.ArtifactUploadHeader(artifact=descriptor(ARTIFACT))
    yield pb.UploadArtifactRequest(header=header)
    for at in range(start, len(ARTIFACT), CHUNK):
        chunk = artifact_pb2.ArtifactChunk(offset=at, data=ARTIFACT[at : at + CHUNK])
        yield pb.UploadArtifactRequest(chunk=chunk)
        time.sleep(pause)


class Writes:
    """What the server acknowledged, gathered by threads that write until it dies."""

    def __init__(self, fleet: Fleet, reporter) -> None:
        self.fleet, self.reporter = fleet, reporter
        self.devices: dict[str, str] = {}  # name: access token
        self.acknowledged_sequence = 0

    def enroll(self) -> None:
        with contextlib.suppress(grpc.RpcError):  # the server died under the call: expected
            while True:
                device = enroll(self.fleet.edge, self.fleet.agent, labels={"line": "a"})
                self.devices[device.name] = device.token

    def report(self) -> None:
        with contextlib.suppress(grpc.RpcError):
            while True:
                first = self.acknowledged_sequence + 1
                ack = _upload_telemetry(self.fleet, self.reporter.token, first)
                self.acknowledged_sequence = ack.acknowledged_sequence

    def upload(self) -> None:
        with contextlib.suppress(grpc.RpcError):
            self.fleet.edge.UploadArtifact(_artifact_messages(0, 0.02), timeout=30)


def _committed_offset(fleet: Fleet, digest) -> int:
    request = pb.GetArtifactUploadStatusRequest(digest=digest)
    try:
        return fleet.edge.GetArtifactUploadStatus(request).committed_offset
    except grpc.RpcError as error:  # the kill came before the upload's header
        assert error.code() == grpc.StatusCode.NOT_FOUND, error
        return 0


@pytest.mark.parametrize("kill_after", [0.2, 0.5, 1.2])
def test_a_kill_among_fleet_writes_loses_nothing_acknowledged(tmp_path, kill_after):
    data_dir = tmp_path / "data"
    server = start_server(["--services", "edge"], data_dir)
    try:
        fleet = Fleet(server)
        writes = Writes(fleet, enroll(fleet.edge, fleet.agent))
        writers = [
            threading.Thread(target=w) for w in (writes.enroll, writes.report, writes.upload)
        ]
        for writer in writers:
            writer.start()
        # The sweep counts from when enrollments and telemetry are both under way.
        eventually(lambda: writes.devices and writes.acknowledged_sequence, what="first answers")
        time.sleep(kill_after)
    finally:  # also when the writes never got under way
        server.stop(signal.SIGKILL, timeout=30)
    for writer in writers:
        writer.join(timeout=60)

    server = start_server(["--services", "edge"], data_dir)
    try:
        fleet = Fleet(server)
        # Every device the server answered for is enrolled, and its token works.
        for name, token in writes.devices.items():
            device = fleet.edge.GetDevice(pb.GetDeviceRequest(name=name)).device
            assert device.approval_state == device_pb2.DEVICE_APPROVAL_STATE_APPROVED
            assert _upload_telemetry(fleet, token, 1, 1).accepted_record_count == 1
        # Every acknowledged record is stored once, with no gap before the newest stored.
        listing = pb.ListTelemetryRecordsRequest(parent=writes.reporter.name, page_size=1000)
        sequences = []
        while True:
            page = fleet.edge.ListTelemetryRecords(listing)
            sequences += [r.record.sequence for r in page.records]
            if not page.next_page_token:
                break
            listing.page_token = page.next_page_token
        assert sequences == list(range(1, len(sequences) + 1))
        assert len(sequences) >= writes.acknowledged_sequence
        # The device resends what it holds unacknowledged: the rest is new, nothing doubles.
        resent = _upload_telemetry(fleet, writes.reporter.token, writes.acknowledged_sequence + 1)
        stored_beyond = len(sequences) - writes.acknowledged_sequence
        assert resent.duplicate_record_count == min(stored_beyond, BATCH)
        # The upload resumes where the server says it stopped, and ends with the exact bytes.
        digest = descriptor(ARTIFACT).digest
        committed = _committed_offset(fleet, digest)
        assert committed == len(ARTIFACT) or (
            0 <= committed < len(ARTIFACT) and committed % CHUNK == 0
        )
        if committed < len(ARTIFACT):
            done = fleet.edge.UploadArtifact(_artifact_messages(committed, 0))
            assert done.committed_offset == len(ARTIFACT)
        download = fleet.edge.DownloadArtifact(pb.DownloadArtifactRequest(digest=digest))
        assert b"".join(r.chunk.data for r in download) == ARTIFACT
        artifacts = data_dir / "edge" / "artifacts"
        assert sorted(p.name for p in (artifacts / "blobs").iterdir()) == [digest.hex]
        assert not list((artifacts / "uploads").iterdir())
    finally:
        server.stop()

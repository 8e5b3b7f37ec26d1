"""Registry events (REG-039 to REG-042): every change emits its events after it commits,
numbered by one across the server; a watch replays from a sequence and continues live with
no gap, or starts now; retention truncates old events and says so; idle streams keep alive."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2
from registry_calls import (
    create_model,
    create_version,
    descriptor,
    expect_error,
    ready_version,
    unique_id,
    upload,
)
from support.servers import start_server

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2

INVALID = grpc.StatusCode.INVALID_ARGUMENT


class Watch:
    """An open WatchModelEvents stream, read event by event."""

    def __init__(self, stub, **fields) -> None:
        self.call = stub.WatchModelEvents(pb.WatchModelEventsRequest(**fields), timeout=30)
        self.first = next(self.call)  # the server answers at once: the stream is open
        self.pending = list(self.first.events)

    def events(self, count: int) -> list[ev.ModelEvent]:
        while len(self.pending) < count:
            self.pending += next(self.call).events
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken

    def close(self) -> None:
        self.call.cancel()


def _types(events) -> list[str]:
    return [ev.ModelEventType.Name(e.type).removeprefix("MODEL_EVENT_TYPE_") for e in events]


def test_every_operation_emits_its_events_in_order_after_committing(stub):
    name = f"models/{unique_id()}"
    watch = Watch(stub, models=[name], from_now=True)
    create_model(stub, name[7:])
    stub.UpdateModel(
        pb.UpdateModelRequest(
            model=model_pb2.Model(name=name, display_name="x"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        )
    )
    one = ready_version(stub, name, b"events one")
    stub.UpdateModelVersion(
        pb.UpdateModelVersionRequest(model_version=mv.ModelVersion(name=one.name, description="d"))
    )
    alias = f"{name}/aliases/prod"
    stub.SetModelAlias(pb.SetModelAliasRequest(name=alias, model_version=one.name))
    two = ready_version(stub, name, b"events two")
    stub.SetModelAlias(pb.SetModelAliasRequest(name=alias, model_version=two.name))
    stub.DeleteModelAlias(pb.DeleteModelAliasRequest(name=alias))
    bad = create_version(stub, name, b"declared")
    with pytest.raises(grpc.RpcError):
        upload(stub, bad.name, b"uploaded", header=descriptor(b"declared"))
    stub.SetModelAlias(pb.SetModelAliasRequest(name=alias, model_version=one.name))
    stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=one.name, force=True))
    stub.DeleteModel(pb.DeleteModelRequest(name=name, force=True))
    events = watch.events(18)
    watch.close()
    assert _types(events) == [
        "MODEL_CREATED",
        "MODEL_UPDATED",
        "VERSION_CREATED",
        "VERSION_READY",
        "VERSION_UPDATED",
        "ALIAS_SET",
        "VERSION_CREATED",
        "VERSION_READY",
        "ALIAS_SET",
        "ALIAS_DELETED",
        "VERSION_CREATED",
        "VERSION_FAILED",
        "ALIAS_SET",
        "ALIAS_DELETED",
        "VERSION_DELETED",
        "VERSION_DELETED",
        "VERSION_DELETED",
        "MODEL_DELETED",
    ]
    assert all(e.model == name for e in events)
    moved = events[8]
    assert (moved.alias, moved.model_version, moved.previous_model_version) == (
        alias,
        two.name,
        one.name,
    )
    assert events[9].previous_model_version == two.name and not events[9].model_version
    sequences = [e.sequence for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)


def test_a_get_after_an_event_sees_the_change(stub):
    model = create_model(stub)
    version = create_version(stub, model, b"observed")
    watch = Watch(stub, models=[model], types=[ev.MODEL_EVENT_TYPE_VERSION_READY], from_now=True)
    upload(stub, version.name, b"observed")
    (ready,) = watch.events(1)
    watch.close()
    seen = stub.GetModelVersion(pb.GetModelVersionRequest(name=ready.model_version))
    assert seen.model_version.state == mv.MODEL_VERSION_STATE_READY


def test_replay_from_a_sequence_continues_live_without_gaps(stub):
    first = create_model(stub)
    start = Watch(stub, models=[first]).events(1)[0].sequence
    for _ in range(3):
        create_model(stub)
    watch = Watch(stub, start_sequence=start)
    replayed = watch.events(4)
    for _ in range(3):
        create_model(stub)
    live = watch.events(3)
    watch.close()
    sequences = [e.sequence for e in replayed + live]
    assert sequences == list(range(start, start + 7))
    assert not watch.first.start_truncated
    everything = Watch(stub)  # start_sequence 0: from the oldest retained event, the first
    assert everything.events(1)[0].sequence == 1
    everything.close()


def test_a_start_beyond_the_newest_event_waits_for_it(stub):
    newest = Watch(stub, models=[create_model(stub)]).events(1)[0].sequence
    watch = Watch(stub, start_sequence=newest + 2)
    assert not watch.first.events
    create_model(stub)
    target = create_model(stub)
    (event,) = watch.events(1)
    watch.close()
    assert (event.sequence, event.model) == (newest + 2, target)


def test_an_idle_stream_gets_keep_alives(stub):
    watch = Watch(stub, models=[f"models/{unique_id()}"], from_now=True)
    # Nothing happens to the model: every message after the first is an empty keep-alive.
    keepalives = [next(watch.call) for _ in range(2)]
    watch.close()
    assert all(message == pb.WatchModelEventsResponse() for message in keepalives)


def test_bad_watch_requests_are_refused(stub):
    for fields, reason, field in (
        ({"models": ["models/Bad"]}, "INVALID_NAME", "models[0]"),
        ({"types": [ev.MODEL_EVENT_TYPE_UNSPECIFIED]}, "INVALID_FIELD", "types[0]"),
        ({"start_sequence": -1}, "INVALID_FIELD", "start_sequence"),
        ({"start_sequence": 3, "from_now": True}, "INVALID_FIELD", "start_sequence"),
    ):
        expect_error(
            lambda fields=fields: next(
                stub.WatchModelEvents(pb.WatchModelEventsRequest(**fields), timeout=10)
            ),
            INVALID,
            reason,
            field,
        )


def test_retention_truncates_and_says_so(tmp_path):
    server = start_server(
        [
            "--services",
            "registry",
            "--registry-event-retention",
            "3",
            "--registry-event-retention-seconds",
            "0",
        ],
        tmp_path,
    )
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ModelRegistryServiceStub(channel)
            for _ in range(6):
                create_model(stub)
            truncated = Watch(stub, start_sequence=1)
            assert truncated.first.start_truncated
            assert [e.sequence for e in truncated.events(3)] == [4, 5, 6]
            truncated.close()
            oldest = Watch(stub)
            assert not oldest.first.start_truncated
            assert oldest.events(1)[0].sequence == 4
            oldest.close()
    finally:
        server.stop()


def test_upload_chunks_beyond_size_emit_version_failed(stub):
    model = create_model(stub)
    version = create_version(stub, model, b"abc")
    watch = Watch(stub, models=[model], from_now=True)
    messages = [
        pb.UploadModelVersionArtifactRequest(
            header=pb.ModelVersionUploadHeader(
                model_version=version.name, artifact=descriptor(b"abc")
            )
        ),
        pb.UploadModelVersionArtifactRequest(
            chunk=artifact_pb2.ArtifactChunk(offset=0, data=b"abcd")
        ),
    ]
    with pytest.raises(grpc.RpcError):
        stub.UploadModelVersionArtifact(iter(messages), timeout=10)
    assert _types(watch.events(1)) == ["VERSION_FAILED"]
    watch.close()

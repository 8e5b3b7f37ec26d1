"""A device as the fleet server's tests play it: an Ed25519 device key, the registration
proof of spec/edge.md 2.1, and a Sync stream whose messages arrive on a queue so a test can
wait for one with a timeout or check that none came."""

from __future__ import annotations

import hashlib
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Self, TypeVar

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import device_pb2, device_state_pb2, release_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton.type.v1 import artifact_pb2, digest_pb2
from support.status_details import bad_request, error_info

T = TypeVar("T")

# How long a test waits for a message the server must send promptly (spec/edge.md 4: 5 s).
PROMPTLY = 5.0


def refused(
    call: Callable[[], object], code: grpc.StatusCode, reason: str, field: str | None = None
) -> dict[str, str]:
    """The ErrorInfo metadata of the error `call()` fails with, after asserting its status
    code, its reason and (when given) that its one field violation names `field`."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    error = raised.value
    info = error_info(error)
    assert (error.code(), info and info.reason) == (code, reason), error.details()
    if field is not None:
        assert [v.field for v in bad_request(error).field_violations] == [field]
    return dict(info.metadata)


def new_id(prefix: str = "d") -> str:
    """A fresh resource ID, so tests sharing a module's server never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def proof(challenge: bytes, device_id: str, boot_id: str) -> bytes:
    """The registration proof a device key signs (spec/edge.md 2.1), written out here as the
    spec states it rather than taken from the server."""
    return (
        b"lepton.edge.v1.Register\0"
        + challenge
        + b"\0"
        + device_id.encode()
        + b"\0"
        + (boot_id.encode())
    )


@dataclass
class DeviceKey:
    """An agent's Ed25519 key pair."""

    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def register_request(
        self,
        agent: agent_grpc.DeviceAgentServiceStub,
        device_id: str,
        bootstrap_token: str = "",
        boot_id: str = "boot-1",
        **fields: object,
    ) -> agent_pb.RegisterRequest:
        """A Register request with a fresh challenge and a valid proof."""
        challenge = agent.CreateRegistrationChallenge(
            agent_pb.CreateRegistrationChallengeRequest(device_id=device_id)
        ).challenge
        return agent_pb.RegisterRequest(
            device_id=device_id,
            device_public_key=self.public,
            bootstrap_token=bootstrap_token,
            boot_id=boot_id,
            challenge=challenge,
            challenge_signature=self.private.sign(proof(challenge, device_id, boot_id)),
            **fields,
        )

    def register(
        self,
        agent: agent_grpc.DeviceAgentServiceStub,
        device_id: str,
        bootstrap_token: str = "",
        **fields: object,
    ) -> agent_pb.RegisterResponse:
        return agent.Register(self.register_request(agent, device_id, bootstrap_token, **fields))


def create_device(
    edge: pb_grpc.EdgeServiceStub, device_id: str | None = None, **fields: object
) -> pb.CreateDeviceResponse:
    """CreateDevice with `fields` of the request (e.g. device=Device(labels=...))."""
    return edge.CreateDevice(
        pb.CreateDeviceRequest(device_id=new_id() if device_id is None else device_id, **fields)
    )


@dataclass
class EnrolledDevice:
    """A created and registered device with its key and access token."""

    name: str
    key: DeviceKey
    token: str

    @property
    def device_id(self) -> str:
        return self.name.removeprefix("devices/")

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)


def enroll(
    edge: pb_grpc.EdgeServiceStub,
    agent: agent_grpc.DeviceAgentServiceStub,
    labels: dict[str, str] | None = None,
    **register_fields: object,
) -> EnrolledDevice:
    """A new APPROVED device, registered with a new key."""
    created = create_device(edge, device=device_pb2.Device(labels=labels or {}))
    key = DeviceKey()
    device_id = created.device.name.removeprefix("devices/")
    answer = key.register(agent, device_id, created.bootstrap_token, **register_fields)
    return EnrolledDevice(created.device.name, key, answer.access_token)


def hello(
    acknowledged_generation: int = 0, boot_id: str = "boot-1", **reported: object
) -> agent_pb.SyncRequest:
    return agent_pb.SyncRequest(
        hello=agent_pb.SyncHello(
            boot_id=boot_id,
            acknowledged_generation=acknowledged_generation,
            reported_state=device_state_pb2.ReportedState(**reported),
        )
    )


class ResponseStream:
    """The responses of a streaming call, read on a thread of their own: `receive` waits for
    the next one, `nothing_within` checks that none comes, `error` waits for the status that
    ended the call."""

    def __init__(self, call: grpc.Call) -> None:
        self.call = call
        self._responses: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for response in self.call:
                self._responses.put(response)
            self._responses.put(None)
        except grpc.RpcError as error:
            self._responses.put(error)

    def receive(self, timeout: float = PROMPTLY):
        """The next response; fails when the stream ended or nothing came in time."""
        item = self._responses.get(timeout=timeout)
        assert item is not None and not isinstance(item, grpc.RpcError), (
            f"expected a response, got {item!r}"
        )
        return item

    def nothing_within(self, seconds: float) -> bool:
        """Whether no response (and no end) arrived within `seconds`."""
        try:
            item = self._responses.get(timeout=seconds)
        except queue.Empty:
            return True
        self._responses.queue.appendleft(item)
        return False

    def error(self, timeout: float = PROMPTLY, skip_responses: bool = True) -> grpc.RpcError:
        """The error that ended the stream, skipping responses before it (or, without
        `skip_responses`, failing on one)."""
        while True:
            item = self._responses.get(timeout=timeout)
            if isinstance(item, grpc.RpcError):
                return item
            assert item is not None, "the stream ended OK"
            assert skip_responses, f"expected the end of the stream, got {item}"

    def close(self) -> None:
        self.call.cancel()
        self._reader.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class SyncStream(ResponseStream):
    """One Sync call: `send` puts a message on the stream."""

    def __init__(
        self,
        agent: agent_grpc.DeviceAgentServiceStub,
        metadata: tuple[tuple[str, str], ...],
        first: agent_pb.SyncRequest | None = None,
    ) -> None:
        self._requests: queue.Queue = queue.Queue()
        if first is not None:
            self.send(first)
        super().__init__(agent.Sync(self._outgoing(), metadata=metadata, timeout=60))

    def _outgoing(self) -> Iterator[agent_pb.SyncRequest]:
        while (message := self._requests.get()) is not None:
            yield message

    def send(self, message: agent_pb.SyncRequest) -> None:
        self._requests.put(message)

    def open(self) -> tuple[agent_pb.SyncResponse, agent_pb.SyncResponse]:
        """The welcome and the first desired state."""
        welcome = self.receive()
        assert welcome.WhichOneof("message") == "welcome"
        desired = self.receive()
        assert desired.WhichOneof("message") == "desired_state"
        return welcome, desired

    def close(self) -> None:
        self._requests.put(None)
        super().close()


def a_release(
    model_version: str = "models/m/versions/1", runtime: str = "onnxruntime"
) -> release_pb2.ModelRelease:
    """A ModelRelease as a rollout would hand it to devices (unsigned: the fleet's
    assignments take releases the rollouts already checked)."""
    digest = digest_pb2.Digest(
        algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256,
        hex=hashlib.sha256(model_version.encode()).hexdigest(),
    )
    return release_pb2.ModelRelease(
        model_version=model_version,
        artifact=artifact_pb2.ArtifactDescriptor(digest=digest, size_bytes=10),
        runtime_config=release_pb2.RuntimeConfig(runtime=runtime),
    )


def eventually(condition: Callable[[], T], timeout: float = PROMPTLY) -> T:
    """`condition()` once it is truthy, polled until `timeout` (spec/edge.md 4, promptly);
    fails with its last value otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert value, f"still {value!r} after {timeout} s"
    return value

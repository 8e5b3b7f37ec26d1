"""Clients of lepton.edge.v1 for the edge-fleet profile: `FleetClient` calls EdgeService with
the run's token and removes the devices and deployments it created when its case ends;
`AgentClient` plays a device's agent on DeviceAgentService with an Ed25519 `DeviceKey`
(CreateRegistrationChallenge, then Register with the registration proof of spec/edge.md
section 2.1) and its own access token. Written apart from any server, from the contract and
spec/edge.md only."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from lepton.edge.v1 import capabilities_pb2, deployment_pb2, device_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.data.dataset_client import walk_pages

T = TypeVar("T")
SERVICE = pb.DESCRIPTOR.services_by_name["EdgeService"].full_name
AGENT_SERVICE = agent_pb.DESCRIPTOR.services_by_name["DeviceAgentService"].full_name
# spec/edge.md section 4: a server acts "promptly" within 5 seconds; the suite waits that long.
PROMPT_S = 5.0
POLL_S = 0.05
APPROVED = device_pb2.DEVICE_APPROVAL_STATE_APPROVED
PENDING = device_pb2.DEVICE_APPROVAL_STATE_PENDING
REJECTED = device_pb2.DEVICE_APPROVAL_STATE_REJECTED
DECOMMISSIONED = device_pb2.DEVICE_APPROVAL_STATE_DECOMMISSIONED
NEVER_CONNECTED = device_pb2.DEVICE_CONNECTION_STATE_NEVER_CONNECTED
ONLINE = device_pb2.DEVICE_CONNECTION_STATE_ONLINE
OFFLINE = device_pb2.DEVICE_CONNECTION_STATE_OFFLINE
REGISTER_CONTEXT = b"lepton.edge.v1.Register"


def unique_id(prefix: str = "conf") -> str:
    """A fresh ID of the ID rule, e.g. conf-3fa9c1d2, so that runs never collide."""
    return f"{prefix}-{secrets.token_hex(4)}"


def sha256_digest(data: bytes) -> digest_pb2.Digest:
    return digest_pb2.Digest(
        algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(data).hexdigest()
    )


def absent_digest() -> digest_pb2.Digest:
    """The digest of random bytes: no server holds it."""
    return sha256_digest(secrets.token_bytes(32))


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def method(channel: grpc.Channel, module: Any, service: str, name: str) -> Any:
    """The callable of `service`.`name` on `channel`, of its own streaming kind."""
    short = service.rsplit(".", 1)[1]
    descriptor = module.DESCRIPTOR.services_by_name[short].methods_by_name[name]
    request_class = getattr(module, descriptor.input_type.name)
    response_class = getattr(module, descriptor.output_type.name)
    if descriptor.client_streaming and descriptor.server_streaming:
        factory = channel.stream_stream
    elif descriptor.client_streaming:
        factory = channel.stream_unary
    elif descriptor.server_streaming:
        factory = channel.unary_stream
    else:
        factory = channel.unary_unary
    return factory(
        f"/{service}/{name}",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )


def eventually(read: Callable[[], T], until: Callable[[T], bool], what: str) -> T:
    """Poll `read` until `until` holds of its value, for at most PROMPT_S; that value."""
    deadline = time.monotonic() + PROMPT_S
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise Failed(f"{what} within {PROMPT_S:g} s", expect._short(value))
        time.sleep(POLL_S)


class FleetClient:
    """EdgeService calls with the run's token and deadline. Use it in a `with` block: the
    deployments and devices it created are deleted at the end (devices decommissioned
    first)."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self.devices: list[str] = []
        self.deployments: list[str] = []

    def __enter__(self) -> FleetClient:
        return self

    def __exit__(self, *_: object) -> None:
        for name in self.deployments:
            with contextlib.suppress(grpc.RpcError):
                self.call("DeleteDeployment", pb.DeleteDeploymentRequest(name=name))
        for name in self.devices:
            with contextlib.suppress(grpc.RpcError):
                self.call("DecommissionDevice", pb.DecommissionDeviceRequest(name=name))
            with contextlib.suppress(grpc.RpcError):
                self.call("DeleteDevice", pb.DeleteDeviceRequest(name=name))

    def call(
        self,
        name: str,
        request: Message,
        timeout: float | None = None,
        metadata: tuple[tuple[str, str], ...] | None = None,
    ) -> Any:
        """A unary call, or a server stream as its call object (iterate it; cancel it)."""
        return method(self.ctx.channel, pb, SERVICE, name)(
            request,
            metadata=self.ctx.metadata if metadata is None else metadata,
            timeout=timeout or self.ctx.timeout,
        )

    def ok(self, name: str, request: Message) -> Any:
        """A unary call that must succeed; its response."""
        return expect.succeeds(lambda: self.call(name, request), name)

    def walk(self, rpc: str, request: Message) -> list[Any]:
        """Every item of a listing, following next_page_token."""
        return walk_pages(lambda page: self.call(rpc, page), rpc, request)

    # --- devices ----------------------------------------------------------------------------

    def create_device(
        self, device_id: str = "", *, labels: dict[str, str] | None = None, **fields: Any
    ) -> pb.CreateDeviceResponse:
        """CreateDevice, which must succeed; remembers the device for the cleanup. `fields`
        are the request's (require_approval, bootstrap_token_ttl, request_id) or the
        device's."""
        request_fields = {
            k: fields.pop(k)
            for k in ("require_approval", "bootstrap_token_ttl", "request_id")
            if k in fields
        }
        device = device_pb2.Device(labels=labels or {}, **fields)
        request = pb.CreateDeviceRequest(
            device=device, device_id=device_id or unique_id(), **request_fields
        )
        created = self.ok("CreateDevice", request)
        self.devices.append(created.device.name)
        return created

    def device(self, name: str) -> device_pb2.Device:
        return self.ok("GetDevice", pb.GetDeviceRequest(name=name)).device

    def update_device(self, device: device_pb2.Device, *paths: str) -> device_pb2.Device:
        request = pb.UpdateDeviceRequest(device=device, update_mask=FieldMask(paths=list(paths)))
        return self.ok("UpdateDevice", request).device

    def transition(self, rpc: str, name: str, etag: str = "") -> Any:
        """ApproveDevice, RejectDevice, DecommissionDevice or DeleteDevice, which must
        succeed; the device it returns (None for DeleteDevice)."""
        response = self.ok(rpc, getattr(pb, f"{rpc}Request")(name=name, etag=etag))
        return getattr(response, "device", None)

    def list_devices(self, filter: str = "", order_by: str = "", page_size: int = 0) -> list[Any]:
        request = pb.ListDevicesRequest(filter=filter, order_by=order_by, page_size=page_size)
        return self.walk("ListDevices", request)

    def device_names(self, filter: str = "", order_by: str = "", page_size: int = 0) -> list[str]:
        return [d.name for d in self.list_devices(filter, order_by, page_size)]

    def issue_token(self, name: str, **fields: Any) -> pb.IssueBootstrapTokenResponse:
        return self.ok("IssueBootstrapToken", pb.IssueBootstrapTokenRequest(name=name, **fields))

    # --- deployments ------------------------------------------------------------------------

    def create_deployment(
        self, deployment_id: str = "", target: deployment_pb2.DeviceTarget | None = None, **fields
    ) -> deployment_pb2.Deployment:
        """CreateDeployment, which must succeed; remembers it for the cleanup."""
        request_id = fields.pop("request_id", "")
        deployment = deployment_pb2.Deployment(target=target, **fields)
        request = pb.CreateDeploymentRequest(
            deployment=deployment,
            deployment_id=deployment_id or unique_id(),
            request_id=request_id,
        )
        created = self.ok("CreateDeployment", request).deployment
        self.deployments.append(created.name)
        return created

    def deployment(self, name: str) -> deployment_pb2.Deployment:
        return self.ok("GetDeployment", pb.GetDeploymentRequest(name=name)).deployment


@dataclass
class DeviceKey:
    """An agent's Ed25519 device key pair; the private half never leaves this object."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public(self) -> bytes:
        """The raw 32-byte public key (RFC 8032), as RegisterRequest.device_public_key."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def prove(self, challenge: bytes, device_id: str, boot_id: str) -> bytes:
        """The registration proof: the signature over "lepton.edge.v1.Register" 0x00
        challenge 0x00 device_id 0x00 boot_id (EDG-106)."""
        return self.private.sign(registration_proof(challenge, device_id, boot_id))


def registration_proof(challenge: bytes, device_id: str, boot_id: str) -> bytes:
    return b"\0".join((REGISTER_CONTEXT, challenge, device_id.encode(), boot_id.encode()))


class AgentClient:
    """DeviceAgentService calls as a device's agent makes them: Register and
    CreateRegistrationChallenge without credentials, everything else with a device access
    token (never the run's operator token)."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx

    def call(
        self, name: str, request: Message, token: str | None = None, timeout: float | None = None
    ) -> Any:
        """A call with `authorization: Bearer <token>`, or without metadata when token is
        None."""
        return method(self.ctx.channel, agent_pb, AGENT_SERVICE, name)(
            request,
            metadata=bearer(token) if token is not None else (),
            timeout=timeout or self.ctx.timeout,
        )

    def challenge(self, device_id: str = "") -> agent_pb.CreateRegistrationChallengeResponse:
        request = agent_pb.CreateRegistrationChallengeRequest(device_id=device_id)
        return expect.succeeds(
            lambda: self.call("CreateRegistrationChallenge", request),
            "CreateRegistrationChallenge",
        )

    def register_request(
        self,
        key: DeviceKey,
        device_id: str = "",
        bootstrap_token: str = "",
        boot_id: str = "boot-1",
        challenge: bytes | None = None,
        **fields: Any,
    ) -> agent_pb.RegisterRequest:
        """A RegisterRequest with a fresh challenge (issued for `device_id`) and its proof
        by `key`, unless `challenge` is given."""
        if challenge is None:
            challenge = self.challenge(device_id).challenge
        return agent_pb.RegisterRequest(
            device_id=device_id,
            device_public_key=key.public,
            bootstrap_token=bootstrap_token,
            boot_id=boot_id,
            challenge=challenge,
            challenge_signature=key.prove(challenge, device_id, boot_id),
            **fields,
        )

    def register(self, key: DeviceKey, *args: Any, **fields: Any) -> agent_pb.RegisterResponse:
        """Register with a fresh proof, which must succeed."""
        request = self.register_request(key, *args, **fields)
        return expect.succeeds(lambda: self.call("Register", request), "Register")

    def stat(self, token: str | None, digest: digest_pb2.Digest | None = None) -> Any:
        """StatArtifact of `digest` (an absent one by default): with a valid token it fails
        NOT_FOUND, which shows the token was accepted."""
        request = agent_pb.StatArtifactRequest(digest=digest or absent_digest())
        return self.call("StatArtifact", request, token)

    def token_accepted(self, token: str) -> None:
        """`token` is a valid device access token: StatArtifact of an absent digest gets past
        authentication to NOT_FOUND [ARTIFACT_NOT_FOUND]."""
        expect.fails_with(lambda: self.stat(token), grpc.StatusCode.NOT_FOUND, "ARTIFACT_NOT_FOUND")


def capabilities(runtime: str = "onnxruntime") -> capabilities_pb2.DeviceCapabilities:
    """What a small device might report: linux/arm64 with one CPU runtime."""
    return capabilities_pb2.DeviceCapabilities(
        os="linux",
        architecture="arm64",
        memory_bytes=4 * 1024**3,
        runtimes=[capabilities_pb2.Runtime(name=runtime, version="1.18.1")],
        supported_commands=["lepton.resync"],
    )


@dataclass
class Enrolled:
    """A device created on the fleet and registered by its agent: an access token in hand."""

    name: str
    device_id: str
    key: DeviceKey
    token: str
    boot_id: str
    registered: agent_pb.RegisterResponse


def enrol(
    fleet: FleetClient, agent: AgentClient, runtime: str = "onnxruntime", **fields: Any
) -> Enrolled:
    """Create an APPROVED device (with `fields`) and register it with its bootstrap token,
    reporting one `runtime`."""
    device_id = unique_id()
    created = fleet.create_device(device_id, **fields)
    key = DeviceKey.generate()
    registered = agent.register(
        key, device_id, created.bootstrap_token, capabilities=capabilities(runtime)
    )
    expect.holds(
        bool(registered.access_token), "Register of an APPROVED device to issue a token", "none"
    )
    return Enrolled(
        created.device.name, device_id, key, registered.access_token, "boot-1", registered
    )

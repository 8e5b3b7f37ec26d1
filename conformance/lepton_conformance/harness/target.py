"""The implementation under test: how to reach it, and what it says it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton_conformance.harness import reflection

DISCOVERY_SERVICE = "lepton.discovery.v1.DiscoveryService"
HEALTH_SERVICE = "grpc.health.v1.Health"
# Generous: the largest messages the suite sends are 64 MiB (GEN-073).
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 128 * 1024 * 1024),
    ("grpc.max_receive_message_length", 128 * 1024 * 1024),
]


@dataclass(frozen=True)
class TargetOptions:
    """How to reach the target: address, optional TLS files and bearer token."""

    address: str
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    token: str | None = None
    timeout_s: float = 10.0
    # The target's message size limit in bytes, when the vendor states it (GEN-072).
    message_limit: int | None = None
    # Which name to call the inference service by: "oip", "lepton", or None for whichever
    # the target serves (INF-001, INF-002).
    inference_service: str | None = None
    # A `file://` directory URI the target serves for imports and exports and lets the suite
    # write below (spec/data.md §5.1), e.g. "file:///srv/conformance/"; None skips the
    # import and export cases that need files.
    file_root: str | None = None

    def __post_init__(self) -> None:
        if self.file_root is not None and not self.file_root.startswith("file:///"):
            raise ValueError(f"--file-root must be a file:/// URI, not {self.file_root!r}")
        if self.file_root is not None and not self.file_root.endswith("/"):
            object.__setattr__(self, "file_root", self.file_root + "/")

    def credentials(self) -> grpc.ChannelCredentials | None:
        if not (self.tls or self.ca_file or self.cert_file):
            return None
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_file.read_bytes() if self.ca_file else None,
            private_key=self.key_file.read_bytes() if self.key_file else None,
            certificate_chain=self.cert_file.read_bytes() if self.cert_file else None,
        )

    def open_channel(self, options: list[tuple[str, object]] | None = None) -> grpc.Channel:
        """A new channel to the target (TLS when configured)."""
        options = [*CHANNEL_OPTIONS, *(options or [])]
        credentials = self.credentials()
        if credentials is None:
            return grpc.insecure_channel(self.address, options=options)
        return grpc.secure_channel(self.address, credentials, options=options)


@dataclass
class TargetInfo:
    """What discovery found: services by reflection, Lepton services and their features."""

    services: frozenset[str] = frozenset()
    reflection_error: str = ""
    server_info: discovery_pb.GetServerInfoResponse | None = None
    discovery_error: str = ""
    features: dict[str, frozenset[str]] = field(default_factory=dict)

    def serves(self, service: str) -> bool:
        return service in self.services or service in self.features

    def has_feature(self, service: str, feature: str) -> bool:
        return feature in self.features.get(service, frozenset())


def discover(channel: grpc.Channel, timeout_s: float) -> TargetInfo:
    """Ask the target what it serves: reflection first, then DiscoveryService."""
    info = TargetInfo()
    # v1 first; v1alpha (same messages) for servers that only have the older name.
    for service in (reflection.V1, reflection.V1ALPHA):
        try:
            info.services = frozenset(reflection.list_services(channel, timeout_s, service))
            info.reflection_error = ""
            break
        except grpc.RpcError as error:
            info.reflection_error = f"{service}: {error.code().name}: {error.details()}"
    try:
        stub = discovery_grpc.DiscoveryServiceStub(channel)
        info.server_info = stub.GetServerInfo(
            discovery_pb.GetServerInfoRequest(), timeout=timeout_s
        )
        info.features = {s.name: frozenset(s.features) for s in info.server_info.services}
    except grpc.RpcError as error:
        info.discovery_error = f"{error.code().name}: {error.details()}"
    return info

"""The implementation under test: how to reach it, and what discovery found it serves."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb

DISCOVERY_SERVICE = "lepton.discovery.v1.DiscoveryService"
HEALTH_SERVICE = "grpc.health.v1.Health"
# Generous: the largest messages the suite sends are 64 MiB (GEN-073).
DEFAULT_TIMEOUT_S = 10.0
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
    # Bearer tokens of further principals (`--annotator-token`, repeatable), each standing for
    # a principal of its own, distinct from `token`'s: the annotation cases that need several
    # annotators (overlap, reviews, agreement) call with them.
    annotator_tokens: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    # The target's message size limit in bytes, when the vendor states it (GEN-072).
    message_limit: int | None = None
    # Which name to call the inference service by: "oip", "lepton", or None for whichever
    # the target serves (INF-001, INF-002).
    inference_service: str | None = None
    # A `file://` directory URI the target serves for imports and exports and lets the suite
    # write below (spec/data.md §5.1; registry import jobs, spec/registry.md "Import"), e.g.
    # "file:///srv/conformance/"; None skips the import and export cases that need files.
    file_root: str | None = None
    # Services the vendor states the target serves (`--service`, repeatable): taken as served
    # whatever reflection, DiscoveryService or a probe finds.
    services: tuple[str, ...] = ()
    # The command that starts the device agent under test (`--agent-command`), with
    # placeholders the agent harness fills in (suites/edge/agent_process.py). A run given one
    # certifies that agent, not a server: the harness plays its fleet server and `address` is
    # where the agent serves the Open Inference Protocol.
    agent_command: str | None = None
    # The target's Prometheus endpoint (`--metrics-url`, http://HOST:PORT/metrics), for the
    # metrics profile; None leaves it unchecked.
    metrics_url: str | None = None
    # The token of a principal that holds the reader role only (`--reader-token`), for the
    # roles profile; None leaves it unchecked.
    reader_token: str | None = None
    # The token of a principal of another tenant than `token`'s, holding writer and admin
    # there (`--other-tenant-token`), for the tenants profile; None leaves it unchecked.
    other_tenant_token: str | None = None
    # The directory below which the target keeps what it stores (`--storage-dir`), which the
    # suite reads and alters, and a shell command that restarts the target on the same
    # address (`--restart-command`), for the encrypted-storage profile; None leaves it
    # unchecked.
    storage_dir: Path | None = None
    restart_command: str | None = None

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the bearer token, when one was given."""
        return bearer(self.token)

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


def bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying `token` as a bearer token; none for None."""
    return () if token is None else (("authorization", f"Bearer {token}"),)


def free_loopback_address() -> str:
    """127.0.0.1 with a port nothing listens on now, for a process the suite starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


# How a service was found: listed by reflection, listed by DiscoveryService, answering a
# probe call, or stated by the vendor (`--service`).
REFLECTION = "reflection"
DISCOVERY = "discovery"
PROBE = "probe"
STATED = "stated"


@dataclass(frozen=True)
class FeatureFinding:
    """An optional feature of a service: whether the target lists it and whether a probe call
    found it implemented (any answer but UNIMPLEMENTED), with what the probe got."""

    name: str
    service: str
    listed: bool
    implemented: bool
    evidence: str


@dataclass
class TargetInfo:
    """What discovery found: the services reflection lists, DiscoveryService's answer, how each
    service was found, and the optional features probed."""

    services: frozenset[str] = frozenset()
    reflection_error: str = ""
    server_info: discovery_pb.GetServerInfoResponse | None = None
    discovery_error: str = ""
    features: dict[str, frozenset[str]] = field(default_factory=dict)
    # service -> how it was found, in the order the ways were tried (REFLECTION, DISCOVERY,
    # STATED, PROBE); a service the target does not serve has no entry.
    found: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # service -> what its probe call got, as "METHOD: CODE" ("ServerLive: OK").
    probes: dict[str, str] = field(default_factory=dict)
    # feature name -> what probing it found (filled by the suites that own the features).
    optional_features: dict[str, FeatureFinding] = field(default_factory=dict)

    def serves(self, service: str) -> bool:
        # Reflection, DiscoveryService, --service and probes all record what they find.
        return service in self.found

    def has_feature(self, service: str, feature: str) -> bool:
        """`service` lists `feature`, or a probe found it implemented though unlisted: a
        feature that answers is tested either way."""
        if feature in self.features.get(service, frozenset()):
            return True
        finding = self.optional_features.get(feature)
        return finding is not None and finding.service == service and finding.implemented

    def record(self, service: str, how: str) -> None:
        """Note that `service` was found in the way `how`."""
        ways = self.found.get(service, ())
        if how not in ways:
            self.found[service] = (*ways, how)

    def to_json(self) -> dict[str, object]:
        """What was discovered and how, for results.json."""
        return {
            "services": {name: list(ways) for name, ways in sorted(self.found.items())},
            "probes": dict(sorted(self.probes.items())),
            "listed_features": {name: sorted(f) for name, f in sorted(self.features.items())},
            "probed_features": {
                name: {
                    "service": f.service,
                    "listed": f.listed,
                    "implemented": f.implemented,
                    "evidence": f.evidence,
                }
                for name, f in sorted(self.optional_features.items())
            },
            "reflection_error": self.reflection_error,
            "discovery_error": self.discovery_error,
        }

"""Settings of one server process, as `lepton serve` parses them: those of the host, and each
hosted layer's own config (declared in the layer's `layer` module)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lepton_server.runtime.roles import ADMIN, DEFAULT_ROLES, READER, WRITER, granted

if TYPE_CHECKING:
    from lepton_server.runtime.encryption import KeyProvider

# A 64 MiB tensor plus the request envelope (names, shapes, parameters) fits with room to spare.
DEFAULT_MAX_MESSAGE_BYTES = 80 * 1024 * 1024


@dataclass(frozen=True)
class TlsConfig:
    """Server certificate and key (PEM files); a client CA turns on mutual TLS."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None


@dataclass(frozen=True)
class WorkersConfig:
    """`lepton serve --workers N`: N processes serve the port (SO_REUSEPORT). The primary
    hosts every layer; each worker runs an inference engine of its own for the data plane and
    forwards every other call to the primary (runtime/workers.py)."""

    count: int
    # A private directory of the processes' unix sockets (mode 0700).
    socket_dir: Path
    # This process: 0 for the primary, 1..count-1 for a worker.
    index: int = 0
    # The primary's `lepton` arguments, which each worker is started with (plus its own).
    argv: tuple[str, ...] = ()

    @property
    def primary_socket(self) -> str:
        """Where workers forward calls and follow the primary's registry."""
        return f"unix:{self.socket_dir / 'primary.sock'}"

    def worker_socket(self, index: int) -> str:
        """Where worker `index` serves its whole inference service to the primary."""
        return f"unix:{self.socket_dir / f'worker-{index}.sock'}"

    @property
    def metrics_dir(self) -> Path:
        """Where every process keeps its call counters for the primary's metrics endpoint."""
        return self.socket_dir / "metrics"

    @property
    def worker_sockets(self) -> tuple[str, ...]:
        return tuple(self.worker_socket(i) for i in range(1, self.count))


@dataclass(frozen=True)
class ServerConfig:
    """Everything one server process needs to start."""

    address: str = "127.0.0.1:0"
    data_dir: Path = Path("lepton-data")
    # Layers to host; None hosts every layer this server implements.
    services: tuple[str, ...] | None = None
    tls: TlsConfig | None = None
    auth_tokens: frozenset[str] = field(default_factory=frozenset)
    # token -> principal (spec/general.md, "Principals"); a token missing here stands for
    # `token:<sha256 prefix>`.
    principals: Mapping[str, str] = field(default_factory=dict)
    # token -> its roles (runtime/roles.py); a token missing here holds every operator role.
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    shutdown_grace_seconds: float = 5.0
    # Several processes on one port; None serves from this process alone.
    workers: WorkersConfig | None = None
    # "compiled": the compiled front owns the port and answers the hot-path methods
    # (runtime/compiled_front.py); "python": grpc.aio serves every call.
    data_plane: str = "compiled"
    # HOST:PORT of the Prometheus endpoint (runtime/metrics.py); None serves no metrics.
    metrics_address: str | None = None
    # HOST:PORT of an OTLP/gRPC collector to export traces to (runtime/tracing.py); None
    # traces nothing.
    otlp_endpoint: str | None = None
    # Holds the keys that wrap each stored object's data key (`--encryption-key-file`,
    # runtime/encryption.py); None stores objects unencrypted.
    encryption: KeyProvider | None = None
    # token -> its tenant (spec/general.md, "Tenants"); a token missing here belongs to the
    # default tenant "".
    tenants: Mapping[str, str] = field(default_factory=dict)
    # The tenant whose resources the layers built from this config hold: "" for the default
    # tenant, whose data is at `data_dir`; another's config is `for_tenant`'s.
    tenant: str = ""
    # Layer name -> that layer's own config (its `Layer.config_type`); a hosted layer absent
    # here runs with its defaults.
    layers: Mapping[str, object] = field(default_factory=dict)

    @property
    def other_tenants(self) -> tuple[str, ...]:
        """The tenants besides the default one that the token file names, sorted."""
        return tuple(sorted({t for t in self.tenants.values() if t}))

    def token_tenant(self, token: str) -> str:
        return self.tenants.get(token, "")

    @property
    def own_token(self) -> str | None:
        """The token this server's layers call one another with (training registering a
        model, inference following the registry): the first in order of those whose roles
        grant the most (admin, then writer); None when the server requires no credentials."""
        for role in (ADMIN, WRITER, READER):
            holders = [
                t
                for t in self.auth_tokens
                if role in granted(self.token_roles(t)) and self.token_tenant(t) == self.tenant
            ]
            if holders:
                return min(holders)
        return None

    def token_roles(self, token: str) -> frozenset[str]:
        """The roles of one of `auth_tokens`."""
        return self.roles.get(token, DEFAULT_ROLES)

"""Settings of one server process, as `lepton serve` parses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# A 64 MiB tensor plus the request envelope (names, shapes, parameters) fits with room to spare.
DEFAULT_MAX_MESSAGE_BYTES = 80 * 1024 * 1024


@dataclass(frozen=True)
class TlsConfig:
    """Server certificate and key (PEM files); a client CA turns on mutual TLS."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None


@dataclass(frozen=True)
class ServerConfig:
    """Everything one server process needs to start."""

    address: str = "127.0.0.1:0"
    data_dir: Path = Path("lepton-data")
    # Layers to host; None hosts every layer this server implements.
    services: tuple[str, ...] | None = None
    model_repository: Path | None = None
    tls: TlsConfig | None = None
    auth_tokens: frozenset[str] = field(default_factory=frozenset)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # Directories `file://` imports and exports may use, besides `<data_dir>/files`.
    file_roots: tuple[Path, ...] = ()
    # HOST:PORT of an Arrow Flight endpoint serving the datasets (feature `data.flight`,
    # spec/data.md §8.6); port 0 = any. None serves no Flight endpoint.
    flight_address: str | None = None
    # Where version segments live: a local path or any pyarrow.fs URI (`file://`, `s3://`, ...).
    # None keeps them under `<data_dir>/data`. Metadata stays in SQLite under `data_dir`.
    storage_uri: str | None = None
    shutdown_grace_seconds: float = 5.0

"""Settings of one server process, as `lepton serve` parses them: those of the host, and each
hosted layer's own config (declared in the layer's `layer` module)."""

from __future__ import annotations

from collections.abc import Mapping
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
    tls: TlsConfig | None = None
    auth_tokens: frozenset[str] = field(default_factory=frozenset)
    # token -> principal (spec/general.md, "Principals"); a token missing here stands for
    # `token:<sha256 prefix>`.
    principals: Mapping[str, str] = field(default_factory=dict)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    shutdown_grace_seconds: float = 5.0
    # Layer name -> that layer's own config (its `Layer.config_type`); a hosted layer absent
    # here runs with its defaults.
    layers: Mapping[str, object] = field(default_factory=dict)

"""The flags and config of `lepton agent`. Importing this module declares flags only; the
agent (agent.py, with onnxruntime) loads when the command runs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from lepton_server.runtime.startup_errors import StartupError

DEFAULT_OUTBOX_CAPACITY_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class AgentConfig:
    """The settings of one agent process, as `lepton agent` parses them."""

    fleet: str
    state_dir: Path
    serve: str
    trust_roots: Path
    bootstrap_token: str = ""
    device_id: str = ""
    outbox_capacity_bytes: int = DEFAULT_OUTBOX_CAPACITY_BYTES
    # Key-encryption keys the telemetry outbox's data key is wrapped under (runtime/
    # encryption.py); None stores telemetry unencrypted.
    encryption_key_file: Path | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `lepton agent`."""
    parser.add_argument("--fleet", required=True, metavar="HOST:PORT", help="the fleet server")
    parser.add_argument("--state-dir", required=True, type=Path, help="persistent agent state")
    parser.add_argument(
        "--serve",
        default="127.0.0.1:8001",
        metavar="HOST:PORT",
        help="where to serve the Open Inference Protocol; port 0 = any",
    )
    parser.add_argument(
        "--trust-roots", required=True, type=Path, help="JSON file of trusted release keys"
    )
    parser.add_argument("--bootstrap-token", default="", help="binds the device key once")
    parser.add_argument("--device-id", default="", help="the device ID to register as")
    parser.add_argument(
        "--outbox-capacity-bytes",
        type=int,
        default=DEFAULT_OUTBOX_CAPACITY_BYTES,
        help="bound of the telemetry outbox; 0 = unbounded (default: %(default)s)",
    )
    parser.add_argument(
        "--encryption-key-file",
        type=Path,
        metavar="FILE",
        help="encrypt the telemetry outbox at rest under the keys of FILE (`KEY_ID HEX_KEY` "
        "lines, as for `lepton serve`; default: unencrypted)",
    )
    parser.add_argument("--log-level", default="WARNING")


def configure(options: argparse.Namespace) -> AgentConfig:
    if options.outbox_capacity_bytes < 0:
        raise StartupError("--outbox-capacity-bytes must not be negative")
    for flag, value in (("--fleet", options.fleet), ("--serve", options.serve)):
        _, colon, port = value.rpartition(":")
        if not colon or not port.isdigit():
            raise StartupError(f"{flag} must be HOST:PORT")
    return AgentConfig(
        fleet=options.fleet,
        state_dir=options.state_dir,
        serve=options.serve,
        trust_roots=options.trust_roots,
        bootstrap_token=options.bootstrap_token,
        device_id=options.device_id,
        outbox_capacity_bytes=options.outbox_capacity_bytes,
        encryption_key_file=options.encryption_key_file,
    )

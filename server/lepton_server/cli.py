"""`lepton`: run the reference server (`serve`) or the end-to-end demonstration (`demo`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from lepton_server import __version__
from lepton_server.config import DEFAULT_MAX_MESSAGE_BYTES, ServerConfig, TlsConfig
from lepton_server.demo import run_demo
from lepton_server.runtime.auth import load_tokens
from lepton_server.runtime.host import RunningServer, ServerHost
from lepton_server.runtime.startup_errors import StartupError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lepton", description=__doc__)
    parser.add_argument("--version", action="version", version=f"lepton {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the reference server")
    serve.add_argument("--address", default="127.0.0.1:50051", help="HOST:PORT; port 0 = any")
    serve.add_argument("--data-dir", type=Path, default=Path("lepton-data"))
    serve.add_argument(
        "--services",
        type=lambda text: tuple(s.strip() for s in text.split(",") if s.strip()),
        help="comma-separated layers to host (default: every implemented layer)",
    )
    serve.add_argument("--model-repository", type=Path, help="directory of models to serve")
    serve.add_argument("--tls-cert", type=Path, help="server certificate chain (PEM)")
    serve.add_argument("--tls-key", type=Path, help="server private key (PEM)")
    serve.add_argument("--tls-client-ca", type=Path, help="CA for client certificates (mTLS)")
    serve.add_argument("--auth-tokens", type=Path, help="file of accepted bearer tokens")
    serve.add_argument(
        "--max-message-bytes",
        type=int,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        help="largest message accepted or sent (default: %(default)s)",
    )
    serve.add_argument(
        "--file-root",
        type=Path,
        action="append",
        default=[],
        help="a directory file:// imports and exports may use (repeatable; "
        "<data-dir>/files always is one)",
    )
    serve.add_argument(
        "--flight-address",
        help="HOST:PORT of an Arrow Flight endpoint serving the datasets too (feature "
        "data.flight); port 0 = any",
    )
    serve.add_argument(
        "--storage-uri",
        help="where version data lives: a directory or a pyarrow.fs URI such as "
        "s3://bucket/prefix (credentials from the environment; default: under --data-dir). "
        "It belongs to this server: what its catalog does not refer to is removed at start",
    )
    serve.add_argument("--log-level", default="WARNING")

    commands.add_parser("demo", help="start a server on loopback and walk through the standard")
    return parser


def _config(options: argparse.Namespace) -> ServerConfig:
    if (options.tls_cert is None) != (options.tls_key is None):
        raise SystemExit("lepton serve: --tls-cert and --tls-key go together")
    if options.tls_client_ca is not None and options.tls_cert is None:
        raise SystemExit("lepton serve: --tls-client-ca needs --tls-cert and --tls-key")
    if options.max_message_bytes <= 0:
        raise SystemExit("lepton serve: --max-message-bytes must be positive")
    if options.flight_address is not None:
        _, colon, port = options.flight_address.rpartition(":")
        if not colon or not port.isdigit():
            raise SystemExit("lepton serve: --flight-address must be HOST:PORT")
    tls = None
    if options.tls_cert is not None:
        tls = TlsConfig(options.tls_cert, options.tls_key, options.tls_client_ca)
    tokens: frozenset[str] = frozenset()
    if options.auth_tokens is not None:
        tokens = load_tokens(options.auth_tokens.read_text().splitlines())
        if not tokens:
            raise SystemExit(f"lepton serve: {options.auth_tokens} holds no tokens")
    return ServerConfig(
        address=options.address,
        data_dir=options.data_dir,
        services=options.services,
        model_repository=options.model_repository,
        tls=tls,
        auth_tokens=tokens,
        max_message_bytes=options.max_message_bytes,
        file_roots=tuple(options.file_root),
        flight_address=options.flight_address,
        storage_uri=options.storage_uri,
    )


def _announce(running: RunningServer) -> None:
    # Tests and scripts read this line to learn the port when --address ends in :0.
    sys.stdout.write(f"lepton: listening on {running.address}\n")
    for service in running.services:
        for location in service.flight_locations:
            sys.stdout.write(f"lepton: flight listening on {location}\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lepton` console script."""
    options = _parser().parse_args(argv)
    if options.command == "demo":
        return run_demo()
    logging.basicConfig(level=options.log_level.upper(), stream=sys.stderr)
    config = _config(options)
    try:
        host = ServerHost(config)
    except StartupError as exc:
        raise SystemExit(f"lepton serve: {exc}") from exc
    config.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(host.serve_until_signalled(on_ready=_announce))
    return 0


if __name__ == "__main__":
    sys.exit(main())

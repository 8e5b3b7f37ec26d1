"""`lepton`: run the reference server (`serve`), the device agent (`agent`) or the end-to-end
demonstration (`demo`).

`lepton serve` knows the host's flags only; each layer declares its own (its `layer` module).
The command line is read twice: a first look finds which layers `--services` selects, whose
flags are then declared for the full parse. Without `--services`, and with `--help`, every
layer's flags are declared; a flag of a layer that is not selected is an unrecognized
argument."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from lepton_server import __version__
from lepton_server.agent import options as agent_options
from lepton_server.config import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ServerConfig,
    TlsConfig,
    WorkersConfig,
)
from lepton_server.runtime.errors import LeptonError
from lepton_server.runtime.host import RunningServer, ServerHost
from lepton_server.runtime.layer_registry import LAYERS, Layer, build_services, load_layer
from lepton_server.runtime.principals import TokenGrant, internal_token, load_token_file
from lepton_server.runtime.roles import ADMIN
from lepton_server.runtime.startup_errors import StartupError

if TYPE_CHECKING:
    from lepton_server.runtime.encryption import KeyProvider

ADMINS = frozenset({ADMIN})


def _layer_names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _parser(layers: Mapping[str, Layer[Any]]) -> argparse.ArgumentParser:
    """The full parser: the host's flags and those of `layers`."""
    parser = argparse.ArgumentParser(prog="lepton", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--version", action="version", version=f"lepton {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the reference server")
    serve.add_argument("--address", default="127.0.0.1:50051", help="HOST:PORT; port 0 = any")
    serve.add_argument("--data-dir", type=Path, default=Path("lepton-data"))
    serve.add_argument(
        "--services",
        type=_layer_names,
        help="comma-separated layers to host (default: every implemented layer)",
    )
    serve.add_argument("--tls-cert", type=Path, help="server certificate chain (PEM)")
    serve.add_argument("--tls-key", type=Path, help="server private key (PEM)")
    serve.add_argument("--tls-client-ca", type=Path, help="CA for client certificates (mTLS)")
    serve.add_argument(
        "--auth-tokens",
        type=Path,
        help="file of accepted bearer tokens, one `TOKEN [PRINCIPAL]` per line",
    )
    serve.add_argument(
        "--max-message-bytes",
        type=int,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        help="largest message accepted or sent (default: %(default)s)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the port: each added one serves inference from an engine of "
        "its own and forwards every other call to the first (default: %(default)s)",
    )
    serve.add_argument(
        "--data-plane",
        choices=("compiled", "python"),
        default="compiled",
        help="compiled: a compiled front owns the port and frames the inference hot path "
        "(ModelInfer) outside Python; python: grpc.aio serves every call. TLS is always "
        "served by grpc.aio (default: %(default)s)",
    )
    serve.add_argument(
        "--metrics-address",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (port 0 = any; default: "
        "none). Keep it off public networks: it needs no credentials",
    )
    serve.add_argument(
        "--otlp-endpoint",
        metavar="HOST:PORT",
        help="export OpenTelemetry traces over OTLP/gRPC (plaintext) to this collector, "
        "following the caller's W3C traceparent (default: no tracing)",
    )
    serve.add_argument(
        "--encryption-key-file",
        type=Path,
        metavar="FILE",
        help="encrypt stored data at rest under the keys of FILE: `KEY_ID HEX_KEY` lines, the "
        "first wrapping new data keys (default: stored unencrypted)",
    )
    # Set by the primary on the workers it starts (runtime/worker_pool.py).
    serve.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    serve.add_argument("--worker-socket-dir", type=Path, help=argparse.SUPPRESS)
    serve.add_argument("--log-level", default="WARNING")
    for name, layer in layers.items():
        layer.add_arguments(serve.add_argument_group(f"{name} layer"))

    agent = commands.add_parser("agent", help="run the edge device agent")
    agent_options.add_arguments(agent)

    commands.add_parser("demo", help="start a server on loopback and walk through the standard")

    rekey = commands.add_parser(
        "rekey",
        help="re-wrap every stored object's data key under the key file's first key "
        "(after a key rotation; no data is rewritten)",
    )
    rekey.add_argument("--data-dir", type=Path, default=Path("lepton-data"))
    rekey.add_argument("--encryption-key-file", type=Path, required=True, metavar="FILE")
    rekey.add_argument(
        "--storage-uri",
        help="the server's --storage-uri, when it stores data there (default: the data dir)",
    )
    return parser


class _FirstLookFailed(Exception):
    """The first look could not read the command line; the full parse will say why."""


class _FirstLook(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _FirstLookFailed(message)


def _declared_layers(argv: Sequence[str]) -> dict[str, Layer[Any]]:
    """The layers whose flags `argv` may use: those --services selects (an unknown name is
    reported by build_services), or every layer without --services or with --help."""
    first = _FirstLook(add_help=False)
    first.add_argument("-h", "--help", action="store_true")
    first.add_argument("--services", type=_layer_names)
    try:
        options, _ = first.parse_known_args(argv)
    except _FirstLookFailed:
        options = None
    if options is None or options.help or options.services is None:
        names: Sequence[str] = tuple(LAYERS)
    else:
        # In LAYERS order whatever --services says, so a flag two layers share (--storage-uri
        # of data and registry) is declared by the same layer every time.
        names = [name for name in LAYERS if name in options.services]
    return {name: load_layer(name) for name in names}


def _workers(options: argparse.Namespace, argv: Sequence[str]) -> WorkersConfig | None:
    if options.workers < 1:
        raise StartupError("--workers must be at least 1")
    if options.workers == 1:
        return None
    if options.services is not None and "inference" not in options.services:
        raise StartupError("--workers scales the inference layer, which --services leaves out")
    socket_dir = options.worker_socket_dir
    if socket_dir is None:
        # Short (unix socket paths are limited to about 100 bytes) and private (mode 0700).
        socket_dir = Path(tempfile.mkdtemp(prefix="lepton-"))
    return WorkersConfig(options.workers, socket_dir, options.worker_index, tuple(argv))


def _config(
    options: argparse.Namespace, layers: Mapping[str, Layer[Any]], argv: Sequence[str] = ()
) -> ServerConfig:
    if (options.tls_cert is None) != (options.tls_key is None):
        raise StartupError("--tls-cert and --tls-key go together")
    if options.tls_client_ca is not None and options.tls_cert is None:
        raise StartupError("--tls-client-ca needs --tls-cert and --tls-key")
    if options.max_message_bytes <= 0:
        raise StartupError("--max-message-bytes must be positive")
    if options.metrics_address is not None:
        _, colon, port = options.metrics_address.rpartition(":")
        if not colon or not port.isdigit() or int(port) > 65535:
            raise StartupError("--metrics-address must be HOST:PORT")
    layer_configs = {name: layer.configure(options) for name, layer in layers.items()}
    tls = None
    if options.tls_cert is not None:
        tls = TlsConfig(options.tls_cert, options.tls_key, options.tls_client_ca)
    grants = {}
    if options.auth_tokens is not None:
        content = options.auth_tokens.read_bytes()
        try:
            grants = load_token_file(content.decode().splitlines())
        except ValueError as exc:
            raise StartupError(f"{options.auth_tokens}, {exc}") from exc
        if not grants:
            raise StartupError(f"{options.auth_tokens} holds no tokens")
        # With tenants, each tenant's layers call one another with a token of the tenant's
        # own (the default tenant's too: its tokens may all be readers, or none at all).
        tenants = {g.tenant for g in grants.values()}
        for tenant in sorted(tenants | {""} if tenants != {""} else set()):
            grants[internal_token(content, tenant)] = TokenGrant("lepton-server", ADMINS, tenant)
    return ServerConfig(
        address=options.address,
        data_dir=options.data_dir,
        services=options.services,
        tls=tls,
        auth_tokens=frozenset(grants),
        principals={token: grant.principal for token, grant in grants.items()},
        roles={token: grant.roles for token, grant in grants.items()},
        tenants={token: grant.tenant for token, grant in grants.items() if grant.tenant},
        max_message_bytes=options.max_message_bytes,
        layers=layer_configs,
        workers=_workers(options, argv),
        data_plane=options.data_plane,
        metrics_address=options.metrics_address,
        otlp_endpoint=options.otlp_endpoint,
        encryption=_key_file(options.encryption_key_file),
    )


def _key_file(path: Path | None) -> KeyProvider | None:
    if path is None:
        return None
    # Imported here: a server that encrypts nothing need not load the cipher library.
    from lepton_server.runtime.encryption import KeyFile  # noqa: PLC0415

    return KeyFile.load(path)


def _announce(running: RunningServer) -> None:
    # Tests and scripts read this line to learn the port when --address ends in :0.
    sys.stdout.write(f"lepton: listening on {running.address}\n")
    if running.metrics_address is not None:
        sys.stdout.write(f"lepton: metrics on http://{running.metrics_address}/metrics\n")
    for service in running.services:
        for protocol, location in service.endpoints:
            sys.stdout.write(f"lepton: {protocol} listening on {location}\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lepton` console script."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    layers = _declared_layers(arguments)
    options = _parser(layers).parse_args(arguments)
    if options.command == "demo":
        # Imported here: the demo configures every layer, and `serve` loads only those selected.
        from lepton_server.demo import run_demo  # noqa: PLC0415

        return run_demo()
    if options.command == "agent":
        # Imported here: the agent loads onnxruntime, which `serve` may not need.
        from lepton_server.agent.agent import main as run_agent  # noqa: PLC0415

        return run_agent(options)
    if options.command == "rekey":
        return _rekey(options)
    logging.basicConfig(level=options.log_level.upper(), stream=sys.stderr)
    try:
        config = _config(options, layers, arguments)
        if config.workers is not None and config.workers.index > 0:
            return _serve_worker(config)
        host = ServerHost(config, build_services(config))
    except StartupError as exc:
        raise SystemExit(f"lepton serve: {exc}") from exc
    config.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(host.serve_until_signalled(on_ready=_announce))
    except StartupError as exc:  # one the host found as it started (a port in use)
        raise SystemExit(f"lepton serve: {exc}") from exc
    finally:
        if config.workers is not None:
            shutil.rmtree(config.workers.socket_dir, ignore_errors=True)
    return 0


def _rekey(options: argparse.Namespace) -> int:
    # Imported here: only this command needs pyarrow's filesystems and the cipher library.
    from lepton_server.runtime import rekey as rekey_command  # noqa: PLC0415

    try:
        found = rekey_command.run(options)
    except (StartupError, LeptonError, OSError) as exc:
        raise SystemExit(f"lepton rekey: {exc}") from exc
    sys.stdout.write(
        f"lepton rekey: {found.rewrapped} data keys re-wrapped, {found.current} already were"
        + (f", {found.orphaned} records of objects no longer stored" if found.orphaned else "")
        + "\n"
    )
    return 0


def _serve_worker(config: ServerConfig) -> int:
    """A worker of `lepton serve --workers N` (runtime/worker_host.py)."""
    # Imported here: only a worker needs them, and they load the inference engine.
    from lepton_server.inference.layer import InferenceConfig  # noqa: PLC0415
    from lepton_server.inference.services import build_worker  # noqa: PLC0415
    from lepton_server.runtime.worker_host import WorkerHost  # noqa: PLC0415

    inference = config.layers.get("inference") or InferenceConfig()
    public, private = build_worker(config, inference)
    asyncio.run(WorkerHost(config, public, private).serve_until_signalled())
    return 0


if __name__ == "__main__":
    sys.exit(main())

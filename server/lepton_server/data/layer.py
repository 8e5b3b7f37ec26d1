"""The data layer as the host sees it: the flags it owns, its config, and how it is built.
Importing this module declares flags only; the catalog, SQLite and Arrow Flight load when
`build` runs (services.py)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import Layer, tenant_location, tenant_roots
from lepton_server.runtime.startup_errors import StartupError


@dataclass(frozen=True)
class DataConfig:
    """Settings of the data layer."""

    # Directories `file://` imports and exports may use, besides `<data_dir>/files`.
    file_roots: tuple[Path, ...] = ()
    # HOST:PORT of an Arrow Flight endpoint serving the datasets (feature `data.flight`,
    # spec/data.md §8.6); port 0 = any. None serves no Flight endpoint.
    flight_address: str | None = None
    # Where version segments live: a local path or any pyarrow.fs URI (`file://`, `s3://`, ...).
    # None keeps them under `<data_dir>/data`. Metadata stays in SQLite under `data_dir`.
    storage_uri: str | None = None
    # Where pipeline runs compute (spec/data.md §6.6): "local" (this process) or "ray".
    processing_executor: str = "local"
    # The Ray cluster's address for the "ray" executor. Shared with the training layer.
    ray_address: str | None = None


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The data layer's flags of `lepton serve`."""
    group.add_argument(
        "--file-root",
        type=Path,
        action="append",
        default=[],
        help="a directory file:// imports and exports may use (repeatable; "
        "<data-dir>/files always is one)",
    )
    group.add_argument(
        "--flight-address",
        help="HOST:PORT of an Arrow Flight endpoint serving the datasets too (feature "
        "data.flight); port 0 = any",
    )
    group.add_argument(
        "--storage-uri",
        help="where version data lives: a directory or a pyarrow.fs URI such as "
        "s3://bucket/prefix (credentials from the environment; default: under --data-dir). "
        "It belongs to this server: what its catalog does not refer to is removed at start",
    )
    group.add_argument(
        "--processing-executor",
        choices=("local", "ray"),
        default="local",
        help="where pipeline runs compute: in this process, or on the Ray cluster at "
        "--ray-address (needs the server's `ray` extra)",
    )
    # Shared with the training layer: whichever layer declares it first, both read it.
    with contextlib.suppress(argparse.ArgumentError):
        group.add_argument(
            "--ray-address",
            help="HOST:PORT of the Ray cluster that Ray executors submit their tasks to",
        )


def configure(options: argparse.Namespace) -> DataConfig:
    """The data layer's config from parsed options."""
    if options.flight_address is not None:
        _, colon, port = options.flight_address.rpartition(":")
        if not colon or not port.isdigit():
            raise StartupError("--flight-address must be HOST:PORT")
    if options.processing_executor == "ray" and not options.ray_address:
        raise StartupError("--processing-executor ray needs --ray-address")
    return DataConfig(
        file_roots=tuple(options.file_root),
        flight_address=options.flight_address,
        storage_uri=options.storage_uri,
        processing_executor=options.processing_executor,
        ray_address=options.ray_address,
    )


def build(server: ServerConfig, config: DataConfig) -> list[HostedService]:
    """The data layer's services (services.build)."""
    from lepton_server.data import services  # noqa: PLC0415  (heavy: loaded when hosted)

    return services.build(server, config)


def for_tenant(config: DataConfig, tenant: str) -> DataConfig:
    """Another tenant's storage and file roots are below the default's (a root the tenants
    shared would carry one tenant's exports to another's imports); the Flight endpoint is
    the default tenant's (its port serves one catalog)."""
    return dataclasses.replace(
        config,
        flight_address=None,
        storage_uri=tenant_location(config.storage_uri, tenant),
        file_roots=tenant_roots(config.file_roots, tenant),
    )


LAYER = Layer(DataConfig, add_arguments, configure, build, for_tenant=for_tenant)

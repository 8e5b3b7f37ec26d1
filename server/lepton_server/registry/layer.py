"""The registry layer as the host sees it: the flags it owns, its config, and how it is
built. Importing this module declares flags only; SQLite and pyarrow load when `build` runs
(services.py)."""

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

DEFAULT_MAX_ARTIFACT_BYTES = 1 << 40  # 1 TiB


@dataclass(frozen=True)
class RegistryConfig:
    """Settings of the registry layer."""

    # Where artifact blobs live: a local path or any pyarrow.fs URI; None keeps them under
    # `<data_dir>/registry/blobs`. Shared with the data layer's --storage-uri.
    storage_uri: str | None = None
    # The largest artifact CreateModelVersion accepts (RESOURCE_EXHAUSTED [QUOTA_EXCEEDED]).
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES
    # Feature `registry.watch`: WatchModelEvents and event retention.
    watch: bool = True
    # Events are kept while among the last `count` or younger than `seconds` (REG-042).
    event_retention_count: int = 10_000
    event_retention_seconds: float = 24 * 3600
    # A watch stream with nothing to deliver sends an empty message this often (REG-042).
    watch_keepalive_seconds: float = 30.0
    # A pending upload expires this long after its last committed byte (REG-029).
    upload_expiry_seconds: float = 24 * 3600
    # Directories `file://` import jobs may read, besides `<data_dir>/files`. Shared with the
    # data layer's --file-root.
    file_roots: tuple[Path, ...] = ()
    # Conversion jobs load PICKLE sources (running code from the file) only when the operator
    # trusts every producer; otherwise they fail with CONVERSION_UNSUPPORTED.
    trust_pickle: bool = False


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The registry layer's flags of `lepton serve`."""
    # Shared with the data layer: whichever layer declares it first, both store under it.
    with contextlib.suppress(argparse.ArgumentError):
        group.add_argument(
            "--storage-uri",
            help="where artifact blobs (and dataset versions) live: a directory or a "
            "pyarrow.fs URI such as s3://bucket/prefix (default: under --data-dir)",
        )
    with contextlib.suppress(argparse.ArgumentError):
        group.add_argument(
            "--file-root",
            type=Path,
            action="append",
            default=[],
            help="a directory file:// imports may read (repeatable; <data-dir>/files always "
            "is one)",
        )
    group.add_argument(
        "--registry-trust-pickle",
        action="store_true",
        help="let conversion jobs load PICKLE models, which runs code from the file: only when "
        "every producer is trusted (default: such conversions fail, CONVERSION_UNSUPPORTED)",
    )
    group.add_argument(
        "--registry-max-artifact-bytes",
        type=int,
        default=DEFAULT_MAX_ARTIFACT_BYTES,
        help="the largest artifact a model version may declare",
    )
    group.add_argument(
        "--registry-no-watch",
        action="store_true",
        help="do not serve WatchModelEvents (feature registry.watch)",
    )
    group.add_argument(
        "--registry-event-retention",
        type=int,
        default=10_000,
        metavar="COUNT",
        help="events kept besides those of the last --registry-event-retention-seconds",
    )
    group.add_argument(
        "--registry-event-retention-seconds",
        type=float,
        default=24 * 3600,
        help="events younger than this are kept",
    )
    group.add_argument(
        "--registry-upload-expiry-seconds",
        type=float,
        default=24 * 3600,
        help="a pending upload fails with UPLOAD_EXPIRED this long after its last byte",
    )
    group.add_argument(
        "--registry-watch-keepalive-seconds",
        type=float,
        default=30.0,
        help="how often an idle WatchModelEvents stream gets an empty message",
    )


def configure(options: argparse.Namespace) -> RegistryConfig:
    """The registry layer's config from parsed options."""
    if options.registry_max_artifact_bytes < 1:
        raise StartupError("--registry-max-artifact-bytes must be at least 1")
    if options.registry_event_retention < 0 or options.registry_event_retention_seconds < 0:
        raise StartupError("event retention must not be negative")
    if options.registry_watch_keepalive_seconds <= 0:
        raise StartupError("--registry-watch-keepalive-seconds must be positive")
    if options.registry_upload_expiry_seconds <= 0:
        raise StartupError("--registry-upload-expiry-seconds must be positive")
    return RegistryConfig(
        storage_uri=options.storage_uri,
        max_artifact_bytes=options.registry_max_artifact_bytes,
        watch=not options.registry_no_watch,
        event_retention_count=options.registry_event_retention,
        event_retention_seconds=options.registry_event_retention_seconds,
        watch_keepalive_seconds=options.registry_watch_keepalive_seconds,
        upload_expiry_seconds=options.registry_upload_expiry_seconds,
        file_roots=tuple(options.file_root),
        trust_pickle=options.registry_trust_pickle,
    )


def build(server: ServerConfig, config: RegistryConfig) -> list[HostedService]:
    """The registry layer's service (services.build)."""
    from lepton_server.registry import services  # noqa: PLC0415  (heavy: loaded when hosted)

    return services.build(server, config)


def for_tenant(config: RegistryConfig, tenant: str) -> RegistryConfig:
    """Another tenant's artifacts are below the default's (blobs are never shared across
    tenants: each tenant's garbage collection sees only its own)."""
    return dataclasses.replace(
        config,
        storage_uri=tenant_location(config.storage_uri, tenant),
        file_roots=tenant_roots(config.file_roots, tenant),
    )


LAYER = Layer(RegistryConfig, add_arguments, configure, build, for_tenant=for_tenant)

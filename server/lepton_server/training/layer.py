"""The training layer as the host sees it: the flags it owns, its config, and how it is
built. Importing this module declares flags only; the job machinery loads when `build` runs
(services.py)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import Layer, tenant_roots
from lepton_server.runtime.startup_errors import StartupError

MIN_GRACE_SECONDS, MAX_GRACE_SECONDS = 10.0, 30.0  # spec: "Trainer runtime contract"


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of the training layer."""

    # "local" (worker processes on this machine) or "ray" (a Ray cluster at ray_address).
    executor: str = "local"
    ray_address: str | None = None
    # The CPU and memory training workers may hold together (TRN-066); None: this machine's.
    cpu: float | None = None
    memory_bytes: int | None = None
    # How long a worker asked to stop has before SIGKILL.
    stop_grace_seconds: float = MIN_GRACE_SECONDS
    # The data layer and registry training calls; None: this server's own, when it hosts
    # that layer.
    data_address: str | None = None
    registry_address: str | None = None
    # Values of `secrets/{name}` references (feature training.secrets).
    secrets: dict[str, str] = field(default_factory=dict)
    # A following log or metric stream with nothing to send sends an empty message this often.
    keepalive_seconds: float = 30.0
    # The most non-terminal jobs one creator may have (TRN-033, QUOTA_EXCEEDED); 0: no quota.
    max_jobs_per_creator: int = 0
    # Directories an entrypoint trainer's file:// working_dir_uri may name, besides
    # `<data_dir>/files`. Shared with the data layer's and the registry's --file-root.
    file_roots: tuple[Path, ...] = ()


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The training layer's flags of `lepton serve`."""
    group.add_argument(
        "--training-executor",
        choices=("local", "ray"),
        default="local",
        help="where training workers run: local processes (default) or a Ray cluster",
    )
    # Shared with the data layer's Ray processing executor.
    with contextlib.suppress(argparse.ArgumentError):
        group.add_argument("--ray-address", help="the Ray cluster (e.g. 127.0.0.1:6379)")
    with contextlib.suppress(argparse.ArgumentError):
        group.add_argument(
            "--file-root",
            type=Path,
            action="append",
            default=[],
            help="a directory file:// URIs may name (repeatable; <data-dir>/files always is one)",
        )
    group.add_argument(
        "--training-cpu", type=float, help="CPU cores training workers may hold together"
    )
    group.add_argument(
        "--training-memory-bytes", type=int, help="memory training workers may hold together"
    )
    group.add_argument(
        "--training-stop-grace-seconds",
        type=float,
        default=MIN_GRACE_SECONDS,
        help="seconds a worker asked to stop has before it is killed (10 to 30)",
    )
    group.add_argument(
        "--training-data-address",
        help="the data layer training reads (default: this server's, when it hosts one)",
    )
    group.add_argument(
        "--training-registry-address",
        help="the registry training registers into (default: this server's, when it hosts one)",
    )
    group.add_argument(
        "--training-secrets-file",
        type=Path,
        help="a JSON object of secret name to value, for secret_env references secrets/{name}",
    )
    group.add_argument(
        "--training-max-jobs-per-creator",
        type=int,
        default=0,
        help="the most unfinished jobs one principal may have (default 0: no quota)",
    )
    group.add_argument(
        "--training-keepalive-seconds",
        type=float,
        default=30.0,
        help="how often a quiet following log or metric stream gets an empty message",
    )


def configure(options: argparse.Namespace) -> TrainingConfig:
    """The training layer's config from parsed options."""
    if options.training_executor == "ray" and not options.ray_address:
        raise StartupError("--training-executor ray needs --ray-address")
    if not MIN_GRACE_SECONDS <= options.training_stop_grace_seconds <= MAX_GRACE_SECONDS:
        raise StartupError("--training-stop-grace-seconds must be between 10 and 30")
    if options.training_cpu is not None and options.training_cpu <= 0:
        raise StartupError("--training-cpu must be positive")
    if options.training_memory_bytes is not None and options.training_memory_bytes <= 0:
        raise StartupError("--training-memory-bytes must be positive")
    if options.training_max_jobs_per_creator < 0:
        raise StartupError("--training-max-jobs-per-creator must not be negative")
    if options.training_keepalive_seconds <= 0:
        raise StartupError("--training-keepalive-seconds must be positive")
    return TrainingConfig(
        executor=options.training_executor,
        ray_address=options.ray_address,
        cpu=options.training_cpu,
        memory_bytes=options.training_memory_bytes,
        stop_grace_seconds=options.training_stop_grace_seconds,
        data_address=options.training_data_address,
        registry_address=options.training_registry_address,
        secrets=_secrets(options.training_secrets_file),
        keepalive_seconds=options.training_keepalive_seconds,
        file_roots=tuple(options.file_root),
        max_jobs_per_creator=options.training_max_jobs_per_creator,
    )


def _secrets(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        secrets = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StartupError(f"--training-secrets-file: {error}") from None
    if not isinstance(secrets, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()
    ):
        raise StartupError("--training-secrets-file must hold a JSON object of strings")
    return secrets


def build(server: ServerConfig, config: TrainingConfig) -> list[HostedService]:
    """The training layer's service (services.build)."""
    from lepton_server.training import services  # noqa: PLC0415  (heavy: loaded when hosted)

    return services.build(server, config)


def for_tenant(config: TrainingConfig, tenant: str) -> TrainingConfig:
    """Another tenant's file roots are below the default's."""
    return dataclasses.replace(config, file_roots=tenant_roots(config.file_roots, tenant))


LAYER = Layer(TrainingConfig, add_arguments, configure, build, for_tenant=for_tenant)

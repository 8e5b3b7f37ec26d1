"""Where pipeline runs compute (spec/data.md §6.6): the interface Processing runs pipelines
through, the local executor (the pipeline engine in this process), and the choice the data
layer's config makes between it and the Ray executor (`ray_processing`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pyarrow as pa

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data import pipelines
from lepton_server.data.layer import DataConfig
from lepton_server.runtime import ray_connection
from lepton_server.runtime.startup_errors import StartupError


class ProcessingExecutor(Protocol):
    """Runs a pipeline on a table; every executor returns what the local one returns
    (the same rows in the same order, the same step reports: DAT-131)."""

    def run(
        self,
        pipeline: pb.Pipeline,
        table: pa.Table,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> pipelines.RunResult: ...


class LocalExecutor:
    """The pipeline engine in this process (pipelines.run)."""

    def run(
        self,
        pipeline: pb.Pipeline,
        table: pa.Table,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> pipelines.RunResult:
        return pipelines.run(pipeline, table, on_progress=on_progress, should_stop=should_stop)


def open_executor(config: DataConfig) -> ProcessingExecutor:
    """The executor `--processing-executor` names; Ray's with this process connected to its
    cluster (an unreachable one is a StartupError)."""
    if config.processing_executor == "ray":
        assert config.ray_address is not None  # layer.configure requires it
        # Connected now, on the main thread before the host installs its signal handlers
        # (which then replace those Ray's driver installs, so SIGTERM stays graceful), and
        # before Ray is imported (the connection sets Ray's environment up first).
        try:
            ray_connection.connect(config.ray_address)
        except ConnectionError as error:
            raise StartupError(f"--ray-address {config.ray_address}: {error}") from None
        # Loaded only when configured: Ray is an optional extra of the server.
        from lepton_server.data.ray_processing import RayExecutor  # noqa: PLC0415

        return RayExecutor(config.ray_address)
    return LocalExecutor()

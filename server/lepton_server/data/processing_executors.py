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
    """The executor `--processing-executor` names; Ray's connects at its first run."""
    if config.processing_executor == "ray":
        # Loaded only when configured: Ray is an optional extra of the server.
        from lepton_server.data.ray_processing import RayExecutor  # noqa: PLC0415

        assert config.ray_address is not None  # layer.configure requires it
        return RayExecutor(config.ray_address)
    return LocalExecutor()

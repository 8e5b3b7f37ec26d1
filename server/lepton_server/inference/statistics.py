"""Cumulative counters of one loaded model version (extension `statistics`, INF-060..062)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message

from lepton.inference.v1 import model_statistics_pb2 as pb


@dataclass
class Duration:
    """A count of events and their total time in nanoseconds."""

    count: int = 0
    ns: int = 0

    def add(self, ns: int, count: int = 1) -> None:
        self.count += count
        self.ns += max(ns, 0)

    def proto(self) -> pb.StatisticDuration:
        return pb.StatisticDuration(count=self.count, ns=self.ns)


@dataclass
class BatchStats:
    """Executions at one batch size."""

    compute_input: Duration = field(default_factory=Duration)
    compute_infer: Duration = field(default_factory=Duration)
    compute_output: Duration = field(default_factory=Duration)


class ModelStatistics:
    """Thread-safe counters; executions run on worker threads, requests on the event loop."""

    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = name, version
        self._lock = threading.Lock()
        self.success = Duration()
        self.fail = Duration()
        self.queue = Duration()
        self.compute_input = Duration()
        self.compute_infer = Duration()
        self.compute_output = Duration()
        self.inference_count = 0
        self.execution_count = 0
        self.last_inference_ms = 0
        self.batches: dict[int, BatchStats] = {}

    def request_done(
        self,
        ok: bool,
        total_ns: int,
        *,
        batch_size: int = 1,
        queue_ns: int = 0,
        input_ns: int = 0,
        infer_ns: int = 0,
        output_ns: int = 0,
    ) -> None:
        """One request finished. Failures count once they reached the model (INF-061); only
        successes add their batch size to inference_count and their phase times."""
        with self._lock:
            if not ok:
                self.fail.add(total_ns)
                return
            self.success.add(total_ns)
            self.queue.add(queue_ns)
            self.compute_input.add(input_ns)
            self.compute_infer.add(infer_ns)
            self.compute_output.add(output_ns)
            self.inference_count += batch_size
            self.last_inference_ms = time.time_ns() // 1_000_000

    def execution_done(self, batch_size: int, input_ns: int, infer_ns: int, output_ns: int) -> None:
        """One model execution of `batch_size` rows, possibly serving several requests."""
        with self._lock:
            self.execution_count += 1
            stats = self.batches.setdefault(batch_size, BatchStats())
            stats.compute_input.add(input_ns)
            stats.compute_infer.add(infer_ns)
            stats.compute_output.add(output_ns)

    def proto(self) -> pb.ModelStatistics:
        with self._lock:
            return pb.ModelStatistics(
                name=self.name,
                version=self.version,
                last_inference=self.last_inference_ms,
                inference_count=self.inference_count,
                execution_count=self.execution_count,
                inference_stats=pb.InferStatistics(
                    success=self.success.proto(),
                    fail=self.fail.proto(),
                    queue=self.queue.proto(),
                    compute_input=self.compute_input.proto(),
                    compute_infer=self.compute_infer.proto(),
                    compute_output=self.compute_output.proto(),
                ),
                batch_stats=[
                    pb.InferBatchStatistics(
                        batch_size=size,
                        compute_input=s.compute_input.proto(),
                        compute_infer=s.compute_infer.proto(),
                        compute_output=s.compute_output.proto(),
                    )
                    for size, s in sorted(self.batches.items())
                ],
            )


def _add_durations(total: Message, part: Message) -> None:
    """Add every StatisticDuration field of `part` into `total` (messages of one type)."""
    for descriptor in part.DESCRIPTOR.fields:
        # Only those `part` sets: a duration no process reports stays absent.
        if descriptor.message_type is pb.StatisticDuration.DESCRIPTOR and part.HasField(
            descriptor.name
        ):
            into, add = getattr(total, descriptor.name), getattr(part, descriptor.name)
            into.count += add.count
            into.ns += add.ns


def merged(parts: Sequence[pb.ModelStatistics]) -> pb.ModelStatistics:
    """The statistics of one model version served by several processes (`lepton serve
    --workers`), as one server's: counts and times added, the latest inference kept."""
    total = pb.ModelStatistics(name=parts[0].name, version=parts[0].version)
    batches: dict[int, pb.InferBatchStatistics] = {}
    for part in parts:
        total.last_inference = max(total.last_inference, part.last_inference)
        total.inference_count += part.inference_count
        total.execution_count += part.execution_count
        _add_durations(total.inference_stats, part.inference_stats)
        for batch in part.batch_stats:
            into = batches.setdefault(
                batch.batch_size, pb.InferBatchStatistics(batch_size=batch.batch_size)
            )
            _add_durations(into, batch)
        for key, response in part.response_stats.items():
            _add_durations(total.response_stats[key], response)
        total.memory_usage.extend(part.memory_usage)
    total.batch_stats.extend(batches[size] for size in sorted(batches))
    return total

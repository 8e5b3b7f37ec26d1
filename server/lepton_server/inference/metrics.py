"""Per-model metrics under Triton's names (spec/inference.md INF-075), so the dashboards and
alerts written for Triton read this server unchanged. They are read at each scrape from the
statistics the server keeps anyway (statistics.py), so a metric and ModelStatistics never
disagree, and with several processes they cover every process, as ModelStatistics does.

The families are exposed untyped: Triton declares them counters without the `_total` suffix,
which the Prometheus client library does not write; the names are what queries use."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from lepton.inference.v1 import inference_service_pb2 as pb

# name -> (help, the value of one model version's statistics)
_FAMILIES = {
    "nv_inference_request_success": (
        "Number of successful inference requests, all batch sizes",
        lambda s: s.inference_stats.success.count,
    ),
    "nv_inference_request_failure": (
        "Number of failed inference requests, all batch sizes",
        lambda s: s.inference_stats.fail.count,
    ),
    "nv_inference_count": (
        "Number of inferences performed (a batch of n counts n)",
        lambda s: s.inference_count,
    ),
    "nv_inference_exec_count": (
        "Number of model executions performed",
        lambda s: s.execution_count,
    ),
    "nv_inference_request_duration_us": (
        "Cumulative duration of successful inference requests in microseconds",
        lambda s: s.inference_stats.success.ns // 1000,
    ),
    "nv_inference_queue_duration_us": (
        "Cumulative time requests waited in the queue in microseconds",
        lambda s: s.inference_stats.queue.ns // 1000,
    ),
    "nv_inference_compute_input_duration_us": (
        "Cumulative time spent preparing inputs in microseconds",
        lambda s: s.inference_stats.compute_input.ns // 1000,
    ),
    "nv_inference_compute_infer_duration_us": (
        "Cumulative time spent running the model in microseconds",
        lambda s: s.inference_stats.compute_infer.ns // 1000,
    ),
    "nv_inference_compute_output_duration_us": (
        "Cumulative time spent preparing outputs in microseconds",
        lambda s: s.inference_stats.compute_output.ns // 1000,
    ),
}


def model_metrics(statistics: pb.ModelStatisticsResponse) -> Iterator[Metric]:
    """Triton's per-model families, one sample per loaded model version."""
    for name, (documentation, value) in _FAMILIES.items():
        family = Metric(name, documentation, "unknown")
        for stats in statistics.model_stats:
            labels = {"model": stats.name, "version": stats.version}
            family.add_sample(name, labels, value(stats))
        yield family

"""The statistics of one model version served by several processes, added up as one server's
(`lepton serve --workers`, INF-063)."""

from __future__ import annotations

from lepton.inference.v1 import model_statistics_pb2 as pb
from lepton_server.inference.statistics import ModelStatistics, merged


def _process(requests: list[int], last_ms: int) -> pb.ModelStatistics:
    """One process's counters after successful requests of the given batch sizes."""
    stats = ModelStatistics("m", "1")
    for rows in requests:
        stats.request_done(True, 1_000, batch_size=rows, queue_ns=10, infer_ns=100)
        stats.execution_done(rows, 0, 100, 0)
    stats.request_done(False, 50)
    proto = stats.proto()
    proto.last_inference = last_ms
    return proto


def test_counts_and_times_add_and_the_latest_inference_wins():
    total = merged([_process([1, 2], 5_000), _process([2], 7_000)])
    assert (total.name, total.version) == ("m", "1")
    assert total.inference_count == 5
    assert total.execution_count == 3
    assert total.last_inference == 7_000
    success, fail = total.inference_stats.success, total.inference_stats.fail
    assert (success.count, success.ns) == (3, 3_000)
    assert (fail.count, fail.ns) == (2, 100)
    assert total.inference_stats.queue.ns == 30
    assert total.inference_stats.compute_infer.count == 3


def test_batch_statistics_add_by_batch_size_in_order():
    total = merged([_process([2, 1], 1), _process([2, 4], 1)])
    sizes = [(b.batch_size, b.compute_infer.count, b.compute_infer.ns) for b in total.batch_stats]
    assert sizes == [(1, 1, 100), (2, 2, 200), (4, 1, 100)]


def test_one_process_is_its_own_total():
    alone = _process([3], 9)
    assert merged([alone]) == alone

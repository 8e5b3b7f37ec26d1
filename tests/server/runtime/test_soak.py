"""Two minutes of the soak (tests/support/soak.py; `make soak` holds it for an hour): mixed load
of inference at concurrency 64, dataset writes and reads, and import jobs on one server, with
no error, every kind of work done, and the server alive at the end. Its latency and memory
figures are reported, not asserted (the machines are shared); a gross leak still fails, and the
CPU figures must come from real samples."""

from __future__ import annotations

import pytest
from support.soak import soak_server

SECONDS = 120.0


@pytest.mark.slow
@pytest.mark.timeout(SECONDS + 180)
def test_two_minutes_of_mixed_load_end_without_an_error(tmp_path):
    result = soak_server(SECONDS, tmp_path)
    assert result["server_alive"]
    assert result["errors"] == {}, result["first_errors"]
    done = result["completed"]
    assert done.get("infer", 0) > 1_000
    assert min(done.get(kind, 0) for kind in ("write", "read", "import")) > 5, done
    # Every window of the run saw inferences complete: the load never stalled.
    assert len(result["p99_seconds_per_window"]["infer"]) >= SECONDS // 10
    # A leak of a few KiB per call would add hundreds of MiB over the run.
    assert result["rss_growth_after_warmup"] < 0.5, result["rss_bytes"]
    # The CPU figures come from real samples: the server was busy serving, and each window's
    # calls are counted.
    for part in ("first", "last"):
        assert result["cores_after_warmup"][part][0] > 0.05, result["cpu_seconds"]
        assert result["machine_ms_after_warmup"][part] > 0
    per_window = result["completed_per_window"]
    assert sum(per_window["infer"]) == done["infer"]

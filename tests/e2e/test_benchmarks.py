"""The benchmark's moving parts work, so `make bench` does not rot between runs (the timing
itself is never asserted: shared machines are too noisy)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lepton.inference.v1 import inference_service_pb2 as pb

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import inference as bench


def _benchmark(script: str, *args: str, timeout: float = 300) -> str:
    """Run benchmarks/`script` with `args`; its output, once it has exited 0."""
    completed = subprocess.run(
        [sys.executable, str(bench.ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=bench.ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def test_echo_server_returns_the_reference_servers_response(tmp_path):
    bench.build_repository(tmp_path / "models")
    serve = bench.lepton_serve(tmp_path / "data", "--model-repository", str(tmp_path / "models"))
    with bench.process(serve) as ours:
        response = bench.response_bytes(ours.address, bench.small_request())
        assert ours.cpu_seconds() is None or ours.cpu_seconds() > 0
    decoded = pb.ModelInferResponse.FromString(response)
    assert [o.name for o in decoded.outputs] == ["OUTPUT0", "OUTPUT1"]
    (tmp_path / "small.response").write_bytes(response)
    echo = [
        sys.executable,
        str(bench.ROOT / "benchmarks" / "echo_server.py"),
        str(tmp_path / "small.response"),
    ]
    with bench.process(echo) as baseline:
        assert bench.response_bytes(baseline.address, bench.small_request()) == response


def test_protoset_describes_the_inference_service(tmp_path):
    from google.protobuf import descriptor_pb2  # noqa: PLC0415

    files = descriptor_pb2.FileDescriptorSet.FromString(bench.protoset(tmp_path).read_bytes())
    services = {f"{f.package}.{s.name}" for f in files.file for s in f.service}
    assert "lepton.inference.v1.InferenceService" in services


@pytest.mark.skipif(
    not (bench.ROOT / ".venv-interop" / "triton" / ".installed").exists(),
    reason="no .venv-interop/triton: `make test` installs it",
)
def test_inference_benchmark_reports_ratios_against_triton():
    """benchmarks/inference.py end to end, briefly: Triton serves the same models under the
    same tritonclient load, and every row has a ratio against echo and Triton."""
    output = _benchmark(
        "inference.py",
        *("--loads", "tritonclient", "--baselines", "triton", "--concurrency", "4"),
        *("--duration", "0.5", "--rounds", "1", "--large-requests", "2"),
    )
    rows = re.findall(
        r"^(small FP32, concurrency 4|16 MiB FP32 tensor), tritonclient .* ([0-9.]+)x +([0-9.]+)x$",
        output,
        re.M,
    )
    assert [name for name, _, _ in rows] == ["small FP32, concurrency 4", "16 MiB FP32 tensor"], (
        output
    )
    assert all(float(echo) > 0 and float(triton) > 0 for _, echo, triton in rows)
    assert re.search(r"^idle, models loaded +\d+ +\d+ +\d+$", output, re.M)


def test_large_request_is_sixteen_mebibytes():
    request = bench.large_request()
    assert len(request.raw_input_contents[0]) == 16 * 1024 * 1024


def test_data_benchmark_runs_and_reports_its_ratios():
    """benchmarks/data.py end to end on a small table: every server, every comparison."""
    output = _benchmark("data.py", "--rows", "20000")
    ratios = re.findall(r"^(write floor|write|read|CSV import) .* ratio +([0-9.]+)x$", output, re.M)
    assert [name for name, _ in ratios] == ["write", "read", "CSV import", "write floor"], output
    assert all(float(ratio) > 0 for _, ratio in ratios)
    memory = (
        r"^server RSS \(MiB, 1st round\) +lepton idle \d+, writing \d+, reading \d+ +"
        r"flight idle \d+"
    )
    assert re.search(memory, output, re.M), output


def test_training_benchmark_runs_and_reports_its_ratios():
    """benchmarks/training.py end to end on a small table, one round."""
    output = _benchmark("training.py", "--rows", "2000", "--rounds", "1")
    ratio = re.search(r"^job, create to READY version .* = ([0-9.]+)x direct", output, re.M)
    assert ratio and float(ratio[1]) > 0, output
    assert re.search(r"^cancel to CANCELLED: [0-9.]+ s", output, re.M), output


def test_edge_benchmark_runs_its_scenarios_at_small_scale():
    output = _benchmark(
        "edge.py",
        *("--devices", "12", "--workers", "2", "--events", "5"),
        *("--day-minutes", "30", "--timeout", "90"),
        timeout=240,
    )
    assert "staged rollout 1/10/50/100% to 12 devices" in output
    assert "ROLLOUT_STATE_SUCCEEDED" in output
    assert "0 lost, 0 duplicated, 0 devices not on the new release" in output

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


def test_echo_server_returns_the_reference_servers_response(tmp_path):
    bench.build_repository(tmp_path / "models")
    serve = [
        sys.executable,
        "-m",
        "lepton_server.cli",
        "serve",
        "--address",
        "127.0.0.1:0",
        "--data-dir",
        str(tmp_path / "data"),
        "--model-repository",
        str(tmp_path / "models"),
    ]
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
    completed = subprocess.run(
        [
            sys.executable,
            str(bench.ROOT / "benchmarks" / "inference.py"),
            *("--loads", "tritonclient", "--baselines", "triton", "--concurrency", "4"),
            *("--duration", "0.5", "--rounds", "1", "--large-requests", "2"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=bench.ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = re.findall(
        r"^(small FP32, concurrency 4|16 MiB FP32 tensor), tritonclient .* ([0-9.]+)x +([0-9.]+)x$",
        completed.stdout,
        re.M,
    )
    assert [name for name, _, _ in rows] == ["small FP32, concurrency 4", "16 MiB FP32 tensor"], (
        completed.stdout
    )
    assert all(float(echo) > 0 and float(triton) > 0 for _, echo, triton in rows)
    assert re.search(r"^idle, models loaded +\d+ +\d+ +\d+$", completed.stdout, re.M)


def test_large_request_is_sixteen_mebibytes():
    request = bench.large_request()
    assert len(request.raw_input_contents[0]) == 16 * 1024 * 1024


def test_data_benchmark_runs_and_reports_its_ratios():
    """benchmarks/data.py end to end on a small table: every server, every comparison."""
    completed = subprocess.run(
        [sys.executable, str(bench.ROOT / "benchmarks" / "data.py"), "--rows", "20000"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=bench.ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ratios = re.findall(
        r"^(write floor|write|read|CSV import) .* ratio +([0-9.]+)x$", completed.stdout, re.M
    )
    assert [name for name, _ in ratios] == ["write", "read", "CSV import", "write floor"], (
        completed.stdout
    )
    assert all(float(ratio) > 0 for _, ratio in ratios)
    memory = r"^server RSS \(MiB\) +lepton idle \d+, writing \d+, reading \d+ +flight idle \d+"
    assert re.search(memory, completed.stdout, re.M), completed.stdout


def test_training_benchmark_runs_and_reports_its_ratios():
    """benchmarks/training.py end to end on a small table, one round."""
    completed = subprocess.run(
        [
            sys.executable,
            str(bench.ROOT / "benchmarks" / "training.py"),
            "--rows",
            "2000",
            "--rounds",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=bench.ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ratio = re.search(
        r"^job, create to READY version .* = ([0-9.]+)x direct", completed.stdout, re.M
    )
    assert ratio and float(ratio[1]) > 0, completed.stdout
    assert re.search(r"^cancel to CANCELLED: [0-9.]+ s", completed.stdout, re.M), completed.stdout


def test_edge_benchmark_runs_its_scenarios_at_small_scale():
    completed = subprocess.run(
        [
            sys.executable,
            str(bench.ROOT / "benchmarks" / "edge.py"),
            "--devices",
            "12",
            "--workers",
            "2",
            "--events",
            "5",
            "--day-minutes",
            "30",
            "--timeout",
            "90",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "staged rollout 1/10/50/100% to 12 devices" in completed.stdout
    assert "ROLLOUT_STATE_SUCCEEDED" in completed.stdout
    assert "0 lost, 0 duplicated, 0 devices not on the new release" in completed.stdout

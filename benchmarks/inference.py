"""Side-by-side inference benchmark: the reference server against a bare grpc.aio echo server
that returns a same-sized payload, both driven by the same ghz load in one process tree.

    make bench            # or: python benchmarks/inference.py --ghz .tools/bin/ghz

Measures ModelInfer requests/s at concurrency 1, 16 and 64 on a small FP32 model (add/sub of
two [1, 16] tensors, dynamic batching on) and MiB/s for a 16 MiB FP32 tensor through raw
contents. Each figure is the median of several rounds that alternate between the two servers,
so a change in machine load hits both; the result is the ratio, not the timing. Where /proc
exists it also reports the server CPU time per request, which shared machines disturb less.
Goals (issue 4): at least 0.6x the echo rate for small requests at concurrency 64 and 0.7x its
MiB/s for large tensors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import grpc
import numpy as np
from grpc_tools import protoc
from onnx import TensorProto

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.suites.inference.model_set import add_sub, identity

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "lepton.inference.v1.InferenceService"
LISTENING = re.compile(r"listening on (\S+)")
LARGE_ELEMENTS = 4 * 1024 * 1024  # 16 MiB of FP32
LARGE_MIB = LARGE_ELEMENTS * 4 / (1024 * 1024)
MESSAGE_LIMIT = 128 * 1024 * 1024

Load = Callable[[str], tuple[float, int]]  # address -> (rate, requests completed)


@dataclass
class Server:
    """A running server process: its pid and the address it announced."""

    pid: int
    address: str

    def cpu_seconds(self) -> float | None:
        """User plus system CPU time the process has used, where /proc tells."""
        stat = Path(f"/proc/{self.pid}/stat")
        if not stat.exists():
            return None
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    """One load run: its rate and the server CPU it cost per request."""

    rate: float
    cpu_us_per_request: float | None


@dataclass(frozen=True)
class Result:
    """Medians of the rounds on each server."""

    name: str
    unit: str
    ours: list[Sample]
    echo: list[Sample]

    @staticmethod
    def _median(samples: list[Sample], field: str) -> float | None:
        values = [getattr(s, field) for s in samples if getattr(s, field) is not None]
        return statistics.median(values) if values else None

    def row(self) -> str:
        ours, echo = self._median(self.ours, "rate"), self._median(self.echo, "rate")
        line = (
            f"{self.name:<40} {ours:>8.0f} {self.unit:<5} {echo:>8.0f} {self.unit:<5}"
            f" {ours / echo:>5.2f}x"
        )
        ours_cpu = self._median(self.ours, "cpu_us_per_request")
        echo_cpu = self._median(self.echo, "cpu_us_per_request")
        if ours_cpu and echo_cpu:
            line += f"   CPU/request {ours_cpu:>7.0f} us vs {echo_cpu:>7.0f} us"
        return line


def build_repository(root: Path) -> None:
    """A small batched FP32 model and a large-tensor identity model."""
    small = root / "bench_add_sub" / "1"
    small.mkdir(parents=True)
    model = add_sub(TensorProto.FLOAT, "bench_add_sub")
    (small / "model.onnx").write_bytes(model.SerializeToString())
    config = {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": 0}}
    (root / "bench_add_sub" / "config.json").write_text(json.dumps(config))
    large = root / "bench_identity" / "1"
    large.mkdir(parents=True)
    model = identity(TensorProto.FLOAT, "bench_identity")
    (large / "model.onnx").write_bytes(model.SerializeToString())


def small_request() -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="bench_add_sub")
    for name in ("INPUT0", "INPUT1"):
        request.inputs.add(name=name, datatype="FP32", shape=[1, 16])
        request.raw_input_contents.append(np.arange(16, dtype=np.float32).tobytes())
    return request


def large_request() -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="bench_identity")
    request.inputs.add(name="INPUT0", datatype="FP32", shape=[1, LARGE_ELEMENTS])
    request.raw_input_contents.append(np.ones(LARGE_ELEMENTS, dtype=np.float32).tobytes())
    return request


@contextmanager
def process(command: list[str]) -> Iterator[Server]:
    """Start a server process; yield it once it announces its address."""
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in child.stdout:
            match = LISTENING.search(line)
            if match:
                yield Server(child.pid, match.group(1))
                break
        else:
            raise RuntimeError(f"{command[0]} exited before listening")
    finally:
        child.terminate()
        child.wait(timeout=30)


def protoset(directory: Path) -> Path:
    out = directory / "inference.protoset"
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{ROOT / 'proto'}",
        f"-I{well_known}",
        "--include_imports",
        f"--descriptor_set_out={out}",
        "lepton/inference/v1/inference_service.proto",
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed")
    return out


def ghz_load(
    binary: str,
    descriptors: Path,
    data: Path,
    concurrency: int,
    *,
    duration: str | None = None,
    total: int | None = None,
) -> Load:
    """A load of ModelInfer calls with `data` as the request, run by ghz."""

    def run(address: str) -> tuple[float, int]:
        command = [
            binary,
            "--insecure",
            "--protoset",
            str(descriptors),
            "--call",
            f"{SERVICE}.ModelInfer",
            "--binary-file",
            str(data),
            "-c",
            str(concurrency),
            "--connections",
            str(min(concurrency, 4)),
            "--cpus",
            "1",
            "-O",
            "json",
            f"--max-send-message-size={MESSAGE_LIMIT}",
            f"--max-recv-message-size={MESSAGE_LIMIT}",
        ]
        # Calls still in flight when the duration ends are not errors of the server.
        command += ["-z", duration, "--duration-stop=ignore"] if duration else ["-n", str(total)]
        report = json.loads(
            subprocess.run([*command, address], capture_output=True, text=True, check=True).stdout
        )
        errors = {k: v for k, v in report.get("statusCodeDistribution", {}).items() if k != "OK"}
        if errors:
            raise RuntimeError(f"ghz saw errors: {errors}")
        return float(report["rps"]), int(report["count"])

    return run


def measure(server: Server, load: Load) -> Sample:
    """Run `load` against `server`; its rate and the server's CPU time per request."""
    before = server.cpu_seconds()
    rate, requests = load(server.address)
    after = server.cpu_seconds()
    cpu = (after - before) * 1e6 / requests if before is not None and requests else None
    return Sample(rate, cpu)


def alternate(
    name: str,
    unit: str,
    *,
    ours: Server,
    echo: Server,
    load: Load,
    rounds: int,
    scale: float = 1.0,
) -> Result:
    """`rounds` runs on each server, alternating, so drifts in machine load hit both alike."""
    mine, theirs = [], []
    for _ in range(rounds):
        for server, samples in ((echo, theirs), (ours, mine)):
            sample = measure(server, load)
            samples.append(Sample(sample.rate * scale, sample.cpu_us_per_request))
    return Result(name, unit, mine, theirs)


def response_bytes(address: str, request: pb.ModelInferRequest) -> bytes:
    options = [
        ("grpc.max_send_message_length", MESSAGE_LIMIT),
        ("grpc.max_receive_message_length", MESSAGE_LIMIT),
    ]
    with grpc.insecure_channel(address, options=options) as channel:
        call = channel.unary_unary(
            f"/{SERVICE}/ModelInfer", request_serializer=pb.ModelInferRequest.SerializeToString
        )
        return call(request, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ghz", default=str(ROOT / ".tools" / "bin" / "ghz"))
    parser.add_argument("--duration", default="5s", help="per small-request round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large-requests", type=int, default=40, help="per large-tensor round")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    options = parser.parse_args()
    if not Path(options.ghz).exists():
        parser.error(f"{options.ghz} not found: `make bench` installs ghz")

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="lepton-bench-") as tmp:
        work = Path(tmp)
        build_repository(work / "models")
        descriptors = protoset(work)
        serve = [
            sys.executable,
            "-m",
            "lepton_server.cli",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--data-dir",
            str(work / "data"),
            "--model-repository",
            str(work / "models"),
            "--max-message-bytes",
            str(MESSAGE_LIMIT),
        ]
        echo = [sys.executable, str(ROOT / "benchmarks" / "echo_server.py")]
        with process(serve) as ours:
            for name, request in (("small", small_request()), ("large", large_request())):
                (work / f"{name}.bin").write_bytes(request.SerializeToString())
                (work / f"{name}.response").write_bytes(response_bytes(ours.address, request))
            with process([*echo, str(work / "small.response")]) as baseline:
                for c in options.concurrency:
                    load = ghz_load(
                        options.ghz, descriptors, work / "small.bin", c, duration=options.duration
                    )
                    name = f"small FP32 ModelInfer, concurrency {c}"
                    results.append(
                        alternate(
                            name,
                            "req/s",
                            ours=ours,
                            echo=baseline,
                            load=load,
                            rounds=options.rounds,
                        )
                    )
            with process([*echo, str(work / "large.response")]) as baseline:
                load = ghz_load(
                    options.ghz, descriptors, work / "large.bin", 2, total=options.large_requests
                )
                name = "16 MiB FP32 tensor, raw contents"
                results.append(
                    alternate(
                        name,
                        "MiB/s",
                        ours=ours,
                        echo=baseline,
                        load=load,
                        rounds=options.rounds,
                        scale=LARGE_MIB,
                    )
                )

    print(f"{'measurement':<40} {'lepton':>14} {'echo':>14} {'ratio':>6}")
    for result in results:
        print(result.row())
    print(f"(medians of {options.rounds} alternating rounds; {os.cpu_count()} CPUs; load: ghz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

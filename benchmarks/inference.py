"""Side-by-side inference benchmark: the reference server against Triton 2.51 (nvidia-pytriton,
its Python backend running the model in onnxruntime), MLServer 1.7.1 and a bare grpc.aio echo
server that returns a same-sized payload, all driven by the same loads in one process tree.

    make bench            # or: python benchmarks/inference.py --ghz .tools/bin/ghz

Measures ModelInfer requests/s at concurrency 1, 16 and 64 on a small FP32 model (add/sub of
two [1, 16] tensors, dynamic batching on) and MiB/s for a 16 MiB FP32 tensor through raw
contents. Two loads drive every server through the Open Inference Protocol's
`inference.GRPCInferenceService`: ghz and Triton's own asyncio client
(benchmarks/tritonclient_load.py). Each figure is the median of several rounds that alternate
between the servers, so a change in machine load hits all alike; the result is the ratio, not
the timing. Where /proc exists it also reports each server's CPU time per request and its
resident memory (whole process tree) at idle and at its peak under the concurrency-64 load.
Goals (issue 14): at least 0.8x Triton at concurrency 16 and 64, 2x MLServer at 64, and 0.9x
the echo server's MiB/s for 16 MiB tensors. Triton and MLServer come from .venv-interop
(`make interop-install`); without them those columns are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import grpc
import numpy as np
from grpc_tools import protoc
from onnx import TensorProto
from server_process import PeakMemory, Server, lepton_serve, process

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.suites.inference.model_set import add_sub, identity

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from interop import servers as third_party  # noqa: E402  (the repository root, just added)

SERVICE = "inference.GRPCInferenceService"
LARGE_ELEMENTS = 4 * 1024 * 1024  # 16 MiB of FP32
LARGE_MIB = LARGE_ELEMENTS * 4 / (1024 * 1024)
MESSAGE_LIMIT = 128 * 1024 * 1024
THIRD_PARTY = ("triton", "mlserver")
MIB = 1024 * 1024
NAME_WIDTH = 52  # of the measurement column

Load = Callable[[str], tuple[float, int]]  # address -> (rate, requests completed)


@dataclass(frozen=True)
class Sample:
    """One load run: its rate, the server CPU it cost per request, its peak memory."""

    rate: float
    cpu_us_per_request: float | None
    peak_rss: int | None = None


@dataclass
class Result:
    """The rounds of one measurement on every server, by server name."""

    name: str
    unit: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def median(self, server: str, attribute: str = "rate") -> float | None:
        values = [getattr(s, attribute) for s in self.samples.get(server, [])]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def ratio(self, baseline: str) -> float | None:
        ours, theirs = self.median("lepton"), self.median(baseline)
        return ours / theirs if ours and theirs else None


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


OIP_PROTO = """syntax = "proto3";
package inference;
import "lepton/inference/v1/inference_service.proto";
// The OIP service name Triton and MLServer serve, over the same (wire-identical) messages.
service GRPCInferenceService {
  rpc ModelInfer(lepton.inference.v1.ModelInferRequest)
      returns (lepton.inference.v1.ModelInferResponse);
}
"""


def protoset(directory: Path) -> Path:
    """A descriptor set with `inference.GRPCInferenceService`, for ghz."""
    out = directory / "inference.protoset"
    (directory / "oip.proto").write_text(OIP_PROTO)
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{ROOT / 'proto'}",
        f"-I{well_known}",
        f"-I{directory}",
        "--include_imports",
        f"--descriptor_set_out={out}",
        "oip.proto",
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


def tritonclient_load(
    kind: str, concurrency: int, *, duration: float | None = None, total: int | None = None
) -> Load:
    """The same load from Triton's asyncio client, in its own process."""

    def run(address: str) -> tuple[float, int]:
        command = [
            sys.executable,
            str(ROOT / "benchmarks" / "tritonclient_load.py"),
            address,
            kind,
            "--concurrency",
            str(concurrency),
        ]
        command += ["--duration", str(duration)] if duration else ["--requests", str(total)]
        report = json.loads(
            subprocess.run(command, capture_output=True, text=True, check=True).stdout
        )
        return float(report["rps"]), int(report["count"])

    return run


def measure(server: Server, load: Load, *, watch_memory: bool = False) -> Sample:
    """Run `load` against `server`: its rate, the server's CPU per request, its peak RSS."""
    before = server.cpu_seconds()
    with PeakMemory(server) if watch_memory else ExitStack() as memory:
        try:
            rate, requests = load(server.address)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            raise RuntimeError(f"{server.name}: {error}") from error
    after = server.cpu_seconds()
    cpu = (after - before) * 1e6 / requests if before is not None and requests else None
    return Sample(rate, cpu, memory.peak if watch_memory else None)


def alternate(
    result: Result, servers: list[Server], load: Load, rounds: int, *, scale: float = 1.0
) -> Result:
    """`rounds` runs on each server, alternating, so drifts in machine load hit all alike."""
    watch_memory = "concurrency 64" in result.name
    for _ in range(rounds):
        for server in servers:
            sample = measure(server, load, watch_memory=watch_memory)
            result.samples.setdefault(server.name, []).append(
                Sample(sample.rate * scale, sample.cpu_us_per_request, sample.peak_rss)
            )
    return result


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


def serve_command(work: Path, workers: int, data_plane: str) -> list[str]:
    return lepton_serve(
        work / "data",
        *("--model-repository", str(work / "models")),
        *("--max-message-bytes", str(MESSAGE_LIMIT), "--workers", str(workers)),
        *("--data-plane", data_plane),
    )


@contextmanager
def third_party_server(name: str, work: Path) -> Iterator[Server | None]:
    """Triton or MLServer from its .venv-interop virtualenv serving the benchmark models, or
    None when that virtualenv is not installed."""
    venv = ROOT / ".venv-interop" / name
    if not (venv / ".installed").exists():
        print(f"({name} left out: {venv} is not installed; `make interop-install`)")
        yield None
        return
    with third_party.running(name, venv, work / name, model_set=work / "models") as running:
        yield Server(name, running.process.pid, running.address)


def report(results: list[Result], names: list[str], idle: dict[str, int | None]) -> str:
    """The table of rates and ratios, then CPU per request and memory."""
    baselines = [n for n in names if n != "lepton"]
    lines = [
        f"{'measurement':<{NAME_WIDTH}}"
        + "".join(f"{n:>10}" for n in names)
        + "".join(f"{'vs ' + n:>12}" for n in baselines)
    ]
    for result in results:
        rates = "".join(f"{(result.median(n) or float('nan')):>10.0f}" for n in names)
        ratios = "".join(f"{(result.ratio(n) or float('nan')):>11.2f}x" for n in baselines)
        lines.append(f"{result.name + ' (' + result.unit + ')':<{NAME_WIDTH}}{rates}{ratios}")
    lines.append("\nserver CPU per request (us, whole process tree)")
    for result in results:
        cpu = "".join(
            f"{(result.median(n, 'cpu_us_per_request') or float('nan')):>10.0f}" for n in names
        )
        lines.append(f"{result.name:<{NAME_WIDTH}}{cpu}")
    lines.append("\nresident memory (MiB, whole process tree)")
    lines.append(
        f"{'idle, models loaded':<{NAME_WIDTH}}" + "".join(_mib(idle.get(n)) for n in names)
    )
    for result in results:
        if "concurrency 64" in result.name:
            peaks = "".join(_mib(result.median(n, "peak_rss")) for n in names)
            lines.append(f"{'peak, ' + result.name:<{NAME_WIDTH}}{peaks}")
    return "\n".join(lines)


def _mib(value: float | None) -> str:
    return f"{value / MIB:>10.0f}" if value else f"{'-':>10}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ghz", default=str(ROOT / ".tools" / "bin" / "ghz"))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per small round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large-requests", type=int, default=40, help="per large-tensor round")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--loads", nargs="+", choices=("ghz", "tritonclient"), default=["ghz", "tritonclient"]
    )
    parser.add_argument("--baselines", nargs="*", choices=THIRD_PARTY, default=list(THIRD_PARTY))
    parser.add_argument("--workers", type=int, default=1, help="`lepton serve --workers`")
    parser.add_argument(
        "--data-plane", choices=("compiled", "python"), default="compiled", help="`lepton serve`"
    )
    options = parser.parse_args()
    if "ghz" in options.loads and not Path(options.ghz).exists():
        parser.error(f"{options.ghz} not found: `make bench` installs ghz")

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="lepton-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        build_repository(work / "models")
        descriptors = protoset(work)
        command = serve_command(work, options.workers, options.data_plane)
        ours = stack.enter_context(process(command, "lepton"))
        for name, request in (("small", small_request()), ("large", large_request())):
            (work / f"{name}.bin").write_bytes(request.SerializeToString())
            (work / f"{name}.response").write_bytes(response_bytes(ours.address, request))
        echo = [sys.executable, str(ROOT / "benchmarks" / "echo_server.py")]
        echo_small = stack.enter_context(process([*echo, str(work / "small.response")], "echo"))
        echo_large = stack.enter_context(process([*echo, str(work / "large.response")], "echo"))
        others = [stack.enter_context(third_party_server(n, work)) for n in options.baselines]
        others = [server for server in others if server is not None]
        idle = {s.name: s.rss_bytes() for s in [ours, echo_small, *others]}
        for load_name in options.loads:
            for c in options.concurrency:
                if load_name == "ghz":
                    small = work / "small.bin"
                    load = ghz_load(
                        options.ghz, descriptors, small, c, duration=f"{options.duration}s"
                    )
                else:
                    load = tritonclient_load("small", c, duration=options.duration)
                result = Result(f"small FP32, concurrency {c}, {load_name}", "req/s")
                results.append(alternate(result, [ours, echo_small, *others], load, options.rounds))
            if load_name == "ghz":
                load = ghz_load(
                    options.ghz, descriptors, work / "large.bin", 2, total=options.large_requests
                )
            else:
                load = tritonclient_load("large", 2, total=options.large_requests)
            result = Result(f"16 MiB FP32 tensor, {load_name}", "MiB/s")
            results.append(
                alternate(
                    result, [ours, echo_large, *others], load, options.rounds, scale=LARGE_MIB
                )
            )
        names = ["lepton", "echo", *(s.name for s in others)]
    print(report(results, names, idle))
    print(
        f"(medians of {options.rounds} alternating rounds; {os.cpu_count()} CPUs;"
        f" lepton with {options.workers} worker process(es), {options.data_plane} data plane)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real third-party Open Inference Protocol servers on loopback, for `make interop`.

    python interop/servers.py run {triton,mlserver} --venv DIR --report-dir DIR [RUN ARGS...]

builds the conformance model set (`lepton-conformance models`), wraps it for the server (a
Triton Python-backend model or an MLServer custom runtime per model version, both running the
ONNX file in onnxruntime), starts the server from its own virtualenv with gRPC on a free
127.0.0.1 port, waits until it is ready, runs `lepton-conformance run` against it, and stops it.
Only loopback addresses are ever bound. The same functions serve tests/interop/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import onnx

from lepton.inference.v1 import inference_service_pb2 as pb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LOOPBACK = "127.0.0.1"
OIP_SERVICE = "inference.GRPCInferenceService"
READY_TIMEOUT_S = 180.0
# Room for the benchmark's 16 MiB tensors (MLServer's default is 100 MB, Triton's unlimited).
MAX_MESSAGE_BYTES = 128 * 1024 * 1024

# ONNX element type -> (OIP datatype, Triton config data_type).
DATATYPES = {
    onnx.TensorProto.BOOL: ("BOOL", "TYPE_BOOL"),
    onnx.TensorProto.UINT8: ("UINT8", "TYPE_UINT8"),
    onnx.TensorProto.UINT16: ("UINT16", "TYPE_UINT16"),
    onnx.TensorProto.UINT32: ("UINT32", "TYPE_UINT32"),
    onnx.TensorProto.UINT64: ("UINT64", "TYPE_UINT64"),
    onnx.TensorProto.INT8: ("INT8", "TYPE_INT8"),
    onnx.TensorProto.INT16: ("INT16", "TYPE_INT16"),
    onnx.TensorProto.INT32: ("INT32", "TYPE_INT32"),
    onnx.TensorProto.INT64: ("INT64", "TYPE_INT64"),
    onnx.TensorProto.FLOAT16: ("FP16", "TYPE_FP16"),
    onnx.TensorProto.FLOAT: ("FP32", "TYPE_FP32"),
    onnx.TensorProto.DOUBLE: ("FP64", "TYPE_FP64"),
    onnx.TensorProto.STRING: ("BYTES", "TYPE_STRING"),
}


@dataclass(frozen=True)
class Tensor:
    """One input or output of a model: name, ONNX element type, dims (-1 = variable)."""

    name: str
    element: int
    dims: list[int]


@dataclass(frozen=True)
class Model:
    """One model of the conformance set as written by `lepton-conformance models`."""

    name: str
    versions: list[str]
    config: dict
    inputs: list[Tensor]
    outputs: list[Tensor]

    @property
    def max_batch_size(self) -> int:
        return int(self.config.get("max_batch_size", 0))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _tensors(values) -> list[Tensor]:
    return [
        Tensor(
            value.name,
            value.type.tensor_type.elem_type,
            [
                d.dim_value if d.HasField("dim_value") else -1
                for d in value.type.tensor_type.shape.dim
            ],
        )
        for value in values
    ]


def build_model_set(out: Path) -> list[Model]:
    """Write the conformance model set with the suite's own builder and describe each model."""
    builder = Path(sys.executable).parent / "lepton-conformance"
    subprocess.run([str(builder), "models", "--out", str(out)], check=True)
    return describe_model_set(out)


def describe_model_set(out: Path) -> list[Model]:
    """Each model of a repository in the reference server's layout (`<model>/<version>/
    model.onnx`, an optional `<model>/config.json`)."""
    models = []
    for model_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        versions = sorted((p.name for p in model_dir.iterdir() if p.is_dir()), key=int)
        graph = onnx.load(str(model_dir / versions[0] / "model.onnx")).graph
        config_file = model_dir / "config.json"
        config = json.loads(config_file.read_text()) if config_file.exists() else {}
        models.append(
            Model(model_dir.name, versions, config, _tensors(graph.input), _tensors(graph.output))
        )
    return models


# --- Triton -----------------------------------------------------------------------------


def _triton_tensor(kind: str, tensor: Tensor, batched: bool) -> str:
    # A batching model's batch dimension is implicit in Triton's config.
    dims = tensor.dims[1:] if batched else tensor.dims
    return (
        f'{kind} {{ name: "{tensor.name}" data_type: {DATATYPES[tensor.element][1]} '
        f"dims: [ {', '.join(str(d) for d in dims)} ] }}"
    )


def triton_config(model: Model) -> str:
    """config.pbtxt for the model as a Python-backend model."""
    batched = model.max_batch_size > 0
    lines = [
        f'name: "{model.name}"',
        'backend: "python"',
        f"max_batch_size: {model.max_batch_size}",
        *(_triton_tensor("input", t, batched) for t in model.inputs),
        *(_triton_tensor("output", t, batched) for t in model.outputs),
        "instance_group [ { kind: KIND_CPU count: 1 } ]",
    ]
    if "all" in model.config.get("version_policy", {}):
        lines.append("version_policy: { all: {} }")
    batching = model.config.get("dynamic_batching")
    if batching:
        delay = batching.get("max_queue_delay_microseconds", 0)
        lines.append(f"dynamic_batching {{ max_queue_delay_microseconds: {delay} }}")
    return "\n".join(lines) + "\n"


def triton_repository(model_set: Path, models: list[Model], out: Path, venv: Path) -> Path:
    """A Triton model repository: each version's model.onnx with model.py beside it, and the
    venv's site-packages path (the stub ignores PYTHONPATH)."""
    for model in models:
        for version in model.versions:
            version_dir = out / model.name / version
            version_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(model_set / model.name / version / "model.onnx", version_dir)
            shutil.copy(HERE / "triton_model.py", version_dir / "model.py")
            (version_dir / "site-packages.txt").write_text(f"{_site_packages(venv)}\n")
        (out / model.name / "config.pbtxt").write_text(triton_config(model))
    return out


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def triton_backends(venv: Path, out: Path) -> Path:
    """A backend directory holding the Python backend with the stub for the venv's Python."""
    site = _site_packages(venv)
    python = site.parent.name.removeprefix("python")  # e.g. "3.11"
    tritonserver = site / "pytriton" / "tritonserver"
    python_backend = out / "python"
    shutil.copytree(tritonserver / "backends" / "python", python_backend, dirs_exist_ok=True)
    stub = tritonserver / "python_backend_stubs" / python / "triton_python_backend_stub"
    shutil.copy(stub, python_backend / "triton_python_backend_stub")
    return out


def triton_command(venv: Path, repository: Path, backends: Path, port: int) -> list[str]:
    binary = _site_packages(venv) / "pytriton" / "tritonserver" / "bin" / "tritonserver"
    return [
        str(binary),
        f"--model-repository={repository}",
        f"--backend-directory={backends}",
        "--model-control-mode=explicit",
        "--load-model=*",
        f"--grpc-address={LOOPBACK}",
        f"--grpc-port={port}",
        "--allow-http=false",
        "--allow-metrics=false",
        "--log-verbose=0",
    ]


def triton_environment(venv: Path) -> dict[str, str]:
    site = _site_packages(venv)
    env = dict(os.environ)
    libs = [str(site / "nvidia_pytriton.libs"), env.get("LD_LIBRARY_PATH", "")]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in libs if p)
    env["OMP_NUM_THREADS"] = "1"
    return env


# --- MLServer ---------------------------------------------------------------------------


def _mlserver_tensor(tensor: Tensor) -> dict:
    return {"name": tensor.name, "datatype": DATATYPES[tensor.element][0], "shape": tensor.dims}


def mlserver_repository(model_set: Path, models: list[Model], out: Path) -> Path:
    """An MLServer repository: one model-settings.json per model version."""
    for model in models:
        for version in model.versions:
            version_dir = out / model.name / version
            version_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(model_set / model.name / version / "model.onnx", version_dir)
            settings = {
                "name": model.name,
                "implementation": "mlserver_runtime.OnnxRuntime",
                "platform": "onnxruntime_onnx",
                # ModelMetadata.versions comes from here (MLServer documents the field loosely).
                "versions": model.versions,
                "inputs": [_mlserver_tensor(t) for t in model.inputs],
                "outputs": [_mlserver_tensor(t) for t in model.outputs],
                "parameters": {"uri": "./model.onnx", "version": version},
            }
            (version_dir / "model-settings.json").write_text(json.dumps(settings, indent=2))
    return out


def mlserver_command(venv: Path, repository: Path) -> list[str]:
    return [str(venv / "bin" / "mlserver"), "start", str(repository)]


def mlserver_environment(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(HERE),  # mlserver_runtime.py
            "MLSERVER_HOST": LOOPBACK,
            "MLSERVER_GRPC_PORT": str(port),
            "MLSERVER_HTTP_PORT": str(free_port()),
            "MLSERVER_METRICS_PORT": str(free_port()),
            "MLSERVER_METRICS_ENDPOINT": "",
            # Models run in the main process: two CPUs here, no room for worker pools.
            "MLSERVER_PARALLEL_WORKERS": "0",
            "MLSERVER_GRPC_MAX_MESSAGE_LENGTH": str(MAX_MESSAGE_BYTES),
            "MLSERVER_LOAD_MODELS_AT_STARTUP": "true",
            "OMP_NUM_THREADS": "1",
        }
    )
    return env


# --- Processes --------------------------------------------------------------------------


@dataclass
class RunningServer:
    """A third-party server process and the loopback address of its gRPC endpoint."""

    name: str
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


def wait_ready(server: RunningServer, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll OIP ServerReady until it answers ready: true; fail if the process exits."""
    ready = f"/{OIP_SERVICE}/ServerReady"
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(server.address) as channel:
        call = channel.unary_unary(
            ready,
            request_serializer=pb.ServerReadyRequest.SerializeToString,
            response_deserializer=pb.ServerReadyResponse.FromString,
        )
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}; "
                    f"log:\n{server.log.read_text()[-4000:]}"
                )
            try:
                if call(pb.ServerReadyRequest(), timeout=2.0).ready:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.5)
    raise TimeoutError(f"{server.name} not ready after {timeout_s}s; log: {server.log}")


def stop(server: RunningServer) -> None:
    """SIGTERM, then SIGKILL if the server does not exit within 30 s."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextmanager
def running(
    server_name: str, venv: Path, workdir: Path, model_set: Path | None = None
) -> Iterator[RunningServer]:
    """Start `server_name` ("triton" or "mlserver") from `venv` serving `model_set` (by
    default the conformance model set, built here), wait until it is ready, yield it, and
    stop it."""
    venv = venv.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if model_set is None:
        model_set = workdir / "model-set"
        models = build_model_set(model_set)
    else:
        models = describe_model_set(model_set)
    port = free_port()
    if server_name == "triton":
        repository = triton_repository(model_set, models, workdir / "triton-models", venv)
        backends = triton_backends(venv, workdir / "triton-backends")
        command = triton_command(venv, repository, backends, port)
        env = triton_environment(venv)
    elif server_name == "mlserver":
        repository = mlserver_repository(model_set, models, workdir / "mlserver-models")
        command = mlserver_command(venv, repository)
        env = mlserver_environment(port)
    else:
        raise ValueError(f"unknown server {server_name!r}")
    log = workdir / f"{server_name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=sink, stderr=subprocess.STDOUT
        )
    server = RunningServer(server_name, process, port, log)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(server)


# --- Command line -----------------------------------------------------------------------


def conformance_command(address: str, report_dir: Path, extra: list[str]) -> list[str]:
    """`lepton-conformance run` against `address`, told nothing about the target: the suite
    finds its services itself, as it would for any vendor's server."""
    return [
        str(Path(sys.executable).parent / "lepton-conformance"),
        "run",
        "--target",
        address,
        "--report-dir",
        str(report_dir),
        *extra,
    ]


def _run(options: argparse.Namespace) -> int:
    extra = [a for a in options.extra if a != "--"]
    with (
        tempfile.TemporaryDirectory(prefix=f"interop-{options.server}-") as scratch,
        running(options.server, options.venv, Path(scratch)) as server,
    ):
        print(f"{server.name} ready at {server.address}", flush=True)
        command = conformance_command(server.address, options.report_dir, extra)
        print("+", " ".join(command), flush=True)
        code = subprocess.run(command, check=False).returncode
        if options.keep_log:
            shutil.copy(server.log, options.keep_log)
    # 3 (incomplete) is a verdict on the run, recorded in the report. 1 means a failure the
    # known-failing file does not list (or a listed one that changed); 2 that the harness broke.
    return 0 if code == 3 else code


def summary(report_dir: Path) -> str:
    """Per-profile outcome counts and the failing cases of a report's results.json."""
    cases = json.loads((report_dir / "results.json").read_text())["cases"]
    profiles = list(dict.fromkeys(c["profile"] for c in cases))
    lines = [f"{report_dir}:", "profile              PASS FAIL SKIP ERROR"]
    for profile in profiles:
        mine = [c["outcome"] for c in cases if c["profile"] == profile]
        counts = " ".join(f"{mine.count(o):>4}" for o in ("PASS", "FAIL", "SKIP", "ERROR"))
        lines.append(f"{profile:<20} {counts}")
    for profile in profiles:
        for outcome in ("FAIL", "ERROR", "SKIP"):
            ids = [c["id"] for c in cases if c["profile"] == profile and c["outcome"] == outcome]
            if ids:
                lines.append(f"\n{profile} {outcome} ({len(ids)}):")
                lines.extend(f"  {i}" for i in ids)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interop/servers.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="start a server and run the suite against it")
    runner.add_argument("server", choices=("triton", "mlserver"))
    runner.add_argument("--venv", type=Path, required=True, help="the server's virtualenv")
    runner.add_argument("--report-dir", type=Path, required=True)
    runner.add_argument("--keep-log", type=Path, help="copy the server's log here")
    counts = commands.add_parser("summary", help="outcome counts and failing cases of reports")
    counts.add_argument("report_dirs", type=Path, nargs="+")
    # Everything else goes to `lepton-conformance run` (e.g. --profile, --known-failing).
    options, extra = parser.parse_known_args(argv)
    if options.command == "summary":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        print("\n".join(summary(d) for d in options.report_dirs), end="")
        return 0
    options.extra = extra
    return _run(options)


if __name__ == "__main__":
    sys.exit(main())

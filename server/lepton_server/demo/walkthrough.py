"""`lepton demo`: start the reference server on loopback, show what it serves, and certify it
with the conformance suite.

It serves the conformance model set through the inference layer and runs one inference,
ingests and processes data, registers a model, converts it to ONNX and serves it by alias,
trains a model on the cleaned data that registers and serves itself, and rolls the served
model out to a device agent that keeps inferring while cut off from the fleet; later layers
add the rest of the end-to-end flow (annotate). The
conformance suite runs as its own process: the server never imports it, exactly as a vendor
would certify their implementation.
"""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
import sys
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton.inference.v1 import inference_service_pb2 as inference_pb
from lepton.inference.v1 import inference_service_pb2_grpc as inference_grpc
from lepton_server.config import ServerConfig
from lepton_server.data.layer import DataConfig
from lepton_server.demo.sample_annotation import run_annotation_flow
from lepton_server.demo.sample_data import run_data_flow
from lepton_server.demo.sample_edge import run_edge_flow
from lepton_server.demo.sample_models import run_model_flow
from lepton_server.demo.sample_training import run_training_flow
from lepton_server.edge.layer import EdgeConfig
from lepton_server.inference.layer import InferenceConfig
from lepton_server.registry.layer import RegistryConfig
from lepton_server.runtime.host import OVERALL, ServerHost
from lepton_server.runtime.layer_registry import build_services
from lepton_server.runtime.reflection import V1_SERVICE_NAME
from lepton_server.runtime.roles import READER
from lepton_server.training.layer import TrainingConfig


async def _list_services(channel: aio.Channel) -> list[str]:
    call = channel.stream_stream(
        f"/{V1_SERVICE_NAME}/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )([reflection_pb2.ServerReflectionRequest(list_services="")])
    async for response in call:
        return sorted(s.name for s in response.list_services_response.service)
    return []


async def _suite(*args: str) -> int:
    """Run `lepton-conformance ARGS` as a child process; its exit status."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lepton_conformance.cli", *args
    )
    return await process.wait()


async def _infer_once(console: Console, channel: aio.Channel, token: str) -> None:
    stub = inference_grpc.InferenceServiceStub(channel)
    a = np.arange(16, dtype=np.float32).reshape(1, 16)
    b = np.full((1, 16), 0.5, dtype=np.float32)
    request = inference_pb.ModelInferRequest(model_name="add_sub_fp32", id="demo-1")
    for name, array in (("INPUT0", a), ("INPUT1", b)):
        request.inputs.add(name=name, datatype="FP32", shape=list(array.shape))
        request.raw_input_contents.append(array.tobytes())
    response = await stub.ModelInfer(request, metadata=_bearer(token))
    total = np.frombuffer(response.raw_output_contents[0], dtype="<f4")
    console.print(
        f"ModelInfer add_sub_fp32 v{response.model_version}: "
        f"[0..15] + 0.5 = {total[:4].tolist()} ... {total[-1]}"
    )


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def _show_services(console: Console, channel: aio.Channel) -> None:
    """What discovery and health say the server hosts."""
    info = await discovery_grpc.DiscoveryServiceStub(channel).GetServerInfo(
        discovery_pb.GetServerInfoRequest()
    )
    console.print(f"{info.server_name} {info.server_version}, standard {info.spec_version}")
    health = health_pb2_grpc.HealthStub(channel)
    table = Table(title="Services (grpc.health.v1 and DiscoveryService)")
    table.add_column("service")
    table.add_column("health")
    table.add_column("features")
    features = {s.name: ", ".join(s.features) for s in info.services}
    for name in [OVERALL, *sorted(features)]:
        status = await health.Check(health_pb2.HealthCheckRequest(service=name))
        label = name or "(whole server)"
        state = health_pb2.HealthCheckResponse.ServingStatus.Name(status.status)
        table.add_row(label, state, features.get(name, ""))
    console.print(table)


def _server_config(
    data_dir: Path,
    exchange: Path,
    repository: Path | None,
    *,
    token: str,
    reader: str,
    annotators: dict[str, str],
) -> ServerConfig:
    """The demo's server: every layer, tokens with principals and roles, metrics, Flight."""
    return ServerConfig(
        address="127.0.0.1:0",
        data_dir=data_dir,
        auth_tokens=frozenset({token, reader, *annotators.values()}),
        principals={
            token: "operator",
            reader: "reader",
            **{t: name for name, t in annotators.items()},
        },
        roles={reader: frozenset({READER})},
        metrics_address="127.0.0.1:0",
        layers={
            "data": DataConfig(
                file_roots=(exchange,),
                flight_address="127.0.0.1:0",  # datasets over Arrow Flight too (data.flight)
            ),
            "inference": InferenceConfig(model_repository=repository),
            # The same directory for model imports (REG-053), as --file-root gives both layers.
            "registry": RegistryConfig(file_roots=(exchange,)),
            "training": TrainingConfig(),
            "edge": EdgeConfig(),
        },
    )


async def _demo(console: Console, data_dir: Path) -> int:
    repository = data_dir / "models"
    # A directory the server serves for imports and exports, where the suite's import and
    # export cases exchange files with it (lepton-conformance run --file-root).
    exchange = data_dir / "exchange"
    exchange.mkdir()
    suite_installed = importlib.util.find_spec("lepton_conformance") is not None
    if suite_installed:
        await _suite("models", "--out", str(repository))
    # The server requires a bearer token, as a deployment would, so the suite's auth cases
    # run too and every profile can be certified rather than left incomplete.
    token = secrets.token_urlsafe(24)
    # Annotators with principals of their own: two label in the annotation step, and the
    # suite's annotation cases need three besides the operator (--annotator-token).
    annotators = {name: secrets.token_urlsafe(24) for name in ("alice", "bob", "carol")}
    # A principal that may only read, for the suite's roles profile (GEN-015).
    reader = secrets.token_urlsafe(24)
    config = _server_config(
        data_dir,
        exchange,
        repository if suite_installed else None,
        token=token,
        reader=reader,
        annotators=annotators,
    )
    host = ServerHost(config, build_services(config))
    running = await host.start()
    console.print(f"[bold]Lepton reference server[/] listening on {running.address}")
    metrics_url = f"http://{running.metrics_address}/metrics"
    console.print(f"Prometheus metrics at {metrics_url}")
    try:
        async with aio.insecure_channel(running.address) as channel:
            await _show_services(console, channel)
            listed = await _list_services(channel)
            console.print("Reflection (grpc.reflection.v1) lists: " + ", ".join(listed))
            if suite_installed:
                await _infer_once(console, channel, token)
        if importlib.util.find_spec("lepton_ai") is not None:
            console.rule("Data: ingest, clean and anonymize, read back (lepton_ai SDK)")
            await asyncio.to_thread(
                run_data_flow, console, running.address, data_dir / "files", token
            )
            console.rule(
                "Models: register, convert to ONNX, serve by alias (lepton_ai, tritonclient)"
            )
            await asyncio.to_thread(run_model_flow, console, running.address, token)
            console.rule("Training: clean data to a served model (lepton_ai TrainingClient)")
            await asyncio.to_thread(run_training_flow, console, running.address, token)
            console.rule("Edge: roll out to a device, infer offline, reconnect (EdgeFleet)")
            await asyncio.to_thread(run_edge_flow, console, running.address, token)
            console.rule("Annotation: auto-annotate, label by hand, agree, export (Annotator)")
            await asyncio.to_thread(
                run_annotation_flow,
                console,
                running.address,
                exchange,
                {"operator": token, **annotators},
            )
        await asyncio.to_thread(_show_metrics, console, metrics_url)
        status = await _certify(
            console,
            running.address,
            host.config.max_message_bytes,
            exchange,
            [token, *annotators.values()],
            metrics_url=metrics_url,
            reader_token=reader,
        )
    finally:
        await host.stop()
    console.print("[green]demo finished[/]" if status == 0 else "[red]certification failed[/]")
    return status


def _show_metrics(console: Console, url: str) -> None:
    """What the walkthrough's calls did, as Prometheus scrapes it."""
    console.rule(f"Metrics: {url}")
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    calls: dict[str, float] = {}
    models: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "grpc_server_handled_total":
                code = sample.labels["grpc_code"]
                calls[code] = calls.get(code, 0) + sample.value
            elif sample.name == "nv_inference_request_success" and sample.value:
                models[sample.labels["model"]] = sample.value
    console.print(
        "grpc_server_handled_total by grpc_code: "
        + ", ".join(f"{code} {count:.0f}" for code, count in sorted(calls.items()))
    )
    console.print(
        "nv_inference_request_success by model: "
        + ", ".join(f"{model} {count:.0f}" for model, count in sorted(models.items()))
    )


async def _certify(
    console: Console,
    address: str,
    message_limit: int,
    files: Path,
    tokens: list[str],
    *,
    metrics_url: str,
    reader_token: str,
) -> int:
    """Run the conformance suite against the running server and show its verdict table."""
    if importlib.util.find_spec("lepton_conformance") is None:
        console.print("[yellow]lepton-conformance is not installed; skipping certification[/]")
        return 0
    console.rule("Conformance: lepton-conformance run")
    server = await _suite(
        "run",
        "--target",
        address,
        "--message-limit",
        str(message_limit),
        "--file-root",
        files.as_uri() + "/",
        # `--option=value`: a token may begin with "-", which argparse would take for an option.
        f"--token={tokens[0]}",
        *(f"--annotator-token={extra}" for extra in tokens[1:]),
        f"--metrics-url={metrics_url}",
        f"--reader-token={reader_token}",
    )
    console.rule("Conformance: lepton-conformance run --agent-command (the device agent)")
    agent = await _suite("run", "--agent-command", AGENT_COMMAND)
    return server or agent


# The device agent as the edge-agent profile starts it: the suite fills in the placeholders.
AGENT_COMMAND = (
    f"{sys.executable} -m lepton_server.cli agent --fleet {{fleet}} --state-dir {{state_dir}} "
    "--serve {serve} --trust-roots {trust_roots} --bootstrap-token {bootstrap_token} "
    "--device-id {device_id}"
)


def run_demo() -> int:
    """Run the demonstration; returns the process exit status."""
    console = Console()
    with tempfile.TemporaryDirectory(prefix="lepton-demo-") as data_dir:
        return asyncio.run(_demo(console, Path(data_dir)))

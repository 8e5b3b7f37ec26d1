"""registry-serving cases: a server that hosts the registry and inference serves each READY
ONNX version by number, alias and `latest`, and an alias move under load fails no request
(spec/inference.md §12, INF-090; spec/registry.md REG-055, REG-056)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent import futures

import grpc
import numpy as np

from lepton.inference.v1 import inference_service_pb2 as ipb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.inference import oip
from lepton_conformance.suites.inference.model_set import scale
from lepton_conformance.suites.registry.profiles import SERVING
from lepton_conformance.suites.registry.registry_client import ONNX, RegistryClient

CASES = CaseList()
ROW = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)


def _scaled_model(client: RegistryClient, model: str) -> list[str]:
    """Versions 1 and 2 of the conformance model `scale_versions` (OUTPUT0 = INPUT0 * v)
    registered as READY ONNX versions of `model`."""
    return [
        client.register(model, scale(v).SerializeToString(), model_format=ONNX).name for v in (1, 2)
    ]


def _infer(ctx: CaseContext, model: str, label: str) -> tuple[list[float], str]:
    message = oip.request(model, [oip.Tensor("INPUT0", "FP32", ROW)], version=label)
    response = oip.client(ctx).infer(message)
    return oip.decode_outputs(response)["OUTPUT0"].array.reshape(
        -1
    ).tolist(), response.model_version


def _until(check, timeout: float) -> bool:
    """Poll `check` (exceptions count as not yet) until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except grpc.RpcError:
            pass
        time.sleep(0.02)
    return False


@CASES.case(SERVING, "serving.by-number-alias-and-latest", "REG-055", "INF-090")
def by_name(ctx: CaseContext) -> None:
    """Each READY ONNX version answers by number, an alias by the version it names (answered
    with the concrete number), and an empty version as `latest`; ModelMetadata lists both.
    The server may take a moment to observe the registry: the answers must all hold within
    the run's timeout."""
    registry = RegistryClient(ctx)
    with registry.scratch("conf-serve") as name:
        model = name.removeprefix("models/")
        one, _two = _scaled_model(registry, name)
        registry.set_alias(f"{name}/aliases/stable", one)
        wanted = {
            "1": ([1.0, 2.0, 3.0, 4.0], "1"),
            "2": ([2.0, 4.0, 6.0, 8.0], "2"),
            "stable": ([1.0, 2.0, 3.0, 4.0], "1"),
            "": ([2.0, 4.0, 6.0, 8.0], "2"),
        }
        seen: dict[str, object] = {}

        def answers() -> bool:
            seen.clear()
            for label in wanted:
                try:
                    seen[label] = _infer(ctx, model, label)
                except grpc.RpcError as error:
                    seen[label] = error.code().name
            request = ipb.ModelMetadataRequest(name=model)
            seen["versions"] = sorted(oip.client(ctx).call("ModelMetadata", request).versions)
            return seen == {**wanted, "versions": ["1", "2"]}

        expect.holds(
            _until(answers, ctx.timeout),
            f"(OUTPUT0, model_version) by label {wanted} and versions ['1', '2']",
            str(seen),
        )


@CASES.case(SERVING, "serving.alias-move-under-load-fails-nothing", "REG-056", "INF-090")
def alias_move(ctx: CaseContext) -> None:
    """While four clients infer through an alias without pause, the alias moves between two
    versions six times: no request fails, each switch is observed, and every answer is the
    output of the version it names."""
    registry = RegistryClient(ctx)
    with registry.scratch("conf-serve") as name:
        model = name.removeprefix("models/")
        versions = _scaled_model(registry, name)
        alias = f"{name}/aliases/prod"
        registry.set_alias(alias, versions[0])
        expect.holds(
            _until(lambda: _infer(ctx, model, "prod")[1] == "1", ctx.timeout),
            "the alias served within the run's timeout",
            "never served",
        )
        stop, outcomes = threading.Event(), Counter()
        wrong: list[str] = []

        def load() -> None:
            while not stop.is_set():
                try:
                    values, version = _infer(ctx, model, "prod")
                except grpc.RpcError as error:
                    outcomes[error.code().name] += 1
                    continue
                outcomes["OK"] += 1
                if values != [float(int(version)) * x for x in (1, 2, 3, 4)]:
                    wrong.append(f"version {version} gave {values}")

        with futures.ThreadPoolExecutor(max_workers=4) as pool:
            running = [pool.submit(load) for _ in range(4)]
            try:
                for move in range(6):
                    target = versions[(move + 1) % 2]
                    registry.set_alias(alias, target)
                    number = target.rsplit("/", 1)[1]
                    expect.holds(
                        _until(
                            lambda number=number: _infer(ctx, model, "prod")[1] == number,
                            ctx.timeout,
                        ),
                        f"the move to {number} observed",
                        "never observed",
                    )
            finally:
                stop.set()
                for job in running:
                    job.result()
        failures = {code: n for code, n in outcomes.items() if code != "OK"}
        expect.equal(failures, {}, f"failed requests among {sum(outcomes.values())}")
        expect.equal(wrong, [], "answers that are not their version's output")
        expect.holds(outcomes["OK"] > 0, "requests answered during the moves", "none")

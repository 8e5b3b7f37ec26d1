"""The model part of `lepton demo`, through the Python SDK and tritonclient as a user would
write it: fit a small scikit-learn classifier, register it, convert it to ONNX with an
equivalence report, point the alias `prod` at the ONNX version, and infer through the alias
with an unmodified Triton client.

It runs blocking calls, so call it off the event loop that serves the server."""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console

MODEL = "churn"


def run_model_flow(console: Console, address: str, token: str | None = None) -> None:
    """Register, convert, alias and serve; prints what happens."""
    import tritonclient.grpc as triton  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    from lepton_ai import ModelRegistry  # noqa: PLC0415

    rows = np.random.default_rng(7).normal(size=(200, 3)).astype(np.float32)
    churned = (rows[:, 0] + 0.5 * rows[:, 2] > 0).astype(np.int64)
    classifier = LogisticRegression().fit(rows, churned)
    with ModelRegistry.connect(address, token=token) as registry:
        native = registry.register(classifier, MODEL, metrics={"accuracy": 0.97})
        console.print(
            f"Registered a fitted {type(classifier).__name__} as {native.name} "
            f"({native.framework} {native.framework_version}, format "
            f"{_format_name(native.artifact.format)})"
        )
        job = registry.convert(native.name)
        report = job.equivalence
        worst = max(o.max_absolute_difference for o in report.outputs)
        console.print(
            f"Converted to ONNX as {job.output_model_version} with {report.converter}: "
            f"{report.sample_rows} sample rows, largest difference {worst:.2e}, "
            f"equivalent {report.equivalent}"
        )
        registry.set_alias(MODEL, "prod", job.output_model_version)
        console.print(f"models/{MODEL}/aliases/prod -> {job.output_model_version}")
    headers = {"authorization": f"Bearer {token}"} if token else None
    client = triton.InferenceServerClient(address)
    deadline = time.monotonic() + 30
    while not _ready(client, headers) and time.monotonic() < deadline:
        time.sleep(0.05)
    sample = rows[:4]
    given = triton.InferInput("input", list(sample.shape), "FP32")
    given.set_data_from_numpy(sample)
    result = client.infer(MODEL, [given], model_version="prod", headers=headers)
    labels = result.as_numpy("label").tolist()
    console.print(
        f"tritonclient ModelInfer {MODEL} version 'prod' (ran version "
        f"{result.get_response().model_version}): labels {labels}, scikit-learn says "
        f"{classifier.predict(sample).tolist()}"
    )


def _ready(client, headers) -> bool:
    try:
        return client.is_model_ready(MODEL, "prod", headers=headers)
    except Exception:  # not served yet
        return False


def _format_name(model_format: int) -> str:
    from lepton.type.v1 import model_format_pb2  # noqa: PLC0415

    return model_format_pb2.ModelFormat.Name(model_format).removeprefix("MODEL_FORMAT_")

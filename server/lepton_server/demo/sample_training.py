"""The training part of `lepton demo`, through the Python SDK as a user would write it: train
the built-in scikit-learn logistic regression on the cleaned customers dataset, with its
output converted to ONNX and registered under the alias `prod`, then infer through that alias
with an unmodified Triton client: versioned data → training → registered model → served model.

It runs blocking calls, so call it off the event loop that serves the server."""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console

MODEL = "churn-trained"
DATASET = "datasets/customers-clean/tags/clean"


def run_training_flow(console: Console, address: str, token: str | None = None) -> None:
    """Train, register and serve; prints what happens."""
    import tritonclient.grpc as triton  # noqa: PLC0415

    from lepton_ai import TrainingClient  # noqa: PLC0415

    with TrainingClient.connect(address, token=token) as training:
        run = training.fit(
            DATASET,
            "sklearn.logistic_regression",
            label="churned",
            features=["age", "spend"],
            model_format="onnx",
            register=f"models/{MODEL}",
            aliases=["prod"],
        )
        job = run.wait()
        metrics = ", ".join(f"{m.name} {m.latest.value:.3f}" for m in job.metrics)
        output = job.output
        console.print(
            f"{run.name} trained on {job.resolved_inputs.datasets[0].dataset_version} "
            f"({metrics}) in {job.run_duration.ToTimedelta().total_seconds():.1f} s"
        )
        console.print(
            f"Converted in the job to ONNX (equivalent: {output.equivalence.equivalent}) and "
            f"registered as {output.model_version}, alias prod"
        )
    headers = {"authorization": f"Bearer {token}"} if token else None
    client = triton.InferenceServerClient(address)
    deadline = time.monotonic() + 30
    while not _ready(client, headers) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Standardized spend (the cleaning pipeline standardizes it): low and high.
    rows = np.array([[35.0, -1.2], [35.0, 1.5]], dtype=np.float32)
    given = triton.InferInput("input", list(rows.shape), "FP32")
    given.set_data_from_numpy(rows)
    result = client.infer(MODEL, [given], model_version="prod", headers=headers)
    console.print(
        f"tritonclient ModelInfer {MODEL} version 'prod': churned for low and high spend "
        f"{result.as_numpy('label').tolist()}"
    )


def _ready(client, headers) -> bool:
    try:
        return client.is_model_ready(MODEL, "prod", headers=headers)
    except Exception:  # not served yet
        return False

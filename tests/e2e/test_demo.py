"""`lepton demo`, the main job of `make demo`, runs end to end and certifies the server."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


# The demo certifies the server and the agent against nine profiles: on a loaded 2-CPU
# machine that takes minutes, beyond the default per-test timeout.
@pytest.mark.timeout(600)
def test_demo_serves_and_certifies_the_reference_server():
    completed = subprocess.run(
        [sys.executable, "-m", "lepton_server.cli", "demo"],
        capture_output=True,
        text=True,
        check=False,
        timeout=540,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "inference.GRPCInferenceService" in completed.stdout
    assert "ModelInfer add_sub_fp32 v1" in completed.stdout
    assert "Imported customers.csv as datasets/customers/versions/v1" in completed.stdout
    assert "produced datasets/customers-clean/versions/v1" in completed.stdout
    assert "Registered a fitted LogisticRegression as models/churn/versions/1" in completed.stdout
    assert "Converted to ONNX as models/churn/versions/2" in completed.stdout
    assert "equivalent True" in completed.stdout
    assert "tritonclient ModelInfer churn version 'prod' (ran version 2)" in completed.stdout
    assert "registered as models/churn-trained/versions/1, alias prod" in completed.stdout
    assert "tritonclient ModelInfer churn-trained version 'prod'" in completed.stdout
    assert "Device agent registered as devices/demo-camera" in completed.stdout
    assert "with a health gate: ROLLOUT_STATE_SUCCEEDED, 1 device on it" in completed.stdout
    assert "the device inferred 5 times offline" in completed.stdout
    assert "the fleet holds 0 of its inference events" in completed.stdout
    assert "Link back: 5 inference events arrived" in completed.stdout
    assert "NOT CERTIFIED" not in completed.stdout
    profiles = (
        "general",
        "oip",
        "inference-core",
        "inference-extended",
        "data-core",
        "data-processing",
        "training-core",
        "edge-fleet",
        "edge-agent",
    )
    for profile in profiles:
        # profile │ verdict │ PASS │ FAIL │ SKIP │ ERROR: certified, and no data case skipped
        # (the import and export cases ran against the demo's file root).
        row = re.search(
            rf"{profile}\s+\S\s+CERTIFIED\s+\S\s+(\d+)\s+\S\s+0\s+\S\s+(\d+)", completed.stdout
        )
        assert row, profile
        assert int(row[1]) > 0, profile
        if profile.startswith("data-"):
            assert int(row[2]) == 0, f"{profile}: {row[2]} cases skipped"

"""The suite against a real Triton 2.51 (nvidia-pytriton 0.7.0) started by interop/servers.py.

Needs `.venv-interop/triton` (`make interop-install`); skipped without it, so `make test`
does not pay for the third-party install.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRITON_VENV = REPO / ".venv-interop" / "triton"

sys.path.insert(0, str(REPO))
from interop.servers import conformance_command, running  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.interop,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not (TRITON_VENV / ".installed").exists(),
        reason="no .venv-interop/triton: run `make interop-install` for the Triton interop test",
    ),
]


def test_suite_reaches_tritons_inference_service(tmp_path: Path) -> None:
    """Every inference-core case skipping would mean the suite never talked to Triton."""
    with running("triton", TRITON_VENV, tmp_path / "triton") as server:
        report = tmp_path / "report"
        command = conformance_command(
            server.address,
            report,
            ["--profile", "inference-core", "--case", r"golden\.add-sub-fp32\.(raw|typed)$"],
        )
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        # 3: the cases passed, but a run filtered with --case is never a certificate.
        assert done.returncode == 3, done.stdout + done.stderr
    results = json.loads((report / "results.json").read_text())
    # Triton serves no reflection: the suite found its OIP service by probing, untold.
    assert results["discovery"]["services"]["inference.GRPCInferenceService"] == ["probe"]
    cases = results["cases"]
    inference = [c for c in cases if c["profile"] == "inference-core"]
    assert inference, "no inference-core case ran"
    reached = [c["id"] for c in inference if c["outcome"] != "SKIP"]
    assert reached, f"every inference-core case skipped: {[c['got'] for c in inference][:3]}"

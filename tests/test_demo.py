"""`lepton demo`, the main job of `make demo`, runs end to end and certifies the server."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_serves_and_certifies_the_reference_server():
    completed = subprocess.run(
        [sys.executable, "-m", "lepton_server.cli", "demo"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "lepton.discovery.v1.DiscoveryService" in completed.stdout
    assert "NOT CERTIFIED" not in completed.stdout
    assert "CERTIFIED" in completed.stdout

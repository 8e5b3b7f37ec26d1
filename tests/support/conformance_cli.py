"""`lepton-conformance` as a user runs it: a subprocess with a wide terminal."""

from __future__ import annotations

import os
import subprocess
import sys


def conformance_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run `python -m lepton_conformance.cli ARGS`; its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "lepton_conformance.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "240"},  # rich wraps table cells at 80 otherwise
    )

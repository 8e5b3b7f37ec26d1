"""The Go client (clients/go) against a reference server on loopback: every `go test` of
the module (`make lint` runs gofmt and `go vet`), its live tests included: golden vectors
bit-exact, BYTES round trips, the error table's codes and ErrorInfo reasons, a stream,
Arrow Flight reads whose content digests match the Python SDK's, the examples. None may be
skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from support.client_server import ROOT

CLIENT = ROOT / "clients" / "go"
GO = shutil.which("go")
# The live tests of the module: each must run and pass (a skip means the harness did not
# give it its server).
LIVE = {
    ("lepton.ai/clients/go/inference", "TestGoldenVectorsAreBitExact"),
    ("lepton.ai/clients/go/inference", "TestBytesRoundTripUnderBothServiceNames"),
    ("lepton.ai/clients/go/inference", "TestErrorTableGivesCodeAndReason"),
    ("lepton.ai/clients/go/inference", "TestMetadataAndStream"),
    ("lepton.ai/clients/go/data", "TestFlightReadsDigestAsPython"),
    ("lepton.ai/clients/go/data", "TestListVersionsPages"),
    ("lepton.ai/clients/go/examples/infer", "TestInferExample"),
    ("lepton.ai/clients/go/examples/flightread", "TestFlightReadExample"),
    ("lepton.ai/clients/go/examples/health", "TestHealthExample"),
}


def _go(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    assert GO is not None, "the Go toolchain is needed: the Go client is part of the standard"
    return subprocess.run(  # noqa: PLW1510 - the caller reads the return code
        [GO, *args],
        cwd=CLIENT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_every_go_test_passes_against_the_server(live):
    run = _go("test", "-json", "-count=1", "./...", env=live.environment())
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    outcome = {
        (e["Package"], e["Test"]): e["Action"]
        for e in events
        if e.get("Test") and e["Action"] in ("pass", "fail", "skip")
    }
    failed = sorted(k for k, v in outcome.items() if v != "pass")
    output = "".join(e.get("Output", "") for e in events if e.get("Action") == "output")
    assert run.returncode == 0 and not failed, f"{failed}\n{output[-6000:]}\n{run.stderr[-2000:]}"
    passed = {k for k, v in outcome.items() if v == "pass"}
    assert passed >= LIVE
    digest_cases = {t for p, t in outcome if t.startswith("TestFlightReadsDigestAsPython/")}
    assert len(digest_cases) == len(live.digests)

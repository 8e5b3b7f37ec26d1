"""The TypeScript client (clients/typescript) against a reference server on loopback: it
compiles with the committed bindings of generated/typescript (tsc, strict), and every test
of `node --test` passes, the live ones included: golden vectors bit-exact, a BYTES round
trip, the error table's codes and ErrorInfo reasons, the inference example, a paged List.
None may be skipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from support.client_server import ROOT

CLIENT = ROOT / "clients" / "typescript"
NODE = shutil.which("node")
EXPECTED = {
    "golden vectors are bit-exact",
    "BYTES round trip",
    "error codes and ErrorInfo reasons of the error table",
    "the inference example runs",
    "a paged List returns every version once",
    "numbers are little-endian, 64-bit integers bigints",
    "BYTES elements are framed with little-endian lengths",
    "half precision rounds to nearest, ties to even",
}


def _run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    assert NODE is not None, "Node.js is needed: the TypeScript client is part of the standard"
    return subprocess.run(  # noqa: PLW1510 - the caller reads the return code
        list(command),
        cwd=CLIENT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_every_typescript_test_passes_against_the_server(live):
    build = _run(str(CLIENT / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.json")
    assert build.returncode == 0, build.stdout + build.stderr
    # Named one by one: Node 21+ reads a directory argument as a glob.
    tests = sorted(str(p.relative_to(CLIENT)) for p in CLIENT.glob("dist/**/test/*.test.js"))
    assert tests, "tsc wrote no tests"
    run = _run(NODE, "--test", "--test-reporter=tap", *tests, env=live.environment())
    passed = set(re.findall(r"^ok \d+ - (.+)$", run.stdout, re.MULTILINE))
    failed = re.findall(r"^not ok \d+ - (.+)$", run.stdout, re.MULTILINE)
    assert run.returncode == 0 and not failed, run.stdout[-6000:] + run.stderr[-2000:]
    assert passed == EXPECTED
    assert re.search(r"^# skipped 0$", run.stdout, re.MULTILINE)

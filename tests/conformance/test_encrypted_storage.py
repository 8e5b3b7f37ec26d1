"""The encrypted-storage profile has teeth: the reference server with `--encryption-key-file`
is certified, the same server without it is not, and the mutant that serves tampered chunks
is caught by exactly the case expected. Each server runs under a supervisor
(support/restartable.py) the suite restarts with `--restart-command`."""

from __future__ import annotations

import secrets
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mutants import MUTANTS
from support.servers import SERVE, ServerProcess, start_server

from lepton_conformance.harness.case import Outcome
from lepton_conformance.harness.runner import Standing, run
from lepton_conformance.harness.target import TargetOptions

TESTS = Path(__file__).resolve().parents[1]
RESTARTABLE = str(TESTS / "support" / "restartable.py")
MUTANT_LAUNCHER = [sys.executable, str(TESTS / "mutants" / "serve.py")]
PROFILE = "encrypted-storage"
CASES = {
    f"{PROFILE}.no-plaintext-at-rest",
    f"{PROFILE}.reads-back-after-restart",
    f"{PROFILE}.tampered-data-is-not-served",
}


def _key_file(path: Path) -> Path:
    path.write_text(f"k1 {secrets.token_hex(32)}\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def restartable(tmp_path) -> Iterator[Callable[..., TargetOptions]]:
    """Starts a supervised data server (its data directory the storage the suite is given);
    the options of a run against it."""
    started: list[ServerProcess] = []

    def start(*args: str, launcher: list[str] = SERVE) -> TargetOptions:
        state = tmp_path / f"supervisor-{len(started)}"
        data_dir = tmp_path / f"data-{len(started)}"
        supervised = [sys.executable, RESTARTABLE, "supervise", str(state), "--", *launcher]
        server = start_server(["--services", "data", *args], data_dir, launcher=supervised)
        started.append(server)
        command = shlex.join([sys.executable, RESTARTABLE, "restart", str(state)])
        return TargetOptions(server.address, storage_dir=data_dir, restart_command=command)

    yield start
    for server in started:
        server.stop()


def _outcomes(options: TargetOptions) -> tuple[dict[str, Outcome], Standing]:
    result = run(options, profiles=[PROFILE])
    (verdict,) = result.verdicts
    return {r.case.id: r.outcome for r in result.results}, verdict.standing


def test_the_reference_server_with_a_key_file_is_certified(restartable, tmp_path):
    options = restartable("--encryption-key-file", str(_key_file(tmp_path / "keys")))
    outcomes, standing = _outcomes(options)
    assert outcomes == dict.fromkeys(CASES, Outcome.PASS)
    assert standing is Standing.CERTIFIED


def test_the_reference_server_without_encryption_is_not(restartable):
    outcomes, standing = _outcomes(restartable())
    assert outcomes == {
        f"{PROFILE}.no-plaintext-at-rest": Outcome.FAIL,
        f"{PROFILE}.reads-back-after-restart": Outcome.PASS,
        f"{PROFILE}.tampered-data-is-not-served": Outcome.FAIL,
    }
    assert standing is Standing.NOT_CERTIFIED


def test_the_profile_runs_only_when_given_the_storage(restartable, tmp_path):
    options = restartable("--encryption-key-file", str(_key_file(tmp_path / "keys")))
    result = run(TargetOptions(options.address), profiles=["general"])
    assert PROFILE not in {r.case.profile for r in result.results}


@pytest.mark.parametrize("name", sorted(n for n, m in MUTANTS.items() if PROFILE in m.profiles))
def test_mutant_is_caught_by_exactly_the_expected_cases(restartable, tmp_path, name):
    mutant = MUTANTS[name]
    options = restartable(
        "--encryption-key-file",
        str(_key_file(tmp_path / "keys")),
        launcher=[*MUTANT_LAUNCHER, name],
    )
    outcomes, standing = _outcomes(options)
    failed = {case for case, outcome in outcomes.items() if outcome is Outcome.FAIL}
    assert failed == mutant.caught_by, mutant.breaks
    assert standing is Standing.NOT_CERTIFIED

"""The edge-agent profile has teeth: the reference agent (`lepton agent`) passes it, every
agent mutant is caught by exactly the cases expected, and a run names what it certifies."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mutants import MUTANTS
from support.conformance_cli import conformance_cli

from lepton_conformance.harness import catalog
from lepton_conformance.harness.case import Outcome
from lepton_conformance.harness.runner import Standing, run
from lepton_conformance.harness.target import TargetOptions, free_loopback_address

AGENT_ARGUMENTS = (
    "agent --fleet {fleet} --state-dir {state_dir} --serve {serve} --trust-roots {trust_roots} "
    "--bootstrap-token {bootstrap_token} --device-id {device_id}"
)
REFERENCE = f"{sys.executable} -m lepton_server.cli {AGENT_ARGUMENTS}"
MUTANT_LAUNCHER = Path(__file__).resolve().parents[1] / "mutants" / "serve.py"
STUB = Path(__file__).resolve().parents[1] / "support" / "stub_server.py"
AGENT_MUTANTS = sorted(name for name, mutant in MUTANTS.items() if mutant.agent)
PROFILE = "edge-agent"


def _options(template: str) -> TargetOptions:
    return TargetOptions(free_loopback_address(), agent_command=template)


def _failed(result) -> set[str]:
    return {r.case.id for r in result.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)}


@pytest.mark.timeout(300)
def test_reference_agent_passes_the_edge_agent_profile():
    result = run(_options(REFERENCE))
    assert [v.profile for v in result.verdicts] == [PROFILE]
    assert _failed(result) == set()
    assert result.count(Outcome.SKIP) == 0
    assert len(result.results) == len([c for c in catalog.cases() if c.profile == PROFILE])
    assert result.verdicts[0].standing is Standing.CERTIFIED
    assert result.exit_status == 0


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", AGENT_MUTANTS)
def test_agent_mutant_is_caught_by_exactly_the_expected_cases(name):
    mutant = MUTANTS[name]
    assert mutant.profiles == [PROFILE]
    template = f"{sys.executable} {MUTANT_LAUNCHER} {name} {AGENT_ARGUMENTS}"
    result = run(_options(template), profiles=mutant.profiles)
    assert _failed(result) == mutant.caught_by, mutant.breaks
    must = {r.case.id for r in result.results if r.case.level == "MUST"}
    assert mutant.caught_by <= must
    assert result.exit_status == 1


def test_there_are_at_least_six_agent_mutants():
    assert len(AGENT_MUTANTS) >= 6


def test_a_server_run_never_chooses_the_agent_profile_and_says_why_when_named():
    result = run(TargetOptions(free_loopback_address()), profiles=[PROFILE])
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.NOT_CERTIFIED
    assert "--agent-command" in verdict.not_applicable
    assert {r.outcome for r in result.results} == {Outcome.SKIP}


def test_cli_run_needs_a_target_or_an_agent_command():
    completed = conformance_cli("run")
    assert completed.returncode == 2
    assert "--target or --agent-command" in completed.stdout


def test_cli_refuses_an_agent_command_with_an_unknown_placeholder():
    completed = conformance_cli("run", "--agent-command", "my-agent --fleet {fleet} --home {home}")
    assert completed.returncode == 2
    assert "home" in completed.stdout


@pytest.mark.timeout(300)
def test_cli_certifies_the_reference_agent_and_its_report_holds_up(tmp_path):
    completed = conformance_cli("run", "--agent-command", REFERENCE, "--report-dir", str(tmp_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert {name: p["verdict"] for name, p in results["summary"]["profiles"].items()} == {
        PROFILE: "CERTIFIED"
    }
    assert results["run"]["agent_command"] == REFERENCE
    assert "--agent-command" in results["run"]["command"]
    assert conformance_cli("verify", str(tmp_path)).returncode == 0


@pytest.mark.timeout(900)
def test_stub_agent_passes_under_ten_percent_of_the_edge_agent_profile():
    """An agent that serves empty OIP answers and never talks to the fleet."""
    result = run(_options(f"{sys.executable} {STUB} {{serve}}"))
    mine = [r for r in result.results if r.case.profile == PROFILE]
    passed = [r.case.id for r in mine if r.outcome == Outcome.PASS]
    assert mine and len(passed) / len(mine) < 0.10, passed
    assert result.verdicts[0].standing is not Standing.CERTIFIED
    assert result.exit_status == 1

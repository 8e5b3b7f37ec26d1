"""`lepton-conformance verify` re-checks a published report: complete, unaltered, and with the
verdicts its outcomes give."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_conformance.harness import catalog
from lepton_conformance.harness.case import CaseResult, Outcome
from lepton_conformance.harness.report import integrity_digest, write_reports
from lepton_conformance.harness.runner import RunResult, verdicts
from lepton_conformance.harness.target import TargetInfo, TargetOptions
from lepton_conformance.harness.verify import verify_reports

PROFILE = "inference-extended"


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """The reports of a run in which every case of one profile passed."""
    results = [CaseResult(c, Outcome.PASS) for c in catalog.cases() if c.profile == PROFILE]
    run = RunResult(TargetOptions("127.0.0.1:1", token="t"), TargetInfo(), results)
    run.verdicts = verdicts(results, [PROFILE], {PROFILE: None})
    write_reports(run, tmp_path)
    return tmp_path


def _edit(report: Path, change, *, redigest: bool) -> None:
    path = report / "results.json"
    document = json.loads(path.read_text())
    change(document)
    if redigest:
        document["integrity"]["sha256"] = integrity_digest(document)
    path.write_text(json.dumps(document, indent=2))


def _fail_first_case(document) -> None:
    document["cases"][0]["outcome"] = "FAIL"


def test_an_untouched_report_holds_up(report):
    assert verify_reports(report) == []


def test_an_edited_outcome_breaks_the_digest(report):
    _edit(report, _fail_first_case, redigest=False)
    assert any("results.json was altered" in p for p in verify_reports(report))


def test_an_edited_outcome_with_a_new_digest_breaks_the_counts_and_the_verdict(report):
    _edit(report, _fail_first_case, redigest=True)
    problems = verify_reports(report)
    assert not any("was altered" in p for p in problems)
    assert any("counts" in p for p in problems)
    assert any(f"{PROFILE}: the report says CERTIFIED" in p for p in problems)


def test_a_verdict_edited_to_certified_does_not_follow(report, tmp_path_factory):
    results = [CaseResult(c, Outcome.PASS) for c in catalog.cases() if c.profile == PROFILE]
    results[0] = CaseResult(results[0].case, Outcome.SKIP, needs="--token")
    run = RunResult(TargetOptions("127.0.0.1:1"), TargetInfo(), results)
    run.verdicts = verdicts(results, [PROFILE], {PROFILE: None})
    incomplete = tmp_path_factory.mktemp("incomplete")
    write_reports(run, incomplete)

    def certify(document) -> None:
        document["summary"]["profiles"][PROFILE]["verdict"] = "CERTIFIED"

    _edit(incomplete, certify, redigest=True)
    assert any("the outcomes give INCOMPLETE" in p for p in verify_reports(incomplete))


def test_a_dropped_case_is_missing(report):
    def drop(document) -> None:
        dropped = document["cases"].pop()
        document["summary"]["counts"][dropped["outcome"]] -= 1
        lines = "".join(
            f"{c['id']} {c['level']} {','.join(c['requirements'])}\n" for c in document["cases"]
        )
        document["run"]["case_set_sha256"] = hashlib.sha256(lines.encode()).hexdigest()

    _edit(report, drop, redigest=True)
    assert [p for p in verify_reports(report) if "is missing from the report" in p]


def test_an_edited_markdown_report_is_caught(report):
    path = report / "report.md"
    path.write_text(path.read_text().replace("INCOMPLETE", "CERTIFIED") + "\nall good\n")
    assert any("report.md was altered" in p for p in verify_reports(report))


def test_a_directory_without_the_three_files_is_rejected(tmp_path):
    assert verify_reports(tmp_path) == [f"{tmp_path} lacks results.json, junit.xml, report.md"]


def test_cli_verify_exits_zero_for_a_sound_report_and_one_for_an_edited_one(report):
    def verify() -> int:
        command = [sys.executable, "-m", "lepton_conformance.cli", "verify", str(report)]
        return subprocess.run(command, capture_output=True, check=False, timeout=120).returncode

    assert verify() == 0
    _edit(report, _fail_first_case, redigest=False)
    assert verify() == 1


@pytest.fixture
def failing_report(tmp_path_factory) -> Path:
    """The reports of a run in which one MUST case failed and the others passed."""
    results = [CaseResult(c, Outcome.PASS) for c in catalog.cases() if c.profile == PROFILE]
    results[0] = CaseResult(results[0].case, Outcome.FAIL, wanted="a", got="b")
    run = RunResult(TargetOptions("127.0.0.1:1", token="t"), TargetInfo(), results)
    run.verdicts = verdicts(results, [PROFILE], {PROFILE: None})
    directory = tmp_path_factory.mktemp("failing")
    write_reports(run, directory)
    return directory


def test_a_failure_marked_known_without_a_known_failing_entry_is_caught(failing_report):
    def excuse(document) -> None:
        failed = document["cases"][0]
        failed["expected_failure"] = True
        document["summary"]["profiles"][PROFILE]["expected_failures"] = [failed["id"]]
        document["summary"]["exit_status"] = 0

    assert verify_reports(failing_report) == []
    _edit(failing_report, excuse, redigest=True)
    problems = verify_reports(failing_report)
    assert any("the run's known-failing list lacks it" in p for p in problems)


def test_the_markdown_report_repeats_the_command_and_quotes_what_failed(failing_report):
    text = (failing_report / "report.md").read_text()
    command = json.loads((failing_report / "results.json").read_text())["run"]["command"]
    assert command == (
        f"lepton-conformance run --target 127.0.0.1:1 --token TOKEN --profile {PROFILE}"
    )
    assert f"```\n{command}\n```" in text
    failed = next(c for c in catalog.cases() if c.profile == PROFILE)
    first = failed.requirements[0]
    assert f"- **{first} (MUST)**, inference.md: " in text

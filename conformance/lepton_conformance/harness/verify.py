"""`lepton-conformance verify REPORT_DIR`: re-check a published report.

A report is accepted when it is complete (its three files, and for an unfiltered run every
case of each profile it judged), unaltered (results.json matches its own digest and the
digests it records of junit.xml and report.md), consistent (the counts and the case-set
digest follow from the listed cases) and fair (each profile's verdict and the exit status are
what the rules give for the listed outcomes). The digests catch edits, not forgery: a report
is only as trustworthy as the run that wrote it, which its `run` member lets anyone repeat."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from lepton_conformance import SUITE_VERSION
from lepton_conformance.harness import catalog
from lepton_conformance.harness.case import Case, CaseResult, Outcome
from lepton_conformance.harness.report import (
    JUNIT,
    MARKDOWN,
    RESULTS,
    case_set_digest,
    integrity_digest,
)
from lepton_conformance.harness.runner import RunResult, verdicts
from lepton_conformance.harness.target import TargetInfo, TargetOptions


def verify_reports(directory: Path) -> list[str]:
    """Every problem found with the report in `directory`; empty when it holds up."""
    missing = [name for name in (RESULTS, JUNIT, MARKDOWN) if not (directory / name).is_file()]
    if missing:
        return [f"{directory} lacks {', '.join(missing)}"]
    try:
        document = json.loads((directory / RESULTS).read_text(encoding="utf-8"))
        results = [_case_result(entry) for entry in document["cases"]]
        run, summary = document["run"], document["summary"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{RESULTS} is not a report of this suite: {exc!r}"]
    problems = _unaltered(directory, document)
    problems += _consistent(document, results)
    problems += _fair(run, summary, results)
    problems += _complete(document, run, results)
    return problems


def _case_result(entry: dict[str, Any]) -> CaseResult:
    case = Case(
        entry["id"],
        entry["profile"],
        tuple(entry["requirements"]),
        entry["level"],
        entry["title"],
        lambda _ctx: None,
    )
    return CaseResult(
        case,
        Outcome(entry["outcome"]),
        wanted=entry["wanted"],
        got=entry["got"],
        duration_s=entry["duration_s"],
        expected_failure=entry["expected_failure"],
        not_applicable_feature=entry["not_applicable_feature"],
        needs=entry["needs"],
        features=tuple(entry["features"]),
    )


def _unaltered(directory: Path, document: dict[str, Any]) -> list[str]:
    problems = []
    if document.get("integrity", {}).get("sha256") != integrity_digest(document):
        problems.append(f"{RESULTS} was altered after it was written: its digest does not match")
    for name, recorded in document.get("files", {}).items():
        if hashlib.sha256((directory / name).read_bytes()).hexdigest() != recorded:
            problems.append(f"{name} was altered after it was written: its sha256 differs")
    if set(document.get("files", {})) != {JUNIT, MARKDOWN}:
        problems.append(f"{RESULTS} does not record the digests of {JUNIT} and {MARKDOWN}")
    return problems


def _consistent(document: dict[str, Any], results: list[CaseResult]) -> list[str]:
    problems = []
    counts = Counter(r.outcome.value for r in results)
    stated = document["summary"]["counts"]
    if any(stated.get(o.value, 0) != counts.get(o.value, 0) for o in Outcome):
        problems.append(f"the counts {stated} do not follow from the cases ({dict(counts)})")
    if case_set_digest(results) != document["run"]["case_set_sha256"]:
        problems.append("the case-set digest does not match the cases listed")
    # A failure counts as known only when the known-failing list the run was given names it.
    listed = {entry["case"] for entry in document["run"].get("known_failing", [])}
    problems += [
        f"{r.case.id} is marked as a known failure, but the run's known-failing list lacks it"
        for r in results
        if r.expected_failure and r.case.id not in listed
    ]
    return problems


def _fair(run: dict[str, Any], summary: dict[str, Any], results: list[CaseResult]) -> list[str]:
    stated = summary["profiles"]
    applicability = {name: p["not_applicable"] or None for name, p in stated.items()}
    recomputed = verdicts(
        results, list(stated), applicability, filtered=run["case_filter"] is not None
    )
    problems = [
        f"{v.profile}: the report says {stated[v.profile]['verdict']}, the outcomes give "
        f"{v.standing.value}"
        for v in recomputed
        if stated[v.profile]["verdict"] != v.standing.value
    ]
    again = RunResult(TargetOptions("-"), TargetInfo(), results, verdicts=recomputed)
    again.known_failing_problems = list(summary["known_failing_problems"])
    if summary["exit_status"] != again.exit_status:
        problems.append(
            f"the exit status {summary['exit_status']} does not follow from the outcomes "
            f"({again.exit_status})"
        )
    return problems


def _complete(
    document: dict[str, Any], run: dict[str, Any], results: list[CaseResult]
) -> list[str]:
    if document["suite_version"] != SUITE_VERSION:
        return [
            f"the report was made by suite {document['suite_version']}; this is "
            f"{SUITE_VERSION}: verify it with the suite that made it"
        ]
    if run["case_filter"] is not None:
        return []  # a filtered run claims no certificate (its verdicts say INCOMPLETE)
    listed = {r.case.id for r in results}
    problems = []
    for case in catalog.cases():
        if case.profile in run["profiles"] and case.id not in listed:
            problems.append(f"{case.id} of profile {case.profile} is missing from the report")
    return problems

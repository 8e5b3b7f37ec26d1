"""Reports of a run: results.json, junit.xml and report.md (a readable certificate)."""

from __future__ import annotations

import datetime
import hashlib
import json
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lepton_conformance import SPEC_VERSION, SUITE_VERSION
from lepton_conformance.harness.case import CaseResult, Outcome
from lepton_conformance.harness.requirements import load_requirements
from lepton_conformance.harness.runner import RunResult, Verdict
from lepton_conformance.harness.target import DEFAULT_TIMEOUT_S, TargetOptions


def case_set_digest(results: Sequence[CaseResult]) -> str:
    """sha256 over the cases that ran (ID, level, requirements, one line each, in run order):
    two reports with the same digest ran the same checks."""
    lines = "".join(
        f"{r.case.id} {r.case.level} {','.join(r.case.requirements)}\n" for r in results
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def command_line(result: RunResult) -> str:
    """The `lepton-conformance run` command that repeats this run against the same address
    (the token, CA and key files as placeholders: a report never holds secrets or paths)."""
    target = result.target
    words = ["lepton-conformance", "run", "--target", target.address]
    if target.agent_command is not None:
        words += ["--agent-command", shlex.quote(target.agent_command)]
    if target.credentials() is not None:
        words += ["--tls", "--ca", "CA.pem"] if target.ca_file else ["--tls"]
        if target.cert_file:
            words += ["--cert", "CLIENT.pem", "--key", "CLIENT.key"]
    words += _token_placeholders(target)
    if target.metrics_url is not None:
        words += ["--metrics-url", target.metrics_url]
    for verdict in result.verdicts:
        words += ["--profile", verdict.profile]
    if result.case_pattern is not None:
        words += ["--case", shlex.quote(result.case_pattern)]
    if target.message_limit is not None:
        words += ["--message-limit", str(target.message_limit)]
    if target.file_root is not None:
        words += ["--file-root", target.file_root]
    if target.inference_service is not None:
        words += ["--inference-service", target.inference_service]
    for service in target.services:
        words += ["--service", service]
    if target.timeout_s != DEFAULT_TIMEOUT_S:
        words += ["--timeout", f"{target.timeout_s:g}"]
    if result.known_failing:
        words += ["--known-failing", "KNOWN-FAILING.txt"]
    return " ".join(words)


def _token_placeholders(target: TargetOptions) -> list[str]:
    """Placeholders of the token options (and the storage options) the run was given."""
    words = ["--token", "TOKEN"] if target.token is not None else []
    for number in range(1, len(target.annotator_tokens) + 1):
        words += ["--annotator-token", f"ANNOTATOR-TOKEN-{number}"]
    if target.reader_token is not None:
        words += ["--reader-token", "READER-TOKEN"]
    if target.other_tenant_token is not None:
        words += ["--other-tenant-token", "OTHER-TENANT-TOKEN"]
    # A local path and a command: the run's machine's, not the report's to show.
    if target.storage_dir is not None:
        words += ["--storage-dir", "STORAGE-DIR"]
    if target.restart_command is not None:
        words += ["--restart-command", "RESTART-COMMAND"]
    return words


def run_settings(result: RunResult) -> dict[str, Any]:
    """What the run was given, so it can be reproduced and judged (never the token itself)."""
    target = result.target
    return {
        "command": command_line(result),
        "profiles": [v.profile for v in result.verdicts],
        "case_filter": result.case_pattern,
        "token_given": target.token is not None,
        "annotator_tokens_given": len(target.annotator_tokens),
        "reader_token_given": target.reader_token is not None,
        "other_tenant_token_given": target.other_tenant_token is not None,
        "metrics_url": target.metrics_url,
        "storage_dir_given": target.storage_dir is not None,
        "restart_command_given": target.restart_command is not None,
        "message_limit": target.message_limit,
        "file_root": target.file_root,
        "inference_service": target.inference_service,
        "services": list(target.services),
        "agent_command": target.agent_command,
        "timeout_s": target.timeout_s,
        "case_set_sha256": case_set_digest(result.results),
        "known_failing": [{"case": k.case_id, "message": k.message} for k in result.known_failing],
    }


def profile_summary(v: Verdict) -> dict[str, Any]:
    """One profile's verdict as results.json states it."""
    return {
        "verdict": v.standing.value,
        "must_failures": list(v.must_failures),
        "should_failures": list(v.should_failures),
        "expected_failures": list(v.expected_failures),
        "not_applicable": v.not_applicable,
        "missing": [{"case": case, "needs": needs} for case, needs in v.missing],
        "filtered": v.filtered,
        "features_covered": list(v.covered),
        "features_not_covered": list(v.uncovered),
    }


def as_json(result: RunResult) -> dict[str, Any]:
    """The results.json document."""
    server = result.info.server_info
    return {
        "suite_version": SUITE_VERSION,
        "spec_version": SPEC_VERSION,
        "target": {
            "address": result.target.address,
            "tls": result.target.credentials() is not None,
            "server_name": server.server_name if server else "",
            "server_version": server.server_version if server else "",
            "server_spec_version": server.spec_version if server else "",
        },
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "run": run_settings(result),
        "discovery": result.info.to_json(),
        "summary": {
            "counts": {o.value: result.count(o) for o in Outcome},
            "profiles": {v.profile: profile_summary(v) for v in result.verdicts},
            "known_failing_problems": result.known_failing_problems,
            "exit_status": result.exit_status,
        },
        "cases": [
            {
                "id": r.case.id,
                "profile": r.case.profile,
                "title": r.case.title,
                "requirements": list(r.case.requirements),
                "level": r.case.level,
                "outcome": r.outcome.value,
                "expected_failure": r.expected_failure,
                "not_applicable_feature": r.not_applicable_feature,
                "needs": r.needs,
                "features": list(r.features),
                "wanted": r.wanted,
                "got": r.got,
                "duration_s": r.duration_s,
            }
            for r in result.results
        ],
    }


def as_junit(result: RunResult) -> ET.ElementTree:
    """One testsuite per profile, one testcase per case (SKIP as skipped, ERROR as error)."""
    suites = ET.Element("testsuites", name="lepton-conformance")
    for verdict in result.verdicts:
        mine = [r for r in result.results if r.case.profile == verdict.profile]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=verdict.profile,
            tests=str(len(mine)),
            failures=str(sum(r.outcome == Outcome.FAIL for r in mine)),
            errors=str(sum(r.outcome == Outcome.ERROR for r in mine)),
            skipped=str(sum(r.outcome == Outcome.SKIP for r in mine)),
            time=f"{sum(r.duration_s for r in mine):.3f}",
        )
        for r in mine:
            testcase = ET.SubElement(
                suite,
                "testcase",
                classname=verdict.profile,
                name=r.case.id,
                time=f"{r.duration_s:.3f}",
            )
            properties = ET.SubElement(testcase, "properties")
            ET.SubElement(
                properties, "property", name="requirements", value=",".join(r.case.requirements)
            )
            ET.SubElement(properties, "property", name="level", value=r.case.level)
            if r.outcome == Outcome.FAIL:
                ET.SubElement(testcase, "failure", message=r.message).text = r.message
            elif r.outcome == Outcome.ERROR:
                ET.SubElement(testcase, "error", message=r.message).text = r.message
            elif r.outcome == Outcome.SKIP:
                ET.SubElement(testcase, "skipped", message=r.got)
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    return tree


def as_markdown(result: RunResult) -> str:
    """report.md: the verdict table, then every case that did not pass."""
    data = as_json(result)
    target = data["target"]
    lines = [
        "# Lepton conformance report",
        "",
        f"- Target: `{target['address']}`"
        + (
            f" — {target['server_name']} {target['server_version']}"
            if target["server_name"]
            else ""
        ),
        f"- Suite {SUITE_VERSION}, standard {SPEC_VERSION}; run at {data['generated_at']}",
        "- Outcomes: " + ", ".join(f"{k} {v}" for k, v in data["summary"]["counts"].items()),
        "",
        "Repeat the run with:",
        "",
        "```",
        data["run"]["command"],
        "```",
        "",
        "| Profile | Verdict | MUST failures | SHOULD warnings |",
        "|---|---|---|---|",
    ]
    for v in result.verdicts:
        note = f" (does not apply: {v.not_applicable})" if v.not_applicable else ""
        lines.append(
            f"| {v.profile} | **{v.standing.value}**{note} | {len(v.must_failures)} "
            f"| {len(v.should_failures)} |"
        )
    if result.case_pattern is not None:
        lines += [
            "",
            f"This run was filtered with `--case {result.case_pattern}`: it is not a certificate.",
        ]
    coverage = [v for v in result.verdicts if v.covered or v.uncovered]
    if coverage:
        lines += ["", "## Optional features", "", "| Profile | Covered | Not covered |"]
        lines.append("|---|---|---|")
        lines += [
            f"| {v.profile} | {', '.join(v.covered) or '-'} | {', '.join(v.uncovered) or '-'} |"
            for v in coverage
        ]
    missing = [(v.profile, case, needs) for v in result.verdicts for case, needs in v.missing]
    if missing:
        lines += ["", "## MUST cases that did not run", "", "| Profile | Case | Needs |"]
        lines.append("|---|---|---|")
        lines += [f"| {p} | `{case}` | {_cell(needs) or '-'} |" for p, case, needs in missing]
    failed = [r for r in result.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
    if failed:
        lines += [
            "",
            "## Failures",
            "",
            "| Case | Level | Requirements | Outcome | Wanted | Got |",
            "|---|---|---|---|---|---|",
        ]
        for r in failed:
            tag = " (known)" if r.expected_failure else ""
            lines.append(
                f"| `{r.case.id}` | {r.case.level} | {', '.join(r.case.requirements)} "
                f"| {r.outcome.value}{tag} | {_cell(r.wanted)} | {_cell(r.got)} |"
            )
        lines += _requirements_broken(failed)
    if result.known_failing:
        lines += ["", "## Known failures", "", "| Case | Expected message |", "|---|---|"]
        lines += [f"| `{k.case_id}` | {_cell(k.message)} |" for k in result.known_failing]
    if result.known_failing_problems:
        lines += ["", "## Known-failing list problems", ""]
        lines += [f"- {p}" for p in result.known_failing_problems]
    skipped = [r for r in result.results if r.outcome == Outcome.SKIP]
    if skipped:
        lines += ["", "## Skipped", "", "| Case | Why |", "|---|---|"]
        lines += [f"| `{r.case.id}` | {_cell(r.got)} |" for r in skipped]
    return "\n".join(lines) + "\n"


def _requirements_broken(failed: Sequence[CaseResult]) -> list[str]:
    """The text of every requirement a failing case cites, so a reader sees what the server
    breaks without the spec at hand."""
    requirements = load_requirements()
    cited = dict.fromkeys(r for result in failed for r in result.case.requirements)
    lines = ["", "## What the failures break", ""]
    for requirement_id in cited:
        requirement = requirements.get(requirement_id)
        if requirement is not None:
            lines.append(
                f"- **{requirement.id} ({requirement.keyword})**, {requirement.source}: "
                f"{requirement.text}"
            )
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


RESULTS, JUNIT, MARKDOWN = "results.json", "junit.xml", "report.md"


def integrity_digest(document: dict[str, Any]) -> str:
    """sha256 of results.json's content without its `integrity` member, as canonical JSON
    (sorted keys, no white space, UTF-8): `lepton-conformance verify` recomputes it."""
    body = {key: value for key, value in document.items() if key != "integrity"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def write_reports(result: RunResult, directory: Path) -> list[Path]:
    """Write results.json, junit.xml and report.md into `directory`. results.json records
    the sha256 of the other two and, last, a digest of its own content."""
    directory.mkdir(parents=True, exist_ok=True)
    junit = ET.tostring(as_junit(result).getroot(), encoding="utf-8", xml_declaration=True)
    markdown = as_markdown(result).encode()
    document = as_json(result)
    document["files"] = {
        JUNIT: hashlib.sha256(junit).hexdigest(),
        MARKDOWN: hashlib.sha256(markdown).hexdigest(),
    }
    document["integrity"] = {"sha256": integrity_digest(document)}
    paths = [directory / RESULTS, directory / JUNIT, directory / MARKDOWN]
    paths[0].write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    paths[1].write_bytes(junit)
    paths[2].write_bytes(markdown)
    return paths

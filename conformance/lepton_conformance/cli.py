"""`lepton-conformance`: certify an implementation of the Lepton standard at an address.

    lepton-conformance run --target HOST:PORT [--tls] [--ca F] [--cert F --key F] [--token T]
                           [--annotator-token T ...] [--profile NAME ...] [--case REGEX]
                           [--known-failing FILE] [--report-dir DIR] [--message-limit BYTES]
                           [--file-root URI] [--inference-service oip|lepton] [--service NAME ...]
    lepton-conformance run --agent-command TEMPLATE [--target HOST:PORT] [--profile edge-agent]
                           [--case REGEX] [--known-failing FILE] [--report-dir DIR]
        certifies a device agent (the edge-agent profile): the suite plays its fleet server,
        starts, kills and restarts it with TEMPLATE, and calls its inference endpoint
    lepton-conformance verify REPORT_DIR   re-check a published report (exit 0 when it holds up)
    lepton-conformance list     profiles and cases with their requirement IDs
    lepton-conformance trace    every requirement of the spec and the cases that check it
    lepton-conformance models --out DIR   the conformance model set, for the target to load

`--annotator-token` (repeatable, with `--token`) gives the tokens of further principals, each
its own and none `--token`'s: the annotation-core cases that need several annotators call with
them (overlap and leases of two principals and reviews need 1 or 2, the agreement sets 3).
Without enough of them those cases do not run and the profile is INCOMPLETE.

`run` exits 0 when every selected profile is certified (or every MUST failure is listed in
the known-failing file, or the profile applies to nothing the target has), 1 when not, 2 when
the harness itself broke, 3 when nothing failed but a MUST case did not run (a token, a message
limit, a file root or annotator tokens were missing) or the run was filtered with --case:
INCOMPLETE, not a certificate.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from lepton_conformance import SPEC_VERSION, SUITE_VERSION
from lepton_conformance.harness import catalog, coverage, known_failing
from lepton_conformance.harness.case import Outcome
from lepton_conformance.harness.report import write_reports
from lepton_conformance.harness.requirements import load_requirements
from lepton_conformance.harness.runner import RunResult, Standing, Verdict, run
from lepton_conformance.harness.target import (
    DEFAULT_TIMEOUT_S,
    TargetOptions,
    free_loopback_address,
)
from lepton_conformance.harness.verify import verify_reports
from lepton_conformance.suites.edge.agent_process import check_template
from lepton_conformance.suites.inference.model_set import write_model_set

OUTCOME_STYLE = {"PASS": "green", "FAIL": "red", "SKIP": "yellow", "ERROR": "magenta"}
STANDING_STYLE = {
    Standing.CERTIFIED: "green",
    Standing.INCOMPLETE: "yellow",
    Standing.NOT_CERTIFIED: "red",
    Standing.NOT_APPLICABLE: "dim",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lepton-conformance",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {SUITE_VERSION} (spec {SPEC_VERSION})"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    runner = commands.add_parser("run", help="run the suite against a target")
    runner.add_argument(
        "--target",
        help="HOST:PORT of the implementation; with --agent-command, where the agent serves "
        "the Open Inference Protocol (default: a free loopback port)",
    )
    runner.add_argument(
        "--agent-command",
        metavar="TEMPLATE",
        help="certify a device agent instead of a server: the command that starts it, with the "
        "placeholders {fleet} (the suite's fleet server, HOST:PORT), {state_dir}, {serve} "
        "(--target), {trust_roots} (a JSON trust-root file), {bootstrap_token} and {device_id}, "
        'e.g. "lepton agent --fleet {fleet} --state-dir {state_dir} --serve {serve} '
        '--trust-roots {trust_roots} --bootstrap-token {bootstrap_token} --device-id {device_id}"',
    )
    runner.add_argument("--tls", action="store_true", help="connect with TLS")
    runner.add_argument("--ca", type=Path, help="CA certificate that signed the server's (PEM)")
    runner.add_argument("--cert", type=Path, help="client certificate for mutual TLS (PEM)")
    runner.add_argument("--key", type=Path, help="client private key for mutual TLS (PEM)")
    runner.add_argument("--token", help="bearer token; also enables the auth cases")
    runner.add_argument(
        "--annotator-token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="with --token: the bearer token of a further principal, distinct from every other "
        "token's (repeatable); annotation-core needs 3 for every case (agreement between "
        "annotators), 2 for overlap and leases, 1 for reviews",
    )
    runner.add_argument(
        "--profile", action="append", help="profile to run (repeatable; default: all that apply)"
    )
    runner.add_argument("--case", help="run only cases whose ID matches this regex")
    runner.add_argument("--known-failing", type=Path, help="file of cases expected to fail")
    runner.add_argument("--report-dir", type=Path, help="write results.json, junit.xml, report.md")
    runner.add_argument("--message-limit", type=int, help="the target's message size limit")
    runner.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="per-call deadline, seconds"
    )
    runner.add_argument(
        "--inference-service",
        choices=("oip", "lepton"),
        help="call inference as inference.GRPCInferenceService (oip) or "
        "lepton.inference.v1.InferenceService (default: whichever the target serves)",
    )
    runner.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="NAME",
        help="a service the target serves, by full name (repeatable), e.g. "
        "inference.GRPCInferenceService; needed only when neither reflection, DiscoveryService "
        "nor a probe call finds it",
    )
    runner.add_argument(
        "--file-root",
        metavar="URI",
        help="a file:// directory the target serves for import and export jobs (and whose "
        "parent it does not serve), e.g. file:///srv/conformance/; the suite writes below it",
    )

    runner.add_argument(
        "--metrics-url",
        metavar="URL",
        help="the target's Prometheus metrics, e.g. http://127.0.0.1:9090/metrics; runs the "
        "metrics profile",
    )

    runner.add_argument(
        "--reader-token",
        metavar="TOKEN",
        help="with --token: the bearer token of a principal that holds the reader role only; "
        "runs the roles profile",
    )
    runner.add_argument(
        "--other-tenant-token",
        metavar="TOKEN",
        help="with --token: the bearer token of a principal of another tenant, holding writer "
        "and admin there; runs the tenants profile",
    )
    runner.add_argument(
        "--storage-dir",
        type=Path,
        metavar="DIR",
        help="with --restart-command: the directory below which the target stores its data; "
        "the suite searches it for plaintext and alters stored bytes in it (use a test "
        "deployment); runs the encrypted-storage profile",
    )
    runner.add_argument(
        "--restart-command",
        metavar="COMMAND",
        help="a shell command that restarts the target on the same address and returns once "
        "the old process has stopped",
    )

    commands.add_parser("list", help="list profiles and cases with their requirement IDs")
    verifier = commands.add_parser(
        "verify", help="re-check a published report: complete, unaltered, verdicts that follow"
    )
    verifier.add_argument("report_dir", type=Path, help="directory of results.json and its files")
    models = commands.add_parser(
        "models", help="write the conformance model set for the target to load"
    )
    models.add_argument("--out", type=Path, required=True, help="model repository directory")
    tracer = commands.add_parser("trace", help="map every requirement to the cases checking it")
    tracer.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a MUST has no case and is not listed as pending",
    )
    return parser


def _list(console: Console) -> int:
    profiles = catalog.profiles()
    cases = catalog.cases()
    for name, profile in profiles.items():
        table = Table(title=f"{name}: {profile.title}", title_justify="left")
        for column in ("case", "level", "requirements", "checks"):
            table.add_column(column)
        for case in (c for c in cases if c.profile == name):
            table.add_row(case.id, case.level, ", ".join(case.requirements), case.title)
        console.print(table)
    console.print(f"{len(cases)} cases in {len(profiles)} profiles")
    return 0


def _trace(console: Console, check: bool) -> int:
    rows = coverage.trace(load_requirements(), catalog.cases())
    table = Table(title=f"Requirements of the standard {SPEC_VERSION}")
    for column in ("requirement", "level", "spec", "cases"):
        table.add_column(column)
    for row in rows:
        cases = ", ".join(row.cases) or (
            f"[yellow]pending: {row.pending}[/]" if row.pending else ""
        )
        if not cases and row.requirement.level == "MUST":
            cases = "[red]NO CASE[/]"
        table.add_row(row.requirement.id, row.requirement.level, row.requirement.source, cases)
    console.print(table)
    covered = sum(1 for r in rows if r.cases)
    console.print(
        f"{covered} of {len(rows)} requirements have cases; "
        f"{sum(1 for r in rows if r.pending)} MUSTs are pending"
    )
    problems = coverage.problems(rows)
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    return 1 if check and problems else 0


def _verdict_table(result: RunResult) -> Table:
    table = Table(title="Verdict")
    for column in ("profile", "verdict", "PASS", "FAIL", "SKIP", "ERROR"):
        table.add_column(column)
    for verdict in result.verdicts:
        mine = [r for r in result.results if r.case.profile == verdict.profile]
        counts = [str(sum(r.outcome == o for r in mine)) for o in Outcome]
        style = STANDING_STYLE[verdict.standing]
        table.add_row(verdict.profile, f"[{style}]{verdict.standing.value}[/]", *counts)
    return table


def _verify(console: Console, directory: Path) -> int:
    problems = verify_reports(directory)
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    if problems:
        console.print(
            f"[red]{directory}: the report does not hold up ({len(problems)} problems)[/]"
        )
        return 1
    console.print(f"[green]{directory}: complete, unaltered, and its verdicts follow[/]")
    return 0


def _why_incomplete(verdict: Verdict) -> str:
    reasons = ["the run was filtered with --case"] if verdict.filtered else []
    needs = Counter(what or "what their skip reasons name" for _, what in verdict.missing)
    reasons += [f"{count} MUST case(s) need {what}" for what, count in needs.items()]
    return "; ".join(reasons) or "no case ran"


def _run(console: Console, options: argparse.Namespace) -> int:
    if (options.cert is None) != (options.key is None):
        console.print("[red]--cert and --key go together[/]")
        return 2
    if options.annotator_token and options.token is None:
        console.print("[red]--annotator-token goes with --token[/]")
        return 2
    if options.target is None and options.agent_command is None:
        console.print("[red]run needs --target or --agent-command[/]")
        return 2
    if options.agent_command is not None:
        check_template(options.agent_command)
    target = TargetOptions(
        address=options.target or free_loopback_address(),
        tls=options.tls,
        ca_file=options.ca,
        cert_file=options.cert,
        key_file=options.key,
        token=options.token,
        annotator_tokens=tuple(options.annotator_token),
        timeout_s=options.timeout,
        message_limit=options.message_limit,
        inference_service=options.inference_service,
        file_root=options.file_root,
        services=tuple(options.service),
        agent_command=options.agent_command,
        metrics_url=options.metrics_url,
        reader_token=options.reader_token,
        other_tenant_token=options.other_tenant_token,
        storage_dir=options.storage_dir,
        restart_command=options.restart_command,
    )
    known = {}
    if options.known_failing is not None:
        known = known_failing.parse(options.known_failing, (c.id for c in catalog.cases()))
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        console=console,
        transient=True,
    ) as progress:
        subject = options.agent_command if options.agent_command else options.target
        task = progress.add_task(f"certifying {subject}", total=None, last="")
        result = run(
            target,
            profiles=options.profile,
            case_pattern=options.case,
            on_start=lambda total: progress.update(task, total=total),
            on_result=lambda r: progress.update(task, advance=1, last=r.case.id),
            known_failing=known,
        )
    for r in result.results:
        if r.outcome in (Outcome.FAIL, Outcome.ERROR):
            tag = " (known)" if r.expected_failure else ""
            console.print(
                f"[{OUTCOME_STYLE[r.outcome.value]}]{r.outcome.value}{tag}[/] {r.case.id} "
                f"({r.case.level}; {', '.join(r.case.requirements)}): {r.message}"
            )
    for problem in result.known_failing_problems:
        console.print(f"[red]known-failing:[/] {problem}")
    console.print(_verdict_table(result))
    for verdict in result.verdicts:
        if verdict.standing is Standing.INCOMPLETE:
            console.print(f"[yellow]{verdict.profile} is INCOMPLETE[/]: {_why_incomplete(verdict)}")
    if options.report_dir is not None:
        for path in write_reports(result, options.report_dir):
            console.print(f"wrote {path}")
    return result.exit_status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lepton-conformance` console script."""
    options = _parser().parse_args(argv)
    console = Console()
    try:
        if options.command == "list":
            return _list(console)
        if options.command == "trace":
            return _trace(console, options.check)
        if options.command == "models":
            written = write_model_set(options.out)
            console.print(f"wrote {len(written)} model files under {options.out}")
            return 0
        if options.command == "verify":
            return _verify(console, options.report_dir)
        return _run(console, options)
    except (known_failing.KnownFailingError, ValueError) as exc:
        console.print(f"[red]lepton-conformance: {exc}[/]")
        return 2


if __name__ == "__main__":
    sys.exit(main())

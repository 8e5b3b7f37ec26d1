"""Runs the selected cases against a target and decides a verdict per profile."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc

from lepton_conformance.harness import catalog
from lepton_conformance.harness.case import Case, CaseResult, Failed, Outcome, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import discover
from lepton_conformance.harness.expect import describe
from lepton_conformance.harness.known_failing import KnownFailure, reconcile
from lepton_conformance.harness.target import TargetInfo, TargetOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """A profile's verdict: certified when no MUST case failed or errored and the profile
    applies to the target."""

    profile: str
    certified: bool
    must_failures: tuple[str, ...]
    should_failures: tuple[str, ...]
    not_applicable: str = ""
    expected_failures: tuple[str, ...] = ()


@dataclass
class RunResult:
    """Everything one run produced."""

    target: TargetOptions
    info: TargetInfo
    results: list[CaseResult]
    verdicts: list[Verdict] = field(default_factory=list)
    known_failing_problems: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def exit_status(self) -> int:
        """0 certified (or every MUST failure known), 1 not, 2 the harness broke."""
        if self.count(Outcome.ERROR):
            return 2
        if self.known_failing_problems:
            return 1
        unexpected = [
            v
            for v in self.verdicts
            if not v.certified
            and (v.not_applicable or set(v.must_failures) - set(v.expected_failures))
        ]
        return 1 if unexpected else 0


def select(
    all_cases: Sequence[Case], profiles: Sequence[str] | None, case_pattern: str | None
) -> list[Case]:
    """Cases of the named profiles (all when None) whose IDs match `case_pattern`."""
    pattern = re.compile(case_pattern) if case_pattern else None
    return [
        c
        for c in all_cases
        if (profiles is None or c.profile in profiles) and (pattern is None or pattern.search(c.id))
    ]


def run_case(case: Case, ctx: CaseContext) -> CaseResult:
    """Run one case body and classify how it ended."""
    started = time.monotonic()

    def result(outcome: Outcome, wanted: str = "", got: str = "") -> CaseResult:
        return CaseResult(case, outcome, wanted, got, round(time.monotonic() - started, 3))

    try:
        case.body(ctx)
    except Failed as failure:
        return result(Outcome.FAIL, failure.wanted, failure.got)
    except Skipped as skip:
        return result(Outcome.SKIP, got=str(skip))
    except grpc.RpcError as error:
        # A call the case expected to work failed in a way the case did not anticipate.
        return result(Outcome.FAIL, "the call to succeed", describe(error))
    except Exception as exc:
        log.exception("case %s broke", case.id)
        return result(Outcome.ERROR, "the harness to run the case", f"{type(exc).__name__}: {exc}")
    return result(Outcome.PASS)


def run(
    options: TargetOptions,
    *,
    profiles: Sequence[str] | None = None,
    case_pattern: str | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    known_failing: dict[str, KnownFailure] | None = None,
) -> RunResult:
    """Discover the target, run the selected cases in order and compute verdicts.

    With `profiles` None, every profile that applies to the target runs."""
    known_profiles = catalog.profiles()
    unknown = sorted(set(profiles or ()) - set(known_profiles))
    if unknown:
        raise ValueError(f"unknown profile(s): {', '.join(unknown)}")
    with options.open_channel() as channel:
        info = discover(channel, options)
        applicability = {name: p.applies(info) for name, p in known_profiles.items()}
        chosen = (
            list(profiles) if profiles else [n for n, why in applicability.items() if why is None]
        )
        cases = select(catalog.cases(), chosen, case_pattern)
        if on_start is not None:
            on_start(len(cases))
        ctx = CaseContext(options, info, channel)
        results: list[CaseResult] = []
        for case in cases:
            reason = applicability[case.profile]
            if reason is not None:
                outcome = CaseResult(case, Outcome.SKIP, got=f"profile does not apply: {reason}")
            else:
                outcome = run_case(case, ctx)
            results.append(outcome)
            if on_result is not None:
                on_result(outcome)
    run_result = RunResult(options, info, results)
    if known_failing:
        run_result.results, run_result.known_failing_problems = reconcile(results, known_failing)
    run_result.verdicts = verdicts(run_result.results, chosen, applicability)
    return run_result


def verdicts(
    results: Sequence[CaseResult], chosen: Sequence[str], applicability: dict[str, str | None]
) -> list[Verdict]:
    """One verdict per chosen profile."""
    out: list[Verdict] = []
    for name in chosen:
        mine = [r for r in results if r.case.profile == name]
        bad = [r for r in mine if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
        must = tuple(r.case.id for r in bad if r.case.level == "MUST")
        should = tuple(r.case.id for r in bad if r.case.level != "MUST")
        expected = tuple(r.case.id for r in bad if r.expected_failure)
        not_applicable = applicability.get(name) or ""
        out.append(
            Verdict(name, not must and not not_applicable, must, should, not_applicable, expected)
        )
    return out

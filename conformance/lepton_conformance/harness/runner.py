"""Runs the selected cases against a target and decides a verdict per profile."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc

from lepton_conformance.harness import catalog
from lepton_conformance.harness.case import (
    Case,
    CaseResult,
    Failed,
    NotApplicable,
    Outcome,
    Skipped,
)
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import discover
from lepton_conformance.harness.expect import describe
from lepton_conformance.harness.known_failing import KnownFailure, reconcile
from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo, TargetOptions

log = logging.getLogger(__name__)
# Cases take turns on this many connections, so a target of several processes behind one
# address (one each connection lands on) is checked as the one server its clients see: what
# one case leaves behind, the next reads over another connection.
CONNECTIONS = 8


class Standing(str, enum.Enum):
    """What a run shows of a profile. Only CERTIFIED is a certificate."""

    CERTIFIED = "CERTIFIED"  # every MUST case that applies ran and passed (known failures aside)
    INCOMPLETE = "INCOMPLETE"  # no MUST case failed, but some did not run, or the run was filtered
    NOT_CERTIFIED = "NOT CERTIFIED"  # a MUST case failed, or the profile does not apply
    NOT_APPLICABLE = "NOT APPLICABLE"  # the target implements none of what the profile checks


@dataclass(frozen=True)
class Verdict:
    """A profile's verdict (spec/general.md, "What a conforming implementation is").

    CERTIFIED only when every MUST case ran and passed: a MUST case skipped for want of
    something the run could give (`missing`, each with what would run it) or a run filtered
    by case makes the profile INCOMPLETE. Cases about an optional feature the target lacks do
    not apply: `uncovered` names those features, `covered` the ones the profile checked."""

    profile: str
    standing: Standing
    must_failures: tuple[str, ...]
    should_failures: tuple[str, ...]
    not_applicable: str = ""
    expected_failures: tuple[str, ...] = ()
    # MUST cases that did not run, as (case id, what would run it).
    missing: tuple[tuple[str, str], ...] = ()
    filtered: bool = False
    covered: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()

    @property
    def certified(self) -> bool:
        return self.standing is Standing.CERTIFIED


@dataclass
class RunResult:
    """Everything one run produced."""

    target: TargetOptions
    info: TargetInfo
    results: list[CaseResult]
    verdicts: list[Verdict] = field(default_factory=list)
    known_failing_problems: list[str] = field(default_factory=list)
    # The --case regex the run was filtered with; a filtered run is never a certificate.
    case_pattern: str | None = None
    # The known-failing entries the run was given, in the order of the file.
    known_failing: tuple[KnownFailure, ...] = ()

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def exit_status(self) -> int:
        """0 certified (every MUST failure known, or the profile applies to nothing the
        target has), 1 not certified, 2 the harness broke, 3 incomplete: nothing failed, but
        the run could not certify every profile."""
        if self.count(Outcome.ERROR):
            return 2
        if self.known_failing_problems:
            return 1
        unexpected = [
            v
            for v in self.verdicts
            if v.standing is Standing.NOT_CERTIFIED
            and (v.not_applicable or set(v.must_failures) - set(v.expected_failures))
        ]
        if unexpected:
            return 1
        return 3 if any(v.standing is Standing.INCOMPLETE for v in self.verdicts) else 0


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

    def result(outcome: Outcome, wanted: str = "", got: str = "", **skip: str) -> CaseResult:
        duration = round(time.monotonic() - started, 3)
        return CaseResult(case, outcome, wanted, got, duration, **skip)

    try:
        case.body(ctx)
    except Failed as failure:
        return result(Outcome.FAIL, failure.wanted, failure.got)
    except NotApplicable as skip:
        return result(Outcome.SKIP, got=str(skip), not_applicable_feature=skip.feature)
    except Skipped as skip:
        return result(Outcome.SKIP, got=str(skip), needs=skip.needs)
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
    with contextlib.ExitStack() as opened:
        # A connection of its own each (channels to one address share one by default).
        channels = [
            opened.enter_context(options.open_channel([("grpc.use_local_subchannel_pool", 1)]))
            for _ in range(CONNECTIONS)
        ]
        channel = channels[0]
        # An agent run has nothing to discover: the agent starts only when a case starts it.
        info = TargetInfo() if options.agent_command else discover(channel, options)
        applicability = {name: applies(p, info, options) for name, p in known_profiles.items()}
        chosen = (
            list(profiles) if profiles else [n for n, why in applicability.items() if why is None]
        )
        cases = select(catalog.cases(), chosen, case_pattern)
        if on_start is not None:
            on_start(len(cases))
        ctx = CaseContext(options, info, channel)
        results: list[CaseResult] = []
        with ctx.closing:
            _run_cases(cases, ctx, applicability, results, on_result, channels=channels)
    run_result = RunResult(
        options,
        info,
        results,
        case_pattern=case_pattern,
        known_failing=tuple((known_failing or {}).values()),
    )
    if known_failing:
        run_result.results, run_result.known_failing_problems = reconcile(results, known_failing)
    run_result.verdicts = verdicts(
        run_result.results, chosen, applicability, filtered=case_pattern is not None
    )
    return run_result


def applies(profile: Profile, info: TargetInfo, options: TargetOptions) -> str | None:
    """Why `profile` does not apply to this run's target, or None when it does: an agent
    profile needs a run given --agent-command, every other profile a server at --target."""
    if profile.agent and options.agent_command is None:
        return "it certifies a device agent: run it with --agent-command"
    if not profile.agent and options.agent_command is not None:
        return "it certifies a server at --target; this run certifies a device agent"
    if profile.requires is not None and (missing := profile.requires(options)) is not None:
        return missing
    return profile.applies(info)


def _run_cases(
    cases: Sequence[Case],
    ctx: CaseContext,
    applicability: dict[str, str | None],
    results: list[CaseResult],
    on_result: Callable[[CaseResult], None] | None,
    *,
    channels: Sequence[grpc.Channel],
) -> None:
    for index, case in enumerate(cases):
        ctx.channel = channels[index % len(channels)]
        reason = applicability[case.profile]
        if reason is not None:
            outcome = CaseResult(case, Outcome.SKIP, got=f"profile does not apply: {reason}")
        else:
            ctx.features_used.clear()
            outcome = dataclasses.replace(
                run_case(case, ctx), features=tuple(sorted(ctx.features_used))
            )
        results.append(outcome)
        if on_result is not None:
            on_result(outcome)


def verdicts(
    results: Sequence[CaseResult],
    chosen: Sequence[str],
    applicability: dict[str, str | None],
    *,
    filtered: bool = False,
) -> list[Verdict]:
    """One verdict per chosen profile."""
    return [
        _verdict(name, [r for r in results if r.case.profile == name], applicability, filtered)
        for name in chosen
    ]


def _verdict(
    name: str,
    mine: Sequence[CaseResult],
    applicability: dict[str, str | None],
    filtered: bool,
) -> Verdict:
    bad = [r for r in mine if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
    must = tuple(r.case.id for r in bad if r.case.level == "MUST")
    should = tuple(r.case.id for r in bad if r.case.level != "MUST")
    expected = tuple(r.case.id for r in bad if r.expected_failure)
    not_applicable = applicability.get(name) or ""
    missing = tuple((r.case.id, r.needs) for r in mine if r.missing and r.case.level == "MUST")
    uncovered = sorted({r.not_applicable_feature for r in mine if r.not_applicable_feature})
    applied = [r for r in mine if not r.not_applicable_feature]
    if must or not_applicable:
        standing = Standing.NOT_CERTIFIED
    elif mine and not applied:
        standing = Standing.NOT_APPLICABLE
    elif missing or filtered or not mine:
        standing = Standing.INCOMPLETE
    else:
        standing = Standing.CERTIFIED
    return Verdict(
        name,
        standing,
        must,
        should,
        not_applicable,
        expected,
        missing=missing,
        filtered=filtered,
        covered=tuple(sorted(_features_checked(applied))),
        uncovered=tuple(uncovered),
    )


def _features_checked(applied: Sequence[CaseResult]) -> set[str]:
    return {feature for r in applied for feature in r.features}

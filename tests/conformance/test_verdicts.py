"""A verdict cannot be earned by skipping (spec/general.md, "What a conforming implementation
is"): the rules, checked on outcomes made by hand."""

from __future__ import annotations

from lepton_conformance.harness.case import Case, CaseResult, Outcome
from lepton_conformance.harness.runner import RunResult, Standing, verdicts
from lepton_conformance.harness.target import TargetInfo, TargetOptions

PROFILE = "inference-extended"


def _case(number: int, level: str = "MUST") -> Case:
    return Case(f"{PROFILE}.case-{number}", PROFILE, ("INF-001",), level, "a case", lambda _: None)


def _passed(number: int, *features: str) -> CaseResult:
    return CaseResult(_case(number), Outcome.PASS, features=features)


def _missing(number: int, needs: str = "--token", level: str = "MUST") -> CaseResult:
    return CaseResult(_case(number, level), Outcome.SKIP, got="no --token given", needs=needs)


def _not_applicable(number: int, feature: str) -> CaseResult:
    return CaseResult(_case(number), Outcome.SKIP, got="not listed", not_applicable_feature=feature)


def _failed(number: int, level: str = "MUST") -> CaseResult:
    return CaseResult(_case(number, level), Outcome.FAIL, wanted="OK", got="INTERNAL")


def _verdict(*results: CaseResult, filtered: bool = False):
    (verdict,) = verdicts(results, [PROFILE], {PROFILE: None}, filtered=filtered)
    return verdict


def _exit_status(*results: CaseResult, filtered: bool = False) -> int:
    run = RunResult(TargetOptions("127.0.0.1:1"), TargetInfo(), list(results))
    run.verdicts = verdicts(results, [PROFILE], {PROFILE: None}, filtered=filtered)
    return run.exit_status


def test_every_must_case_ran_and_passed_is_certified():
    verdict = _verdict(_passed(1), _passed(2, "streaming"))
    assert verdict.standing is Standing.CERTIFIED
    assert verdict.certified
    assert verdict.covered == ("streaming",)
    assert _exit_status(_passed(1)) == 0


def test_a_profile_whose_must_cases_all_skipped_for_want_of_input_is_incomplete():
    verdict = _verdict(_missing(1), _missing(2, "--message-limit BYTES"))
    assert verdict.standing is Standing.INCOMPLETE
    assert not verdict.certified
    assert verdict.missing == (
        (f"{PROFILE}.case-1", "--token"),
        (f"{PROFILE}.case-2", "--message-limit BYTES"),
    )
    assert _exit_status(_missing(1), _missing(2)) == 3


def test_one_must_case_that_did_not_run_is_enough_to_be_incomplete():
    assert _verdict(_passed(1), _passed(2), _missing(3)).standing is Standing.INCOMPLETE


def test_a_should_case_that_did_not_run_leaves_the_certificate():
    verdict = _verdict(_passed(1), _missing(2, level="SHOULD"))
    assert verdict.standing is Standing.CERTIFIED
    assert verdict.missing == ()


def test_a_filtered_run_is_never_a_certificate():
    verdict = _verdict(_passed(1), _passed(2), filtered=True)
    assert verdict.standing is Standing.INCOMPLETE
    assert verdict.filtered
    assert _exit_status(_passed(1), filtered=True) == 3


def test_a_profile_with_no_case_in_the_run_is_incomplete():
    assert _verdict(filtered=True).standing is Standing.INCOMPLETE


def test_cases_about_a_feature_the_target_lacks_do_not_apply():
    verdict = _verdict(_passed(1), _not_applicable(2, "statistics"))
    assert verdict.standing is Standing.CERTIFIED
    assert verdict.uncovered == ("statistics",)


def test_a_profile_of_which_nothing_applies_is_not_applicable_not_certified():
    verdict = _verdict(_not_applicable(1, "streaming"), _not_applicable(2, "statistics"))
    assert verdict.standing is Standing.NOT_APPLICABLE
    assert not verdict.certified
    assert verdict.uncovered == ("statistics", "streaming")
    assert _exit_status(_not_applicable(1, "streaming")) == 0


def test_a_must_failure_is_not_certified_whatever_else_skipped():
    verdict = _verdict(_failed(1), _missing(2), _not_applicable(3, "streaming"))
    assert verdict.standing is Standing.NOT_CERTIFIED
    assert _exit_status(_failed(1), _missing(2)) == 1


def test_a_should_failure_alone_is_a_warning():
    verdict = _verdict(_passed(1), _failed(2, level="SHOULD"))
    assert verdict.standing is Standing.CERTIFIED
    assert verdict.should_failures == (f"{PROFILE}.case-2",)

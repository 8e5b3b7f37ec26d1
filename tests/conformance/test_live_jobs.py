"""A case that needs a job still running when it acts is never passed on a job that had ended
first: it tries longer jobs, and skips, with what it needed, when none stayed running."""

from __future__ import annotations

from lepton_conformance.harness import job_lifecycle
from lepton_conformance.harness.case import Case, Outcome
from lepton_conformance.harness.runner import run_case


def _case(ended_first: set[int], tried: list[int]) -> Case:
    def attempt(size: int) -> bool:
        tried.append(size)
        return size not in ended_first

    def body(_ctx) -> None:
        job_lifecycle.while_live((1, 4, 16), attempt, "the cancel reached it")

    return Case("data-core.test.live", "data-core", ("DAT-086",), "MUST", "live", body)


def test_a_case_whose_every_job_ended_first_is_skipped_with_what_it_needed():
    tried: list[int] = []
    result = run_case(_case({1, 4, 16}, tried), ctx=None)
    assert tried == [1, 4, 16]
    assert result.outcome == Outcome.SKIP
    assert result.missing
    assert "the cancel reached it" in result.got
    assert result.needs == "a job that is still running when the cancel reached it"


def test_the_first_job_caught_running_ends_the_tries_and_passes():
    tried: list[int] = []
    result = run_case(_case({1}, tried), ctx=None)
    assert tried == [1, 4]
    assert result.outcome == Outcome.PASS

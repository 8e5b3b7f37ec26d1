"""Known-failing lists: cases a vendor expects to fail, each with its expected message.

One entry per line: the case ID, whitespace, then text the failure message must contain.
Blank lines and lines starting with # are ignored. A listed case that passes, or fails with
another message, makes the run fail: the list must always tell the truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lepton_conformance.harness.case import CaseResult, Outcome


@dataclass(frozen=True)
class KnownFailure:
    """One entry: a case expected to fail with a message containing `message`."""

    case_id: str
    message: str


class KnownFailingError(ValueError):
    """The known-failing file is malformed or names cases the suite does not have."""


def parse(path: Path, case_ids: Iterable[str]) -> dict[str, KnownFailure]:
    """Read a known-failing file, checking every ID against the suite's cases."""
    known_ids = set(case_ids)
    entries: dict[str, KnownFailure] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        case_id, _, message = line.partition(" ")
        if not message.strip():
            raise KnownFailingError(f"{path}:{number}: {case_id} needs an expected message")
        if case_id not in known_ids:
            raise KnownFailingError(f"{path}:{number}: no case {case_id!r}")
        if case_id in entries:
            raise KnownFailingError(f"{path}:{number}: {case_id} is listed twice")
        entries[case_id] = KnownFailure(case_id, message.strip())
    return entries


def reconcile(
    results: list[CaseResult], known: dict[str, KnownFailure]
) -> tuple[list[CaseResult], list[str]]:
    """Mark expected failures; return the results and every way the list was wrong."""
    problems: list[str] = []
    marked: list[CaseResult] = []
    for result in results:
        entry = known.get(result.case.id)
        if entry is None:
            marked.append(result)
            continue
        if result.outcome == Outcome.PASS:
            problems.append(f"{result.case.id} is listed as known-failing but passed")
        elif result.outcome == Outcome.FAIL and entry.message not in result.message:
            problems.append(
                f"{result.case.id} failed differently: expected {entry.message!r}, "
                f"got {result.message!r}"
            )
        elif result.outcome == Outcome.FAIL:
            result = CaseResult(**{**result.__dict__, "expected_failure": True})
        marked.append(result)
    return marked, problems

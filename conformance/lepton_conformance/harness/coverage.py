"""Which requirements the suite checks, and which MUSTs still wait for cases.

`coverage_pending.txt` lists every MUST requirement that has no case yet, each with why
(its layer's profile does not exist yet, or it binds the contracts rather than a server).
The list is held honest both ways: a MUST without a case that is not listed, or a listed
requirement that has a case, is an error that the suite's own tests catch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from lepton_conformance.harness.case import Case
from lepton_conformance.harness.requirements import Requirement


@dataclass(frozen=True)
class Coverage:
    """One requirement and the cases that cite it; `pending` says why a MUST has none."""

    requirement: Requirement
    cases: tuple[str, ...]
    pending: str = ""


def pending_list() -> dict[str, str]:
    """The committed list of MUST requirements waiting for cases: ID -> why."""
    text = (resources.files("lepton_conformance") / "coverage_pending.txt").read_text()
    pending: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            requirement, _, why = line.partition(" ")
            pending[requirement] = why.strip()
    return pending


def trace(requirements: dict[str, Requirement], cases: list[Case]) -> list[Coverage]:
    """Every requirement with the IDs of the cases that check it, in spec order."""
    pending = pending_list()
    by_requirement: dict[str, list[str]] = {}
    for case in cases:
        for requirement in case.requirements:
            by_requirement.setdefault(requirement, []).append(case.id)
    return [
        Coverage(r, tuple(by_requirement.get(r.id, ())), pending.get(r.id, ""))
        for r in requirements.values()
    ]


def problems(rows: list[Coverage]) -> list[str]:
    """MUSTs without a case and not pending, and pending entries that do have cases."""
    found: list[str] = []
    known = {row.requirement.id for row in rows}
    for row in rows:
        if row.requirement.level == "MUST" and not row.cases and not row.pending:
            found.append(f"{row.requirement.id} (MUST) has no case and is not pending")
        if row.pending and row.cases:
            found.append(f"{row.requirement.id} is pending but has cases: {', '.join(row.cases)}")
    found += [
        f"{requirement} is pending but the spec does not define it"
        for requirement in pending_list()
        if requirement not in known
    ]
    return found

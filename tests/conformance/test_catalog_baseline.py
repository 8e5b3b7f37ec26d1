"""The suite keeps what it certified: a refactor or a new layer may add cases and mutants, but
never drops, renames or weakens one. `baseline/` holds the case list and each mutant's
caught-set as they were when the architecture for six layers landed (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

from mutants import MUTANTS

from lepton_conformance.harness import catalog

BASELINE = Path(__file__).parent / "baseline"


def _baseline(name: str):
    return json.loads((BASELINE / name).read_text())


def test_every_baseline_case_is_still_registered_unchanged() -> None:
    now = {
        case.id: {
            "id": case.id,
            "profile": case.profile,
            "level": case.level,
            "requirements": list(case.requirements),
        }
        for case in catalog.cases()
    }
    before = _baseline("cases.json")
    assert len(before) == 540
    missing = [case["id"] for case in before if case["id"] not in now]
    assert missing == []
    # A case may come to cite more requirements (it checks more); it never cites fewer.
    changed = [
        case["id"]
        for case in before
        if {**now[case["id"]], "requirements": None} != {**case, "requirements": None}
        or not set(case["requirements"]) <= set(now[case["id"]]["requirements"])
    ]
    assert changed == []


def test_baseline_cases_run_in_the_same_order() -> None:
    order = [case.id for case in catalog.cases()]
    before = [case["id"] for case in _baseline("cases.json")]
    assert [case_id for case_id in order if case_id in set(before)] == before


def test_every_baseline_mutant_keeps_its_caught_set() -> None:
    """Every case that caught a mutant still catches it. More may: a case added since (the
    `oip` profile's, for one), or a baseline case that a new layer or probe lets reach
    further."""
    before = _baseline("mutants.json")
    assert len(before) == 53
    assert sorted(set(before) - set(MUTANTS)) == []
    weakened = [
        name for name, caught in before.items() if not set(caught) <= MUTANTS[name].caught_by
    ]
    assert weakened == []

"""What a conformance case is, and how one ends."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lepton_conformance.harness.context import CaseContext


class Outcome(str, enum.Enum):
    """How a case ended. Never mixed: a case has exactly one outcome."""

    PASS = "PASS"  # the target did what the requirements say
    FAIL = "FAIL"  # the target broke a requirement
    SKIP = "SKIP"  # the target says it lacks the optional feature the case needs
    ERROR = "ERROR"  # the harness itself broke; says nothing about the target


class Failed(Exception):
    """Raised by a case when the target broke a requirement: what was wanted, what came."""

    def __init__(self, wanted: str, got: str) -> None:
        super().__init__(f"wanted {wanted}; got {got}")
        self.wanted = wanted
        self.got = got


class Skipped(Exception):
    """Raised by a case when the target lacks an optional feature the case needs."""


@dataclass(frozen=True)
class Case:
    """One check: an ID, the profile it belongs to, the requirements it cites and its body.

    `level` is the strongest level among the cited requirements (MUST > SHOULD > MAY)."""

    id: str
    profile: str
    requirements: tuple[str, ...]
    level: str
    title: str
    body: Callable[[CaseContext], None]


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case against one target."""

    case: Case
    outcome: Outcome
    wanted: str = ""
    got: str = ""
    duration_s: float = 0.0
    expected_failure: bool = False

    @property
    def message(self) -> str:
        if self.outcome in (Outcome.FAIL, Outcome.ERROR) and self.wanted:
            return f"wanted {self.wanted}; got {self.got}"
        return self.got

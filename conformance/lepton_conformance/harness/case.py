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
    """Raised by a case that this run could not carry out because the run lacked something
    the suite needs from whoever runs it (a token, a message limit, a file root). `needs`
    names what would run the case, e.g. "--token". A MUST case skipped so leaves its profile
    INCOMPLETE: nothing was shown either way."""

    def __init__(self, reason: str, needs: str = "") -> None:
        super().__init__(reason)
        self.needs = needs


class NotApplicable(Skipped):
    """Raised by a case whose subject the target does not have: an optional service or
    feature it does not implement (`feature`). The case does not apply; the certificate names
    the feature among those it does not cover."""

    def __init__(self, reason: str, feature: str) -> None:
        super().__init__(reason)
        self.feature = feature


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
    # For a SKIP: the optional feature the target lacks (the case does not apply), or else
    # what the run lacked (`needs`, e.g. "--token"; the case is missing from the run).
    not_applicable_feature: str = ""
    needs: str = ""
    # The optional features the case checked (found on the target).
    features: tuple[str, ...] = ()

    @property
    def missing(self) -> bool:
        """A SKIP for want of something the run could have given: the case should have run."""
        return self.outcome == Outcome.SKIP and not self.not_applicable_feature

    @property
    def message(self) -> str:
        if self.outcome in (Outcome.FAIL, Outcome.ERROR) and self.wanted:
            return f"wanted {self.wanted}; got {self.got}"
        return self.got

"""What a suite declares: its profiles and, in run order, the cases each of its modules defines.

A case module holds one `CaseList` and registers its cases into it; its suite names the lists
in the order they run (suites/__init__.py names the suites). Nothing is registered globally."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.target import TargetInfo

CaseBody = Callable[[CaseContext], None]


@dataclass(frozen=True)
class Profile:
    """A named group of cases. `applies` says why the profile does not apply to a target
    (it lacks the service or the optional feature), or None when it does."""

    name: str
    title: str
    applies: Callable[[TargetInfo], str | None]


@dataclass(frozen=True)
class Registration:
    """One case as its module registered it, before the catalog checks it against the spec."""

    profile: str
    id: str
    requirements: tuple[str, ...]
    title: str
    body: CaseBody


class CaseList:
    """The cases of one module, in the order the module registers them."""

    def __init__(self) -> None:
        self.registrations: list[Registration] = []

    def case(self, of: Profile, case_id: str, *requirements: str) -> Callable[[CaseBody], CaseBody]:
        """Register the decorated function as case `<profile>.<case_id>` checking
        `requirements`. Its docstring's first line is the case's title."""

        def register(body: CaseBody) -> CaseBody:
            title = (body.__doc__ or body.__name__).strip().splitlines()[0]
            full_id = f"{of.name}.{case_id}"
            self.registrations.append(Registration(of.name, full_id, requirements, title, body))
            return body

        return register


@dataclass(frozen=True)
class Suite:
    """One layer's share of the suite: its profiles, and its modules' case lists in run order.
    Every case of a list belongs to one of `profiles`."""

    name: str
    profiles: tuple[Profile, ...]
    case_lists: tuple[CaseList, ...]

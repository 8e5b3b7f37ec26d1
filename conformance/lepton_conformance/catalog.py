"""Profiles and the cases that belong to them, registered by the profile modules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lepton_conformance.case import Case
from lepton_conformance.context import CaseContext
from lepton_conformance.requirements import LEVELS, Requirement, load_requirements
from lepton_conformance.target import TargetInfo

CASE_ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


@dataclass(frozen=True)
class Profile:
    """A named group of cases. `applies` says why the profile does not apply to a target
    (it lacks the service or the optional feature), or None when it does."""

    name: str
    title: str
    applies: Callable[[TargetInfo], str | None]


@dataclass(frozen=True)
class _Registration:
    profile: str
    id: str
    requirements: tuple[str, ...]
    title: str
    body: Callable[[CaseContext], None]


class CatalogError(ValueError):
    """A case is registered wrongly: bad ID, duplicate, or a requirement the spec lacks."""


_PROFILES: dict[str, Profile] = {}
_REGISTRATIONS: list[_Registration] = []


def profile(name: str, title: str, applies: Callable[[TargetInfo], str | None]) -> Profile:
    """Register a profile."""
    if name in _PROFILES:
        raise CatalogError(f"profile {name} registered twice")
    _PROFILES[name] = Profile(name, title, applies)
    return _PROFILES[name]


def case(
    of: Profile, case_id: str, *requirements: str
) -> Callable[[Callable[[CaseContext], None]], Callable[[CaseContext], None]]:
    """Register the decorated function as case `<profile>.<case_id>` checking `requirements`.
    Its docstring's first line is the case's title."""

    def register(body: Callable[[CaseContext], None]) -> Callable[[CaseContext], None]:
        title = (body.__doc__ or body.__name__).strip().splitlines()[0]
        full_id = f"{of.name}.{case_id}"
        _REGISTRATIONS.append(_Registration(of.name, full_id, requirements, title, body))
        return body

    return register


def profiles() -> dict[str, Profile]:
    """Every registered profile by name, in registration order."""
    _load_profile_modules()
    return dict(_PROFILES)


def cases(spec_dir: Path | None = None) -> list[Case]:
    """Every registered case, with its level taken from the requirements it cites."""
    _load_profile_modules()
    requirements = load_requirements(spec_dir)
    built: list[Case] = []
    seen: set[str] = set()
    for registration in _REGISTRATIONS:
        if not CASE_ID.match(registration.id) or registration.id in seen:
            raise CatalogError(f"bad or duplicate case ID {registration.id!r}")
        seen.add(registration.id)
        if not registration.requirements:
            raise CatalogError(f"{registration.id} cites no requirement")
        cited = [_cited(requirements, registration.id, r) for r in registration.requirements]
        level = min((r.level for r in cited), key=LEVELS.index)
        built.append(
            Case(
                registration.id,
                registration.profile,
                registration.requirements,
                level,
                registration.title,
                registration.body,
            )
        )
    return built


def _cited(requirements: dict[str, Requirement], case_id: str, requirement: str) -> Requirement:
    if requirement not in requirements:
        raise CatalogError(f"{case_id} cites {requirement}, which the spec does not define")
    return requirements[requirement]


def _load_profile_modules() -> None:
    # Importing the package registers every profile and case exactly once.
    import lepton_conformance.profiles  # noqa: F401, PLC0415

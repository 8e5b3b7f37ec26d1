"""The catalog: every profile and case of the suites named in suites/__init__.py (or of the
suites a caller gives), in order, each case checked against the spec's requirements."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lepton_conformance.harness.case import Case
from lepton_conformance.harness.requirements import LEVELS, Requirement, load_requirements
from lepton_conformance.harness.suite import Profile, Suite
from lepton_conformance.suites import all_suites

CASE_ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


class CatalogError(ValueError):
    """A case is registered wrongly: bad ID, duplicate, a profile its suite does not declare,
    or a requirement the spec lacks."""


def profiles(suites: Sequence[Suite] | None = None) -> dict[str, Profile]:
    """Every profile by name, in the order of the suites and of their declarations."""
    found: dict[str, Profile] = {}
    for suite in all_suites() if suites is None else suites:
        for profile in suite.profiles:
            if profile.name in found:
                raise CatalogError(f"profile {profile.name} registered twice")
            found[profile.name] = profile
    return found


def cases(spec_dir: Path | None = None, suites: Sequence[Suite] | None = None) -> list[Case]:
    """Every case, in run order, with its level taken from the requirements it cites."""
    suites = all_suites() if suites is None else suites
    profiles(suites)  # every profile declared once
    requirements = load_requirements(spec_dir)
    built: list[Case] = []
    seen: set[str] = set()
    for suite in suites:
        declared = {p.name for p in suite.profiles}
        for case_list in suite.case_lists:
            for registration in case_list.registrations:
                if not CASE_ID.match(registration.id) or registration.id in seen:
                    raise CatalogError(f"bad or duplicate case ID {registration.id!r}")
                seen.add(registration.id)
                if registration.profile not in declared:
                    raise CatalogError(
                        f"{registration.id} belongs to {registration.profile}, "
                        f"which suite {suite.name} does not declare"
                    )
                if not registration.requirements:
                    raise CatalogError(f"{registration.id} cites no requirement")
                cited = [
                    _cited(requirements, registration.id, r) for r in registration.requirements
                ]
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

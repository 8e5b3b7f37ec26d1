"""The general suite: rules every server of the standard follows (spec/general.md)."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.general import (
    errors_and_auth,
    health_and_discovery,
    pagination_and_limits,
)
from lepton_conformance.suites.general.profile import GENERAL

SUITE = Suite(
    "general",
    profiles=(GENERAL,),
    case_lists=(health_and_discovery.CASES, errors_and_auth.CASES, pagination_and_limits.CASES),
)

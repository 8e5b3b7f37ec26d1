"""The general suite: rules every server of the standard follows (spec/general.md)."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.general import cases
from lepton_conformance.suites.general.profile import GENERAL

SUITE = Suite("general", profiles=(GENERAL,), case_lists=(cases.CASES,))

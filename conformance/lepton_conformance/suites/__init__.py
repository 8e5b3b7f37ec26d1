"""The suites, one per layer, in the order the runner runs them: the general rules first,
then each layer's profiles."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites import data, general, inference

SUITES: tuple[Suite, ...] = (general.SUITE, inference.SUITE, data.SUITE)

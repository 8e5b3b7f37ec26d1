"""The inference suite: the Open Inference Protocol core and its extensions
(spec/inference.md), with its client, vectors and the conformance model set."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.inference import cases
from lepton_conformance.suites.inference.profiles import CORE, EXTENDED

SUITE = Suite("inference", profiles=(CORE, EXTENDED), case_lists=(cases.CASES,))

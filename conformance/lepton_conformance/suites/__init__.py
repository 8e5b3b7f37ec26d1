"""The suites, one per layer, in the order the runner runs them: the general rules first,
then each layer's profiles. Each name is a package here whose `SUITE` lists its profiles and
case modules; a suite is imported only when the catalog is built, so importing one suite's
module (the inference model set, a data client) loads no other suite."""

from __future__ import annotations

import importlib

from lepton_conformance.harness.suite import Suite

SUITE_NAMES: tuple[str, ...] = (
    "general",
    "inference",
    "data",
    "annotation",
    "registry",
    "training",
    "edge",
)


def all_suites() -> tuple[Suite, ...]:
    """Every suite, in run order."""
    return tuple(importlib.import_module(f"{__name__}.{name}").SUITE for name in SUITE_NAMES)

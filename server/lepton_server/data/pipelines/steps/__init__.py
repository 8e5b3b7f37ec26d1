"""The step compilers, one module per family of steps (spec/data.md §6.4). Each compiler checks
one step message against the schema the step receives and turns it into a Plan;
STEP_COMPILERS maps the member of `Step.kind` to its compiler."""

from __future__ import annotations

from lepton_server.data.pipelines.plans import StepCompiler
from lepton_server.data.pipelines.steps import anonymization, cleaning, columns, sampling, scaling

STEP_COMPILERS: dict[str, StepCompiler] = {
    **cleaning.COMPILERS,
    **columns.COMPILERS,
    **scaling.COMPILERS,
    **anonymization.COMPILERS,
    **sampling.COMPILERS,
}

__all__ = ["STEP_COMPILERS"]

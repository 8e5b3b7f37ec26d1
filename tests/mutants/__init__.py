"""Mutants: the reference server with exactly one MUST broken, to prove the suite catches it.

    python tests/mutants/serve.py MUTANT serve --address 127.0.0.1:0 --data-dir DIR
    python tests/mutants/serve.py MUTANT agent --fleet HOST:PORT ...   (an agent mutant)

applies the named mutation inside this process, then runs `lepton serve` (or `lepton agent`)
unchanged.
MUTANTS maps each name to what it breaks and the case IDs that must fail — no more, no fewer.
One module per layer holds that layer's mutants.
"""

from __future__ import annotations

from mutants import (
    annotation,
    data,
    edge_agent,
    edge_fleet,
    general,
    inference,
    processing,
    registry,
    training,
)
from mutants.mutation import Mutant

MUTANTS: dict[str, Mutant] = {
    **general.MUTANTS,
    **inference.MUTANTS,
    **data.MUTANTS,
    **annotation.MUTANTS,
    **processing.MUTANTS,
    **registry.MUTANTS,
    **training.MUTANTS,
    **edge_agent.MUTANTS,
    **edge_fleet.MUTANTS,
}

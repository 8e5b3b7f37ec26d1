"""Runs `lepton serve` (or `lepton agent`) with one mutation applied:
`python tests/mutants/serve.py MUTANT ARGS...`."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from lepton_server import cli  # noqa: PLC0415
    from mutants import MUTANTS  # noqa: PLC0415

    MUTANTS[argv[0]].apply()
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))

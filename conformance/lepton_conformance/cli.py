"""`lepton-conformance`: list the requirements of the standard and trace them to cases."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lepton_conformance import SUITE_VERSION
from lepton_conformance.requirements import load_requirements


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lepton-conformance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {SUITE_VERSION}")
    parser.add_argument("--spec-dir", type=Path, help="read the spec from here instead")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the requirements of the standard by spec file")
    return parser


def _list(console: Console, spec_dir: Path | None) -> int:
    requirements = load_requirements(spec_dir)
    table = Table(title=f"Requirements of the standard ({len(requirements)})")
    for column in ("id", "level", "spec"):
        table.add_column(column)
    for requirement in requirements.values():
        table.add_row(requirement.id, requirement.level, requirement.source)
    console.print(table)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lepton-conformance` console script."""
    options = _parser().parse_args(argv)
    console = Console()
    if options.command == "list":
        return _list(console, options.spec_dir)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""The conformance suite and the SDK stand alone: neither needs the reference server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = {
    "lepton_conformance": ROOT / "conformance" / "lepton_conformance",
    "lepton_ai": ROOT / "clients" / "python" / "lepton_ai",
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(STANDALONE))
def test_package_source_never_imports_the_server(package):
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted(STANDALONE[package].rglob("*.py"))
        if any(m.split(".")[0] == "lepton_server" for m in _imported_modules(path))
    ]
    assert offenders == []


# Runs in a fresh interpreter where importing lepton_server fails, as on a vendor's machine
# that installed only the suite or the SDK.
BLOCK_SERVER_AND_IMPORT_ALL = """
import importlib, pkgutil, sys
class BlockServer:
    def find_spec(self, name, path=None, target=None):
        if name == "lepton_server" or name.startswith("lepton_server."):
            raise ImportError("the reference server is not installed here")
sys.meta_path.insert(0, BlockServer())
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(module.name)
assert "lepton_server" not in sys.modules
"""


@pytest.mark.parametrize("package", sorted(STANDALONE))
def test_package_imports_without_the_server_installed(package):
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_SERVER_AND_IMPORT_ALL, package],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_conformance_cli_runs_without_the_server_installed():
    script = BLOCK_SERVER_AND_IMPORT_ALL.replace(
        'assert "lepton_server" not in sys.modules',
        "from lepton_conformance.cli import main\nraise SystemExit(main(['list']))",
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "lepton_conformance"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

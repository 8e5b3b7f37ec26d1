"""Layers load only when selected and own their flags: `lepton serve --services inference`
imports no data-layer module, and a flag of a layer it does not host is not accepted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import SERVE

from lepton_server.runtime.layer_registry import (
    LAYERS,
    Layer,
    UnknownLayerError,
    check_known,
    load_layer,
)
from lepton_server.runtime.startup_errors import StartupError

# Runs `lepton serve` (lepton_server.cli.main) and, as the process exits, writes the name of
# every module it imported to the file named by its first argument.
_RECORDING = (
    "import atexit, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write('\\n'.join(sorted(sys.modules))))\n"
    "from lepton_server import cli\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


def _modules_imported_by_serve(server_factory, tmp_path: Path, *args: str) -> set[str]:
    record = tmp_path / "modules.txt"
    launcher = [sys.executable, "-c", _RECORDING, str(record)]
    server = server_factory(*args, launcher=launcher)
    assert server.stop() == 0
    return set(record.read_text().split())


def _data_layer(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "lepton_server.data" or m.startswith("lepton_server.data.")}


def test_serving_inference_imports_no_data_layer_module(server_factory, tmp_path):
    modules = _modules_imported_by_serve(server_factory, tmp_path, "--services", "inference")
    assert "lepton_server.inference.services" in modules
    assert _data_layer(modules) == set()
    assert {"pyarrow.flight", "pyarrow._flight", "sqlite3"}.isdisjoint(modules)


def test_serving_data_imports_the_data_layer_and_no_inference_module(server_factory, tmp_path):
    modules = _modules_imported_by_serve(server_factory, tmp_path, "--services", "data")
    assert {"lepton_server.data.services", "pyarrow.flight"} <= modules
    assert not any(m.startswith("lepton_server.inference") for m in modules)
    assert "onnxruntime" not in modules


def test_serving_registry_imports_neither_data_nor_inference(server_factory, tmp_path):
    modules = _modules_imported_by_serve(server_factory, tmp_path, "--services", "registry")
    assert "lepton_server.registry.services" in modules
    assert _data_layer(modules) == set()
    assert not any(m.startswith("lepton_server.inference") for m in modules)
    assert {"onnxruntime", "pyarrow.flight"}.isdisjoint(modules)


def test_every_registered_layer_declares_a_layer():
    for name in LAYERS:
        assert isinstance(load_layer(name), Layer), name


def test_an_unknown_layer_is_a_startup_error_naming_the_available_ones():
    with pytest.raises(UnknownLayerError) as error:
        check_known(["inference", "no-such-layer", "other"])
    assert isinstance(error.value, StartupError)
    assert str(error.value) == (
        "unknown or unimplemented layer(s): no-such-layer, other "
        "(available: annotation, data, edge, inference, registry, training)"
    )


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*SERVE, "serve", "--address", "127.0.0.1:0", "--data-dir", str(tmp_path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_help_lists_the_flags_of_every_layer(tmp_path):
    result = _serve(tmp_path, "--help")
    assert result.returncode == 0
    for flag in ("--file-root", "--flight-address", "--storage-uri", "--model-repository"):
        assert flag in result.stdout


def test_a_flag_of_a_layer_not_hosted_is_an_unrecognized_argument(tmp_path):
    result = _serve(tmp_path, "--services", "inference", "--flight-address", "127.0.0.1:0")
    assert result.returncode == 2
    assert "unrecognized arguments: --flight-address" in result.stderr

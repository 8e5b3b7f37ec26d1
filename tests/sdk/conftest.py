"""Fixtures of the SDK tests: one `lepton serve` per test module with a directory as its file
root, a DataManager connected to it, and a fresh directory inside the file root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import start_server

from lepton_ai import DataManager


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """One server for the module (datasets get unique ids), with a tmp dir as file root."""
    root = tmp_path_factory.mktemp("sdk")
    files = root / "files"
    files.mkdir()
    server = start_server(["--file-root", str(files)], root / "data")
    yield server.address, files
    server.stop()


@pytest.fixture
def data(shared) -> Iterator[DataManager]:
    with DataManager.connect(shared[0], progress=False) as manager:
        yield manager


@pytest.fixture
def files(shared, tmp_path) -> Path:
    """A fresh directory inside the server's file root."""
    directory = shared[1] / tmp_path.name
    directory.mkdir()
    return directory

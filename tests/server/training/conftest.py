"""Fixtures of the training tests: a real Ray head on loopback, shared by the tests of the
Ray executor (attempts and whole jobs) in one test process."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from support.ray_head import RAY_ENVIRONMENT, ray_head

from lepton_server.runtime.ray_connection import disconnect


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for name, value in RAY_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    with ray_head(tmp_path_factory.mktemp("ray")) as head:
        print(f"Ray head started in {head.started_seconds:.1f} s")
        yield head.address
        disconnect()

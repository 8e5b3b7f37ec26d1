"""The edge end-to-end modules' fleet: `lepton serve --services edge` as a process of its
own, the SDK's EdgeFleet on it and a release signing key; one of each per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.servers import ServerProcess, start_server

from lepton_ai import EdgeFleet


@pytest.fixture(scope="module")
def fleet_server(tmp_path_factory) -> Iterator[ServerProcess]:
    server = start_server(["--services", "edge"], tmp_path_factory.mktemp("fleet"))
    yield server
    assert server.stop() == 0, "".join(server.stderr)


@pytest.fixture(scope="module")
def fleet(fleet_server) -> Iterator[EdgeFleet]:
    with EdgeFleet.connect(fleet_server.address, progress=False) as client:
        yield client


@pytest.fixture(scope="module")
def release_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()

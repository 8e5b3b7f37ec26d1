"""The reference server the other languages' clients are tested against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.client_server import LiveServer, start


@pytest.fixture(scope="session")
def live(model_repository, tmp_path_factory) -> Iterator[LiveServer]:
    started = start(model_repository, tmp_path_factory.mktemp("clients"))
    try:
        yield started
    finally:
        started.server.stop()

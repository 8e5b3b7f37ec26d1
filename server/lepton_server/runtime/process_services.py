"""Domain objects one layer offers the other layers hosted by the same server: the few
operations no RPC offers a client, such as committing a dataset version whose lineage names
an annotation export job (a client cannot claim such a lineage). Keyed by the server's data
directory, since tests may host several servers in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_OFFERED: dict[tuple[str, str], Any] = {}


def offer(data_dir: Path, name: str, value: Any) -> None:
    """Offer `value` as `name` to the layers of the server using `data_dir`."""
    _OFFERED[(str(data_dir.resolve()), name)] = value


def find(data_dir: Path, name: str) -> Any | None:
    """What the server using `data_dir` offers as `name`, or None."""
    return _OFFERED.get((str(data_dir.resolve()), name))


def withdraw(data_dir: Path, name: str) -> None:
    _OFFERED.pop((str(data_dir.resolve()), name), None)

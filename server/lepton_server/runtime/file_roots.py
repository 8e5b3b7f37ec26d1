"""The local directories a server lets requests name by `file://` URI: `<data-dir>/files` and
each `--file-root`. The data layer's imports and exports and the registry's import jobs both
confine local paths to them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class FileRoots:
    """Directories (created when missing) whose contents `file://` URIs may name."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots = [root.resolve() for root in roots]
        for root in self.roots:
            root.mkdir(parents=True, exist_ok=True)

    def contains(self, path: Path) -> bool:
        """Whether `path`, with symbolic links resolved, is a root or lies inside one."""
        resolved = path.resolve()
        return any(resolved == root or root in resolved.parents for root in self.roots)

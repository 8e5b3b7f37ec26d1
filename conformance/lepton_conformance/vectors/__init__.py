"""Data files of the conformance cases (golden vectors, error tables)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml


def load(name: str) -> dict[str, Any]:
    """The parsed YAML file `name` of this package."""
    return yaml.safe_load((resources.files(__name__) / name).read_text(encoding="utf-8"))

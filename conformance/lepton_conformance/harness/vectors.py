"""The one loader of the suites' data files (golden vectors, error tables): YAML files in the
`vectors/` folder of a suite's package."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml


def load(suite: str, name: str) -> dict[str, Any]:
    """The parsed YAML file `vectors/<name>` of the suite package `suite`."""
    path = resources.files(suite) / "vectors" / name
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def filled(value: Any, names: dict[str, str]) -> Any:
    """`value` (YAML data) with every `{placeholder}` key of `names` replaced in its strings,
    at any depth; keys not in braces are left alone."""
    if isinstance(value, str):
        for placeholder, text in names.items():
            if placeholder.startswith("{"):
                value = value.replace(placeholder, text)
        return value
    if isinstance(value, list):
        return [filled(v, names) for v in value]
    if isinstance(value, dict):
        return {k: filled(v, names) for k, v in value.items()}
    return value

"""The labels rule every layer follows (GEN-056)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lepton_server.runtime.errors import invalid_field

MAX_LABELS = 64
KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def check_labels(labels: Mapping[str, str], field_path: str) -> dict[str, str]:
    """`labels` as a dict, or INVALID_FIELD naming `<field_path>.<key>` (or `field_path`
    itself for too many entries)."""
    if len(labels) > MAX_LABELS:
        raise invalid_field(field_path, f"at most {MAX_LABELS} labels, got {len(labels)}")
    for key, value in labels.items():
        if not KEY.match(key):
            raise invalid_field(
                f"{field_path}.{key}",
                "a label key is 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter",
            )
        if not VALUE.match(value):
            raise invalid_field(
                f"{field_path}.{key}",
                "a label value is at most 63 characters of a-z, 0-9, '_' and '-'",
            )
    return dict(labels)

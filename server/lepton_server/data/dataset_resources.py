"""The dataset API's resource rules that every part of the catalog applies (spec/data.md §3,
§8.1-8.5): resource name layouts, and the fields every layer's resources share
(aip/standard_fields.py) under the names the catalog uses."""

from __future__ import annotations

from lepton_server.aip.standard_fields import (
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    check_text,
    new_etag,
    not_found,
    now_ns,
    timestamp,
)

DATASET = ("datasets",)
VERSION = ("datasets", "versions")
TAG = ("datasets", "tags")

__all__ = [
    "DATASET",
    "MAX_DESCRIPTION",
    "MAX_DISPLAY_NAME",
    "TAG",
    "VERSION",
    "check_text",
    "new_etag",
    "not_found",
    "now_ns",
    "timestamp",
]

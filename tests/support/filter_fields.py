"""A field table with one field of every filter type, and the two ways the filter tests
use it: whether an item matches a filter, and the INVALID_FILTER error of a bad one."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from lepton_server.aip.filtering.compile import compile_filter
from lepton_server.aip.filtering.fields import (
    COMPARISONS,
    EQUALITY,
    SUBSTRING,
    FieldType,
    FilterField,
)
from lepton_server.runtime.errors import InvalidArgument
from support.rejections import rejected

JOB_STATES = [
    "JOB_STATE_UNSPECIFIED",
    "JOB_STATE_QUEUED",
    "JOB_STATE_RUNNING",
    "JOB_STATE_SUCCEEDED",
    "JOB_STATE_FAILED",
]

# One field of every type, with the operators a layer spec would list.
FIELDS = [
    FilterField("display_name", FieldType.STRING, EQUALITY | SUBSTRING),
    FilterField("dataset_version", FieldType.RESOURCE_NAME, frozenset({"="})),
    FilterField("sequence_number", FieldType.INTEGER, COMPARISONS),
    FilterField("score", FieldType.FLOAT, COMPARISONS),
    FilterField("ground_truth", FieldType.BOOLEAN, EQUALITY),
    FilterField("create_time", FieldType.TIMESTAMP, COMPARISONS),
    FilterField("run_duration", FieldType.DURATION, COMPARISONS),
    FilterField.for_enum("status.state", JOB_STATES),
    FilterField("labels", FieldType.LABEL, EQUALITY),
]

JUNE_1 = datetime(2025, 6, 1, tzinfo=timezone.utc)


def matches(text: str, item: dict[str, Any]) -> bool:
    return compile_filter(text, FIELDS).matches(item.get)


def rejection(text: str, fields: list[FilterField] = FIELDS) -> InvalidArgument:
    return rejected(lambda: compile_filter(text, fields), "INVALID_FILTER", "filter")

"""Python values as the fields of annotation requests: enum values by name, durations,
idempotency keys, and field masks built from the arguments a caller set."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from google.protobuf import duration_pb2, field_mask_pb2

DurationLike = timedelta | float
EnumLike = str | int


def request_id(value: str | None) -> str:
    """`value`, or a new UUID: every create is idempotent if the caller repeats it."""
    return value if value is not None else str(uuid.uuid4())


def duration(value: DurationLike) -> duration_pb2.Duration:
    """A Duration from a timedelta or seconds."""
    message = duration_pb2.Duration()
    message.FromTimedelta(value if isinstance(value, timedelta) else timedelta(seconds=value))
    return message


def enum_value(enum: Any, prefix: str, value: EnumLike) -> int:
    """An enum value from its number or its name, with or without `prefix`, in any case
    ("completed", "COMPLETED" and "TASK_STATE_COMPLETED" alike)."""
    if isinstance(value, str):
        return enum.Value(prefix + value.upper().removeprefix(prefix))
    return value


def masked(message: Any, changes: Mapping[str, Any]) -> field_mask_pb2.FieldMask:
    """Set on `message` the fields of `changes` whose value is not None; the mask naming
    them (so a field set to its empty value is still changed)."""
    paths = []
    for field, value in changes.items():
        if value is None:
            continue
        paths.append(field)
        target = getattr(message, field)
        if isinstance(value, Mapping):
            target.update(value)
        elif hasattr(target, "CopyFrom"):
            target.CopyFrom(value)
        elif isinstance(value, list):
            target.extend(value)
        else:
            setattr(message, field, value)
    return field_mask_pb2.FieldMask(paths=paths)

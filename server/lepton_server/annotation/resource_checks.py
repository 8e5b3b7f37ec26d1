"""What every annotation resource shares: server-assigned ids, and field values of a message
for filters and orderings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp


def new_id(prefix: str) -> str:
    """A server-assigned id in the AIP-122 character set, starting with a letter."""
    return f"{prefix}{uuid.uuid4().hex[:15]}"


def message_fields(message: Any) -> Callable[[str], Any]:
    """Field values of a resource message for filters and orderings; dotted paths walk into
    sub-messages, enums read as their value names, unset timestamps as None."""

    def get(path: str) -> Any:
        value = message
        for part in path.split("."):
            owner = value
            value = getattr(value, part)
            field = owner.DESCRIPTOR.fields_by_name.get(part)
            if field is not None and field.enum_type is not None and isinstance(value, int):
                value = field.enum_type.values_by_number[value].name
        if isinstance(value, Timestamp):
            return value if (value.seconds or value.nanos) else None
        if path == "labels":
            return dict(value)
        return value

    return get

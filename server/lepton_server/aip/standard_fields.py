"""What every resource of every layer shares (AIP-148, GEN-051, GEN-055): timestamps in
nanoseconds and as protobuf Timestamps, server-set etags, the length limits of display names
and descriptions, and the RESOURCE_NOT_FOUND error naming the resource as requested."""

from __future__ import annotations

import time
import uuid

from google.protobuf.timestamp_pb2 import Timestamp

from lepton_server.runtime.errors import Aborted, NotFound, invalid_field

MAX_DISPLAY_NAME = 256
MAX_DESCRIPTION = 16384


def now_ns() -> int:
    return time.time_ns()


def timestamp(ns: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(ns)
    return stamp


def new_etag() -> str:
    return uuid.uuid4().hex[:16]


def not_found(name: str) -> NotFound:
    return NotFound(
        reason="RESOURCE_NOT_FOUND",
        message=f"{name} does not exist",
        metadata={"resource_name": name},
    )


def check_text(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise invalid_field(field, f"at most {limit} characters, got {len(value)}")
    return value


def check_etag(given: str, current: str) -> None:
    """ABORTED [ETAG_MISMATCH] for a non-empty etag that is not the current one (GEN-055)."""
    if given and given != current:
        raise Aborted(reason="ETAG_MISMATCH", message="the etag is not the resource's current etag")

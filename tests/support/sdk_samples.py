"""The sample table and the unique dataset ids of the SDK tests."""

from __future__ import annotations

import secrets

import pyarrow as pa

PEOPLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "name": pa.array(["ada", "bob", None, "dan"], pa.string()),
        "score": pa.array([0.5, None, 2.25, -1.0], pa.float64()),
    }
)


def unique(prefix: str = "sdk") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"

"""The `order_by` of List RPCs (GEN-057) and the sort keys that apply it.

An order is a list of `(field path, descending)`. `parse_order_by` reads the client's text,
or the RPC's default when it is empty, and appends the RPC's tie-breaker so that no two items
compare equal: the order is then total, stable across pages, and a page position can be the
last item's key (see `pagination.paginate`).

Sort values are plain and JSON-able, so a key can travel in a page token: None, bools, ints,
floats and strings as they are; datetimes (naive = UTC) and protobuf Timestamps as nanoseconds
since the epoch, so offsets do not matter; timedeltas and protobuf Durations as nanoseconds;
Python enums by their value. An unset value (None) is the smallest: it sorts before every set
value ascending and after them descending.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from functools import total_ordering
from typing import Any, TypeVar

from lepton_server.aip.filtering.values import duration_nanos, instant_nanos
from lepton_server.runtime.errors import invalid_field

T = TypeVar("T")

# (field path, descending)
OrderKey = tuple[str, bool]

_FIELD_PATH = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_WS = re.compile(r"[ \t\r\n]+")


def parse_order_by(
    text: str,
    orderable: Collection[str],
    default: str,
    tie_breaker: str,
    field_path: str = "order_by",
) -> list[OrderKey]:
    """The order `text` asks for, as (path, descending) pairs, ending with the tie-breaker.

    `text` is "path [desc], ..." over the `orderable` fields (GEN-057); empty or whitespace
    means `default`. `tie_breaker` is written the same way ("name", or "create_time desc,
    name desc" where the default order breaks ties); each of its fields the order does not
    name yet is appended. Raises INVALID_ARGUMENT [INVALID_FIELD] on `field_path` for another
    field, a field named twice, or a malformed list; ValueError for a bad default or
    tie-breaker, which are the server's own.
    """
    if text.strip(" \t\r\n"):
        try:
            order = _parse(text)
        except ValueError as malformed:
            raise invalid_field(field_path, str(malformed)) from None
        for path, _ in order:
            if path not in orderable:
                raise invalid_field(
                    field_path,
                    f"cannot order by {path}; this method orders by {', '.join(orderable)}",
                )
    else:
        order = _parse(default)
    named = {path for path, _ in order}
    return order + [key for key in _parse(tie_breaker) if key[0] not in named]


def _parse(text: str) -> list[OrderKey]:
    """The keys of an order_by list; ValueError saying what is malformed."""
    order: list[OrderKey] = []
    for item in text.split(","):
        words = [word for word in _WS.split(item) if word]
        if not words:
            raise ValueError(f"{text!r} has an empty item; write fields as 'a, b desc'")
        if len(words) > 2 or (len(words) == 2 and words[1] != "desc"):
            raise ValueError(
                f"{item.strip()!r} is not a field optionally followed by ' desc' "
                "(ascending is the default)"
            )
        path = words[0]
        if not _FIELD_PATH.fullmatch(path):
            raise ValueError(f"{path!r} is not a field path")
        if any(path == seen for seen, _ in order):
            raise ValueError(f"{path} is named more than once")
        order.append((path, len(words) == 2))
    return order


def format_order(order: Sequence[OrderKey]) -> str:
    """The order in canonical order_by form, e.g. "create_time desc, name"; for page tokens."""
    return ", ".join(f"{path} desc" if descending else path for path, descending in order)


def sort_value(value: Any) -> Any:
    """`value` as orders compare it: a JSON-able None, bool, int, float or str."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return instant_nanos(value)
    if isinstance(value, timedelta):
        return duration_nanos(value)
    if isinstance(value, Enum):
        return sort_value(value.value)
    if hasattr(value, "seconds") and hasattr(value, "nanos"):
        # A protobuf Timestamp or Duration.
        return instant_nanos(value)
    raise TypeError(f"cannot order by a value of type {type(value).__name__}")


def sort_values(order: Sequence[OrderKey], get: Callable[[str], Any]) -> list[Any]:
    """The item's sort values of the order's fields, JSON-able (a keyset page position)."""
    return [sort_value(get(path)) for path, _ in order]


def key_of_values(order: Sequence[OrderKey], values: Sequence[Any]) -> tuple[Any, ...]:
    """The sort key of `sort_values` output; ValueError if it has the wrong length."""
    if len(values) != len(order):
        raise ValueError(f"{len(values)} sort values for an order of {len(order)} fields")
    return tuple(
        _Descending(_ranked(value)) if descending else _ranked(value)
        for (_, descending), value in zip(order, values, strict=True)
    )


def sort_key(order: Sequence[OrderKey], get: Callable[[str], Any]) -> tuple[Any, ...]:
    """The key that sorts an item, whose fields `get(path)` returns, in `order`."""
    return key_of_values(order, sort_values(order, get))


def sort_items(
    items: Iterable[T], order: Sequence[OrderKey], getter: Callable[[T], Callable[[str], Any]]
) -> list[T]:
    """`items` sorted in `order`; `getter(item)` is the item's field getter, as for filters."""
    return sorted(items, key=lambda item: sort_key(order, getter(item)))


def _ranked(value: Any) -> tuple[Any, ...]:
    # None sorts first without ever being compared with a set value (which would raise).
    return (0,) if value is None else (1, value)


@total_ordering
class _Descending:
    """A key component that sorts in reverse, for values that cannot be negated (strings)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.key == other.key

    def __lt__(self, other: _Descending) -> bool:
        return other.key < self.key

    def __hash__(self) -> int:
        return hash(self.key)

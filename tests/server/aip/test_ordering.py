"""order_by of List RPCs (GEN-057) and the sort keys that apply it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from support.rejections import rejected

from lepton_server.aip.ordering import (
    format_order,
    parse_order_by,
    sort_items,
    sort_key,
    sort_values,
)
from lepton_server.runtime.errors import InvalidArgument

ORDERABLE = ("name", "create_time", "update_time")


def order_of(text: str, default: str = "name", tie_breaker: str = "name") -> list:
    return parse_order_by(text, ORDERABLE, default, tie_breaker)


def rejection(text: str) -> InvalidArgument:
    return rejected(lambda: order_of(text), "INVALID_FIELD", "order_by")


def getter(item: dict[str, Any]):
    return item.get


# Parsing.


@pytest.mark.parametrize("text", ["", "  ", "\t\n"])
def test_empty_order_by_means_the_default_order(text):
    assert order_of(text, default="create_time desc, name") == [
        ("create_time", True),
        ("name", False),
    ]


def test_default_gets_the_tie_breaker_appended():
    assert order_of("", default="create_time desc") == [("create_time", True), ("name", False)]


def test_field_is_ascending_unless_followed_by_desc():
    assert order_of("create_time") == [("create_time", False), ("name", False)]
    assert order_of("create_time desc") == [("create_time", True), ("name", False)]


def test_several_fields_each_with_their_direction():
    assert order_of("update_time desc, create_time, name desc") == [
        ("update_time", True),
        ("create_time", False),
        ("name", True),
    ]


def test_whitespace_around_commas_and_words_is_ignored():
    assert order_of("  create_time   desc ,name  ") == [("create_time", True), ("name", False)]


@pytest.mark.parametrize("text", ["name", "name desc"])
def test_tie_breaker_is_not_appended_when_the_order_names_it(text):
    assert [path for path, _ in order_of(text)] == ["name"]


def test_tie_breaker_may_be_an_order_of_several_fields():
    order = parse_order_by(
        "update_time",
        ("status.create_time", "update_time", "name"),
        "status.create_time desc, name desc",
        "status.create_time desc, name desc",
    )
    assert order == [("update_time", False), ("status.create_time", True), ("name", True)]


def test_tie_breaker_need_not_be_orderable():
    order = parse_order_by("score desc", ("create_time", "score"), "create_time", "name")
    assert order == [("score", True), ("name", False)]


def test_dotted_field_paths():
    order = parse_order_by("status.create_time desc", ("status.create_time",), "name", "name")
    assert order[0] == ("status.create_time", True)


# Errors.


def test_field_the_method_cannot_order_by_is_rejected():
    error = rejection("display_name")
    assert "display_name" in error.message
    assert "name, create_time, update_time" in error.message


@pytest.mark.parametrize("text", ["name asc", "name DESC", "name desc desc", "name descending"])
def test_anything_but_desc_after_a_field_is_rejected(text):
    rejection(text)


@pytest.mark.parametrize("text", ["name,", ",name", "name,,create_time", ","])
def test_empty_item_in_the_list_is_rejected(text):
    rejection(text)


def test_field_named_twice_is_rejected():
    assert "more than once" in rejection("name, name desc").message


@pytest.mark.parametrize("text", ["Name", "create-time", "name;", "desc"])
def test_malformed_field_path_is_rejected(text):
    rejection(text)


def test_error_names_the_order_by_field_it_was_given():
    with pytest.raises(InvalidArgument) as raised:
        parse_order_by("x", ORDERABLE, "name", "name", field_path="query.order_by")
    assert raised.value.violations[0].field == "query.order_by"


@pytest.mark.parametrize(
    ("default", "tie_breaker"), [("", "name"), ("name", ""), ("name asc", "name")]
)
def test_malformed_default_or_tie_breaker_is_a_server_bug(default, tie_breaker):
    with pytest.raises(ValueError):
        parse_order_by("", ORDERABLE, default, tie_breaker)


def test_format_order_writes_the_canonical_order_by():
    assert format_order(order_of(" create_time  desc ,name")) == "create_time desc, name"


# Sorting.


def test_sort_ascending():
    items = [{"name": "b"}, {"name": "c"}, {"name": "a"}]
    assert [i["name"] for i in sort_items(items, [("name", False)], getter)] == ["a", "b", "c"]


def test_sort_descending_strings():
    items = [{"name": "b"}, {"name": "c"}, {"name": "a"}]
    assert [i["name"] for i in sort_items(items, [("name", True)], getter)] == ["c", "b", "a"]


def test_mixed_directions_sort_field_by_field():
    items = [
        {"rank": 1, "name": "a"},
        {"rank": 2, "name": "a"},
        {"rank": 1, "name": "b"},
        {"rank": 2, "name": "b"},
    ]
    ordered = sort_items(items, [("name", True), ("rank", False)], getter)
    assert [(i["name"], i["rank"]) for i in ordered] == [("b", 1), ("b", 2), ("a", 1), ("a", 2)]


def test_equal_items_keep_their_order():
    items = [{"rank": 1, "id": n} for n in range(5)]
    assert [i["id"] for i in sort_items(items, [("rank", True)], getter)] == [0, 1, 2, 3, 4]


def test_unset_sorts_before_set_ascending_and_after_descending():
    items = [{"t": 2}, {}, {"t": 1}]
    assert [i.get("t") for i in sort_items(items, [("t", False)], getter)] == [None, 1, 2]
    assert [i.get("t") for i in sort_items(items, [("t", True)], getter)] == [2, 1, None]


def test_timestamps_sort_as_instants_whatever_their_zone():
    paris = timezone(timedelta(hours=2))
    early = {"t": datetime(2025, 6, 1, 1, 0, tzinfo=paris)}  # 23:00 UTC the day before
    late = {"t": datetime(2025, 5, 31, 23, 30, tzinfo=timezone.utc)}
    assert sort_items([late, early], [("t", False)], getter) == [early, late]


def test_protobuf_timestamps_and_datetimes_sort_together():
    stamp = {"t": timestamp_pb2.Timestamp(seconds=1748736000, nanos=1)}
    moment = {"t": datetime(2025, 6, 1, tzinfo=timezone.utc)}
    assert sort_items([stamp, moment], [("t", False)], getter) == [moment, stamp]


def test_sort_values_are_json_and_rebuild_the_same_key():
    order = [("t", True), ("d", False), ("name", False)]
    item = {"t": datetime(2025, 6, 1, tzinfo=timezone.utc), "d": timedelta(seconds=1.5)}
    values = sort_values(order, item.get)
    assert values == [1748736000 * 10**9, 1_500_000_000, None]
    assert json.loads(json.dumps(values)) == values


def test_sort_key_compares_tuples_of_mixed_directions():
    order = [("a", True), ("b", False)]
    assert sort_key(order, {"a": 2, "b": 9}.get) < sort_key(order, {"a": 1, "b": 0}.get)
    assert sort_key(order, {"a": 1, "b": 0}.get) < sort_key(order, {"a": 1, "b": 1}.get)


def test_value_that_cannot_be_ordered_is_a_server_bug():
    with pytest.raises(TypeError):
        sort_key([("x", False)], {"x": object()}.get)

"""Page sizes and page tokens of List RPCs (GEN-040 to GEN-044)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.rejections import rejected

from lepton_server.aip.ordering import parse_order_by
from lepton_server.aip.pagination import PageTokens, page_size, paginate, request_binding
from lepton_server.runtime.errors import InvalidArgument

BINDING = request_binding("datasets", "filter-fingerprint", "name")


def token_rejection(tokens: PageTokens, token: str, binding: str = BINDING) -> InvalidArgument:
    return rejected(lambda: tokens.read(token, binding), "INVALID_PAGE_TOKEN", "page_token")


def getter(item: dict[str, Any]):
    return item.get


# page_size (GEN-040).


def test_page_size_zero_selects_the_default():
    assert page_size(0, default=50) == 50


def test_page_size_within_the_maximum_is_kept():
    assert page_size(7, default=50) == 7


def test_page_size_above_the_maximum_is_the_maximum():
    assert page_size(5000, default=50) == 1000
    assert page_size(11, default=5, maximum=10) == 10


def test_negative_page_size_is_invalid_field():
    with pytest.raises(InvalidArgument) as raised:
        page_size(-1, default=50)
    assert raised.value.reason == "INVALID_FIELD"
    assert raised.value.violations[0].field == "page_size"


def test_page_size_error_names_the_field_it_was_given():
    with pytest.raises(InvalidArgument) as raised:
        page_size(-1, default=50, field_path="query.page_size")
    assert raised.value.violations[0].field == "query.page_size"


def test_default_above_the_maximum_is_a_server_bug():
    with pytest.raises(ValueError):
        page_size(0, default=2000)


# Tokens (GEN-041 to GEN-044).


@pytest.mark.parametrize(
    "position", [{"after": "datasets/a", "n": 3}, ["b", 7, None, 1.5, True], "datasets/x", 42, 0]
)
def test_token_returns_the_position_it_was_issued_for(position):
    tokens = PageTokens()
    assert tokens.read(tokens.issue(position, BINDING), BINDING) == position


def test_empty_token_means_the_first_page():
    assert PageTokens().read("", BINDING) is None


def test_no_position_issues_the_empty_token():
    assert PageTokens().issue(None, BINDING) == ""


def test_token_is_url_safe_and_unpadded():
    token = PageTokens().issue({"after": "ä/?+" * 10}, BINDING)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_token_does_not_carry_the_binding():
    binding = request_binding("datasets/secret-parent", "fp", "name")
    token = PageTokens().issue(1, binding)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"secret-parent" not in raw


def test_token_from_another_server_is_rejected():
    token = PageTokens().issue(10, BINDING)
    token_rejection(PageTokens(), token)


def test_token_survives_a_restart_with_the_same_configured_secret():
    token = PageTokens(b"configured secret").issue(10, BINDING)
    assert PageTokens(b"configured secret").read(token, BINDING) == 10


@pytest.mark.parametrize(
    "binding",
    [
        request_binding("datasets", "other-filter", "name"),
        request_binding("datasets", "filter-fingerprint", "name desc"),
        request_binding("datasets/other", "filter-fingerprint", "name"),
    ],
)
def test_token_with_another_filter_order_or_parent_is_rejected(binding):
    tokens = PageTokens()
    token_rejection(tokens, tokens.issue(10, BINDING), binding)


def test_tampered_token_is_rejected():
    tokens = PageTokens()
    token = tokens.issue({"after": "datasets/a"}, BINDING)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[8] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    token_rejection(tokens, tampered)


def test_truncated_token_is_rejected():
    tokens = PageTokens()
    token = tokens.issue(10, BINDING)
    token_rejection(tokens, token[:-2])


@pytest.mark.parametrize(
    "token", ["not a token", "====", "a", "AAAA", "é", "eyJ2IjoxLCJwIjoxMH0", "+/+/"]
)
def test_garbage_token_is_rejected(token):
    token_rejection(PageTokens(), token)


def test_bindings_keep_their_parts_apart():
    assert request_binding("a,b", "c") != request_binding("a", "b,c")
    assert request_binding("a|b", "c") != request_binding("a", "b|c")


@given(st.text(min_size=1))
def test_arbitrary_token_never_raises_anything_but_invalid_page_token(token):
    tokens = PageTokens(b"fixed")
    try:
        tokens.read(token, BINDING)
    except InvalidArgument as error:
        assert error.reason == "INVALID_PAGE_TOKEN"
    else:
        pytest.fail(f"{token!r} was accepted")


# Keyset paging.

ORDER = parse_order_by("", ("name", "rank"), "rank desc", "name")
ITEMS = [{"name": f"item-{n:02}", "rank": n % 4} for n in range(23)]


def all_pages(items: list[dict], size: int, order=ORDER) -> list[list[dict]]:
    tokens = PageTokens()
    pages, token = [], ""
    while True:
        after = tokens.read(token, BINDING)
        page, last = paginate(items, order, getter, size, after)
        pages.append(page)
        token = tokens.issue(last, BINDING)
        if not token:
            return pages


@pytest.mark.parametrize("size", [1, 2, 5, 22, 23, 24, 1000])
def test_following_tokens_returns_every_item_once_in_order(size):
    pages = all_pages(ITEMS, size)
    expected = sorted(ITEMS, key=lambda i: (-i["rank"], i["name"]))
    assert [item for page in pages for item in page] == expected
    assert all(len(page) <= size for page in pages)


@pytest.mark.parametrize("size", [1, 23])
def test_next_position_is_none_exactly_when_no_items_follow(size):
    pages = all_pages(ITEMS, size)
    assert len(pages) == -(-len(ITEMS) // size)
    assert all(pages)


def test_empty_collection_is_one_empty_last_page():
    assert paginate([], ORDER, getter, 10, None) == ([], None)


def test_item_deleted_between_pages_does_not_shift_the_next_page():
    items = [{"name": n, "rank": 0} for n in "abcdef"]
    first, last = paginate(items, ORDER, getter, 2, None)
    remaining = [i for i in items if i["name"] != "a"]
    second, _ = paginate(remaining, ORDER, getter, 2, last)
    assert [i["name"] for i in first + second] == ["a", "b", "c", "d"]


def test_item_created_before_the_position_is_not_repeated_or_shifting():
    items = [{"name": n, "rank": 0} for n in "bcdef"]
    first, last = paginate(items, ORDER, getter, 2, None)
    second, _ = paginate([{"name": "a", "rank": 0}, *items], ORDER, getter, 2, last)
    assert [i["name"] for i in first + second] == ["b", "c", "d", "e"]


def test_paging_by_timestamps_through_tokens():
    order = parse_order_by("create_time desc", ("create_time",), "name", "name")
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    items = [{"name": f"n{i}", "create_time": start + timedelta(minutes=i % 3)} for i in range(7)]
    flat = [item for page in all_pages(items, 3, order) for item in page]
    assert flat == sorted(items, key=lambda i: (-i["create_time"].timestamp(), i["name"]))


@pytest.mark.parametrize("after", [{"a": 1}, ["x"], [1, "x", 3], [[1], "x"], "x", 3])
def test_position_that_does_not_fit_the_order_is_an_invalid_page_token(after):
    with pytest.raises(InvalidArgument) as raised:
        paginate(ITEMS, ORDER, getter, 5, after)
    assert raised.value.reason == "INVALID_PAGE_TOKEN"
    assert raised.value.violations[0].field == "page_token"


def test_position_whose_values_do_not_compare_is_an_invalid_page_token():
    with pytest.raises(InvalidArgument) as raised:
        paginate(ITEMS, ORDER, getter, 5, ["not a rank", "item-01"])
    assert raised.value.reason == "INVALID_PAGE_TOKEN"

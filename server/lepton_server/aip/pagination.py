"""Page sizes and page tokens of List RPCs (GEN-040 to GEN-044).

A token is the URL-safe base64 (unpadded) of a small JSON payload followed by a 16-byte
HMAC-SHA256 tag. The tag covers the payload and a digest of the request's binding (its
parent, filter and order fingerprints, see `request_binding`), so a token that was edited,
minted by another server (another secret) or presented with other request parameters fails
INVALID_ARGUMENT [INVALID_PAGE_TOKEN] (GEN-042, GEN-043). The binding is not in the token.

`paginate` pages by keyset: a token holds the sort values of the last item returned and the
next page starts after that key. An offset would skip or repeat items when others are created
or deleted between pages; a keyset position does neither for the items that stay, and is
exact because `parse_order_by` appends a tie-breaker that makes keys unique. It costs the sort
the page needs anyway and a binary search.

    order = parse_order_by(request.order_by, ORDERABLE, "name", "name")
    matching = compile_filter(request.filter, FIELDS)
    binding = request_binding(request.parent, matching.fingerprint, format_order(order))
    after = tokens.read(request.page_token, binding)
    size = page_size(request.page_size, default=50)
    items = [d for d in store.datasets() if matching.matches(field_getter(d))]
    page, last = paginate(items, order, field_getter, size, after)
    next_page_token = tokens.issue(last, binding)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from lepton_server.aip.ordering import OrderKey, key_of_values, sort_key, sort_values
from lepton_server.runtime.errors import InvalidArgument, invalid_argument, invalid_field

T = TypeVar("T")

INVALID_PAGE_TOKEN = "INVALID_PAGE_TOKEN"
DEFAULT_MAXIMUM_PAGE_SIZE = 1000

# A JSON value: what a page position can be.
Position = dict[str, Any] | list[Any] | str | int

_TAG_BYTES = 16
_TOKEN_FORMAT = 1
# Separates page-token tags from any other use of the same secret.
_TAG_CONTEXT = b"lepton page token\x00"
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_SORT_VALUE_TYPES = (type(None), bool, int, float, str)


def page_size(
    value: int,
    default: int,
    maximum: int = DEFAULT_MAXIMUM_PAGE_SIZE,
    field_path: str = "page_size",
) -> int:
    """The number of items a page may hold for a requested `page_size` (GEN-040).

    0 selects `default`, a value above `maximum` is `maximum`; a negative value raises
    INVALID_ARGUMENT [INVALID_FIELD] on `field_path`.
    """
    if not 1 <= default <= maximum:
        raise ValueError(f"default page size {default} is not within 1 to {maximum}")
    if value < 0:
        raise invalid_field(field_path, f"must not be negative, got {value}")
    if value == 0:
        return default
    return min(value, maximum)


def request_binding(*parameters: str) -> str:
    """One string for the request parameters a token is valid with (GEN-043).

    E.g. `request_binding(parent, filter.fingerprint, format_order(order))`; the parts are
    kept apart, so ("a,b", "c") and ("a", "b,c") bind differently.
    """
    return json.dumps(list(parameters))


class PageTokens:
    """Issues and reads page tokens signed with this server's secret.

    Without a `secret`, a random one per process: tokens then die with the process, which a
    single reference server tolerates (GEN-044 is a SHOULD); replicas behind one address, or
    tokens that must outlive a restart, need a shared, configured secret.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        if secret is None:
            secret = secrets.token_bytes(32)
        if not secret:
            raise ValueError("a page token secret must not be empty")
        self._secret = secret

    def issue(self, position: Position | None, binding: str) -> str:
        """A token for the page after `position`; "" when `position` is None (no more items)."""
        if position is None:
            return ""
        payload = json.dumps(
            {"v": _TOKEN_FORMAT, "p": position}, separators=(",", ":"), sort_keys=True
        ).encode()
        token = payload + self._tag(payload, binding)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def read(self, token: str, binding: str, field_path: str = "page_token") -> Position | None:
        """The position `token` holds; None for an empty token (the first page).

        Raises INVALID_ARGUMENT [INVALID_PAGE_TOKEN] on `field_path` for a token this server
        did not issue for `binding` (GEN-042, GEN-043). Tuples come back as lists.
        """
        if not token:
            return None
        raw = _decode(token)
        if raw is None or len(raw) <= _TAG_BYTES:
            raise _invalid_token(field_path, "is not a page token")
        payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(payload, binding)):
            raise _invalid_token(
                field_path,
                "was not issued by this server for this request; a page token is valid only "
                "with the parent, filter and order_by of the request that returned it",
            )
        try:
            content = json.loads(payload)
        except ValueError:
            content = None
        if not isinstance(content, dict) or content.get("v") != _TOKEN_FORMAT:
            # Signed with our secret but not in this format: an older or newer server's token.
            raise _invalid_token(field_path, "is in a format this server does not read")
        return content.get("p")

    def _tag(self, payload: bytes, binding: str) -> bytes:
        # The binding's digest has a fixed length, so no binding/payload split is ambiguous.
        message = _TAG_CONTEXT + hashlib.sha256(binding.encode()).digest() + payload
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_TAG_BYTES]


def _decode(token: str) -> bytes | None:
    # urlsafe_b64decode would skip characters outside the alphabet; check them first.
    if not _TOKEN_ALPHABET.fullmatch(token):
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None


def _invalid_token(field_path: str, problem: str) -> InvalidArgument:
    return invalid_argument(INVALID_PAGE_TOKEN, field_path, f"the page token {problem}")


def paginate(
    items: Iterable[T],
    order: Sequence[OrderKey],
    getter: Callable[[T], Callable[[str], Any]],
    size: int,
    after: Position | None,
    *,
    field_path: str = "page_token",
) -> tuple[list[T], list[Any] | None]:
    """One page of `items` in `order` and the position of the next page (None: last page).

    `getter(item)` is the item's field getter, as `Filter.matches` takes it. `after` is the
    position a token held (None for the first page); the page holds the first `size` items
    whose key follows it. The returned position is the last item's sort values, given only
    when items follow (GEN-041). A position that does not fit `order` raises
    INVALID_ARGUMENT [INVALID_PAGE_TOKEN] on `field_path`.
    """
    if size < 1:
        raise ValueError(f"page size {size} is not positive; see page_size()")
    keyed = sorted(
        ((sort_key(order, getter(item)), item) for item in items),
        key=lambda pair: pair[0],
    )
    start = 0 if after is None else _start_after(keyed, order, after, field_path)
    page = [item for _, item in keyed[start : start + size]]
    if start + size >= len(keyed):
        return page, None
    return page, sort_values(order, getter(page[-1]))


def _start_after(
    keyed: Sequence[tuple[tuple[Any, ...], Any]],
    order: Sequence[OrderKey],
    after: Position,
    field_path: str,
) -> int:
    if not isinstance(after, list) or not all(isinstance(v, _SORT_VALUE_TYPES) for v in after):
        raise _invalid_token(field_path, "does not hold a position of this list")
    try:
        position = key_of_values(order, after)
        return bisect_right(keyed, position, key=lambda pair: pair[0])
    except (ValueError, TypeError):
        # A position whose values do not compare with this order's fields.
        raise _invalid_token(field_path, "does not hold a position of this list") from None

"""One List RPC from end to end: page size, filter, order_by and page token together
(GEN-040 to GEN-049, GEN-057), paged by keyset (`pagination.paginate`), so items created or
deleted between pages are neither skipped nor repeated."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lepton_server.aip import pagination
from lepton_server.aip.filtering.compile import compile_filter
from lepton_server.aip.filtering.fields import FilterField
from lepton_server.aip.ordering import format_order, parse_order_by

T = TypeVar("T")
Getter = Callable[[Any], Callable[[str], Any]]


@dataclass(frozen=True)
class Listing:
    """How one collection is listed: the fields its filter and its order_by may name, the
    default order and the tie-breaker that makes every sort key unique. A request without a
    `filter` or `order_by` field lists everything in the default order."""

    filter_fields: Sequence[FilterField]
    orderable: Sequence[str]
    default_order: str
    tie_breaker: str
    default_page_size: int = 50

    def page(
        self,
        tokens: pagination.PageTokens,
        request: Any,
        items: Callable[[], Iterable[T]],
        getter: Getter,
        scope: str,
    ) -> tuple[list[T], str]:
        """The page `request` asks for of `items()` and its next_page_token. The request is
        checked before `items` is called; a token is valid only within `scope` (a collection
        and its parent) and with the same filter and order (GEN-043)."""
        size = pagination.page_size(request.page_size, default=self.default_page_size)
        matches = compile_filter(getattr(request, "filter", ""), self.filter_fields)
        order = parse_order_by(
            getattr(request, "order_by", ""), self.orderable, self.default_order, self.tie_breaker
        )
        binding = pagination.request_binding(scope, matches.fingerprint, format_order(order))
        after = tokens.read(request.page_token, binding)
        chosen = [item for item in items() if matches.matches(getter(item))]
        page, last = pagination.paginate(chosen, order, getter, size, after)
        return page, tokens.issue(last, binding)

"""general cases of pagination on every hosted top-level list and of message size limits
(spec/general.md)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2

from lepton_conformance.harness import expect
from lepton_conformance.harness.case import NotApplicable, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.general.probes import (
    GET_SERVER_INFO,
    TOP_LEVEL_LISTS,
    Method,
    health_stub,
    raw_call,
)
from lepton_conformance.suites.general.profile import GENERAL

CASES = CaseList()


# --- pagination ---------------------------------------------------------------------------


def _hosted_lists(ctx: CaseContext) -> list[Method]:
    hosted = [m for m in TOP_LEVEL_LISTS if ctx.info.serves(m.service)]
    if not hosted:
        raise NotApplicable("the target hosts no top-level List RPC", "a top-level List RPC")
    return hosted


def _list(ctx: CaseContext, method: Method, **fields: Any) -> Message:
    return method.call(
        ctx.channel, method.request(**fields), metadata=ctx.metadata, timeout=ctx.timeout
    )


@CASES.case(GENERAL, "pagination.negative-page-size-is-invalid", "GEN-040", "GEN-002")
def negative_page_size(ctx: CaseContext) -> None:
    """page_size -1 is INVALID_ARGUMENT [INVALID_FIELD] with a violation on page_size."""
    for method in _hosted_lists(ctx):
        expect.fails_with(
            lambda method=method: _list(ctx, method, page_size=-1),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
            field="page_size",
        )


def _never_issued() -> list[str]:
    """Page tokens no server issued: each holds 144 fresh random bits, so that only chance
    could make it one a server minted, whatever its token format. Three shapes: plain text,
    what opaque tokens look like (URL-safe base64), and text beyond ASCII."""
    nonce = secrets.token_bytes(18)
    return [
        f"not-a-token-{nonce.hex()}",
        base64.urlsafe_b64encode(nonce).decode(),
        f"\u00e9\u00e9-{nonce.hex()}",
    ]


@CASES.case(GENERAL, "pagination.foreign-token-is-invalid", "GEN-042")
def foreign_page_token(ctx: CaseContext) -> None:
    """A page token the server never issued is INVALID_ARGUMENT [INVALID_PAGE_TOKEN]."""
    for method in _hosted_lists(ctx):
        for token in _never_issued():
            expect.fails_with(
                lambda method=method, token=token: _list(ctx, method, page_token=token),
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_PAGE_TOKEN",
            )


MAX_PAGE_SIZE = 1000


def _walk(ctx: CaseContext, method: Method, size: int, limit: int) -> list[bytes]:
    """Every item of a listing with page_size `size`, following tokens for at most `limit`
    pages; each item serialized deterministically."""
    walked: list[bytes] = []
    token, pages, seen_tokens = "", 0, set()
    while True:
        page = expect.succeeds(
            lambda token=token: _list(ctx, method, page_size=size, page_token=token),
            f"{method.name} page {pages + 1}",
        )
        items = _items(page)
        expect.holds(len(items) <= size, f"at most {size} items per page", f"{len(items)} items")
        walked += [i.SerializeToString(deterministic=True) for i in items]
        token, pages = page.next_page_token, pages + 1
        if not token:
            return walked
        expect.holds(token not in seen_tokens, "a new token on every page", "a token repeated")
        seen_tokens.add(token)
        expect.holds(pages <= limit, "the listing to end", f"{pages} pages and counting")


@CASES.case(GENERAL, "pagination.walk-returns-each-item-once-and-ends", "GEN-041", "GEN-040")
def pagination_walk(ctx: CaseContext) -> None:
    """Following next_page_token with page_size 1 ends with an empty token and yields every
    item of a full listing exactly once."""
    for method in _hosted_lists(ctx):
        full = _walk(ctx, method, MAX_PAGE_SIZE, limit=100)
        walked = _walk(ctx, method, 1, limit=len(full) + 1)
        expect.holds(len(set(walked)) == len(walked), "each item once", "an item repeated")
        expect.equal(sorted(walked), sorted(full), f"items of {method.name} walked one by one")


def _items(page: Message) -> list[Message]:
    repeated = [f for f in page.DESCRIPTOR.fields if f.is_repeated and f.message_type]
    if len(repeated) != 1:
        raise RuntimeError(f"{page.DESCRIPTOR.full_name} has no single repeated resource field")
    return list(getattr(page, repeated[0].name))


# --- message sizes ------------------------------------------------------------------------


def _padded(size: int) -> bytes:
    """An empty message padded with `size` bytes of unknown field 15 (ignored by parsers)."""
    length, encoded = size, bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return b"\x7a" + bytes(encoded) + b"\0" * size


@CASES.case(GENERAL, "limits.accepts-64-mib-messages", "GEN-073")
def accepts_large_messages(ctx: CaseContext) -> None:
    """A 64 MiB request message is accepted."""
    payload = _padded(64 * 1024 * 1024)
    expect.succeeds(
        lambda: raw_call(ctx, GET_SERVER_INFO, payload, metadata=ctx.metadata),
        "a 64 MiB request to be accepted",
    )


@CASES.case(GENERAL, "limits.oversized-message-is-resource-exhausted", "GEN-072")
def oversized_message(ctx: CaseContext) -> None:
    """A request over the server's limit is RESOURCE_EXHAUSTED, and the server keeps serving."""
    limit = ctx.options.message_limit
    if limit is None:
        raise Skipped(
            "the target's message limit is unknown (pass --message-limit BYTES)",
            needs="--message-limit BYTES",
        )
    payload = _padded(limit + 1024)
    expect.fails_with(
        lambda: raw_call(ctx, GET_SERVER_INFO, payload, metadata=ctx.metadata),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    )
    expect.succeeds(
        lambda: health_stub(ctx).Check(health_pb2.HealthCheckRequest(), timeout=ctx.timeout),
        "the server to keep serving",
    )

"""Request-id replays of Create calls (GEN-053, AIP-155): a repeat with the same request within
24 hours returns what the first call created; the same id with another request is
ALREADY_EXISTS [REQUEST_ID_CONFLICT]. The ids live in the layer's SqliteDatabase."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from lepton_server.runtime.errors import AlreadyExists, invalid_field
from lepton_server.runtime.sqlite_database import SqliteDatabase

WINDOW_NS = 24 * 3600 * 10**9


def check_request_id(request_id: str) -> None:
    """INVALID_FIELD unless `request_id` is empty or a UUID."""
    if not request_id:
        return
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise invalid_field("request_id", f"{request_id!r} is not a UUID") from None


def fingerprint(request: Any) -> str:
    """A request's identity, with the request_id itself left out."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField("request_id")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def replayed(store: SqliteDatabase, method: str, parent: str, request: Any) -> str | None:
    """The name the first call with this request id created, or None."""
    if not request.request_id:
        return None
    found = store.request(method, parent, request.request_id, time.time_ns() - WINDOW_NS)
    if found is None:
        return None
    if found[0] != fingerprint(request):
        raise AlreadyExists(
            reason="REQUEST_ID_CONFLICT",
            message=f"request_id {request.request_id!r} was used with a different request",
        )
    return found[1]


def remember(store: SqliteDatabase, method: str, parent: str, request: Any, result: str) -> None:
    """Record the request id's result; inside the transaction that created `result`. A call
    without a request id records nothing."""
    if request.request_id:
        store.remember_request(
            method,
            parent,
            request.request_id,
            fingerprint=fingerprint(request),
            result=result,
            now=time.time_ns(),
        )


class StoredRequestIds:
    """The request ids of the Creates whose results live outside `store` (jobs), kept in
    `store` all the same: what JobCollection.create_once takes."""

    def __init__(self, store: SqliteDatabase) -> None:
        self.store = store

    def replayed(self, method: str, parent: str, request: Any) -> str | None:
        return replayed(self.store, method, parent, request)

    def remember(self, method: str, parent: str, request: Any, result: str) -> None:
        remember(self.store, method, parent, request, result)

"""The audit log (spec/general.md "Audit", GEN-017, GEN-018): one JSON line per call that
needs the writer or admin role, whatever its outcome, and per call of any protected method
refused for its credentials or roles, appended when the call ends; listed by admins through
lepton.audit.v1.AuditService.

The file is append-only: each event is one `write` to a descriptor opened with O_APPEND, so the
processes of `lepton serve --workers` append to the same file without interleaving, and an
event's sequence is its line number (a line cut short by a crash is skipped, never renumbered
around). The file is JSON Lines, so exporting the log is copying it, or listing it."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from lepton.audit.v1 import audit_service_pb2 as pb
from lepton_server.aip.filtering.fields import (
    COMPARISONS,
    EQUALITY,
    SUBSTRING,
    FieldType,
    FilterField,
)
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.runtime.error_mapping import CallObserver
from lepton_server.runtime.principals import current_principal, current_tenant
from lepton_server.runtime.roles import READER, required_role

log = logging.getLogger(__name__)
# Refusals of a call for who is calling: recorded for every protected method, reads included.
REFUSALS = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
_TEXT = EQUALITY | SUBSTRING
LISTING = Listing(
    (
        *(FilterField(f, FieldType.STRING, _TEXT) for f in ("principal", "method", "code")),
        FilterField("resource", FieldType.STRING, _TEXT),
        FilterField("reason", FieldType.STRING, _TEXT),
        FilterField("time", FieldType.TIMESTAMP, COMPARISONS),
    ),
    ("sequence",),
    "sequence",
    "sequence",
    default_page_size=100,
)


def _resource(request: Any, response: Any) -> str:
    """The resource a call named (its request's `name` or `parent`) or, failing that, the one
    it created (the `name` of its response, or of the resource its response holds)."""
    for message in (request, response):
        if not isinstance(message, Message):
            continue
        for field in ("name", "parent"):
            value = getattr(message, field, None)
            if isinstance(value, str) and value:
                return value
        for field, value in message.ListFields():
            if field.message_type is not None and field.label != field.LABEL_REPEATED:
                name = getattr(value, "name", None)
                if isinstance(name, str) and name:
                    return name
    return ""


class _MethodAudit:
    """Records the calls of one method: all of them, or only refusals."""

    __slots__ = ("_every_call", "_log", "_method")

    def __init__(self, log: AuditLog, method: str, every_call: bool) -> None:
        self._log, self._method, self._every_call = log, method, every_call

    def started(self, context: Any) -> None:
        return None

    def ended(
        self, start: None, code: grpc.StatusCode, reason: str, request: Any, response: Any
    ) -> None:
        if self._every_call or code in REFUSALS:
            refused = code in REFUSALS
            resource = "" if refused else _resource(request, response)
            self._log.append(
                current_principal(), self._method, resource, code.name, reason, current_tenant()
            )


class AuditLog:
    """The append-only log of one server's data directory."""

    def __init__(self, path: Path, unaudited: tuple[str, ...] = ()) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Methods under these prefixes ("/package.Service/") are not audited: those open to
        # everyone, and those whose callers are devices with credentials of their own.
        self._unaudited = unaudited
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()
        # A line a crash cut short is ended, so the next event starts a line of its own.
        if path.stat().st_size and not _ends_a_line(path):
            self._write(b"\n")

    def for_method(self, method: str, kind: str) -> CallObserver | None:
        """The observer of `method`'s calls (a CallObservers of runtime/error_mapping.py)."""
        if method.startswith(self._unaudited):
            return None
        return _MethodAudit(self, method, required_role(method) != READER)

    def append(  # noqa: PLR0917 - an event's fields, in the order the log shows them
        self, principal: str, method: str, resource: str, code: str, reason: str, tenant: str = ""
    ) -> None:
        event = {
            "time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "principal": principal,
            "method": method,
            "resource": resource,
            "code": code,
            "reason": reason,
        }
        if tenant:  # the default tenant's events carry none, as before tenants existed
            event["tenant"] = tenant
        line = json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n"
        try:
            self._write(line.encode())
        except OSError:
            # A full disk loses the event, not the call: the call's own outcome stands.
            log.exception("an audit event could not be written")

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                raise OSError("the audit log is closed")
            view = memoryview(data)
            while view:  # a short write (a disk filling up) continues where it stopped
                view = view[os.write(self._fd, view) :]

    def events(self, tenant: str = "") -> Iterator[pb.AuditEvent]:
        """Every event of `tenant`'s calls, oldest first, numbered by line from 1 (so another
        tenant's events leave gaps in the numbering)."""
        with self.path.open("rb") as lines:
            for sequence, line in enumerate(lines, start=1):
                if not line.endswith(b"\n"):
                    break  # a line still being written
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line a crash cut short: skipped, its number kept
                if not isinstance(event, dict) or event.get("tenant", "") != tenant:
                    continue
                time = Timestamp()
                time.FromJsonString(event["time"])
                yield pb.AuditEvent(
                    sequence=sequence,
                    time=time,
                    principal=event["principal"],
                    method=event["method"],
                    resource=event["resource"],
                    code=event["code"],
                    reason=event["reason"],
                )

    def list(
        self, request: pb.ListAuditEventsRequest, tokens: PageTokens, tenant: str = ""
    ) -> tuple[list[pb.AuditEvent], str]:
        """A page of `tenant`'s events."""
        return LISTING.page(
            tokens, request, lambda: list(self.events(tenant)), _fields, "auditEvents"
        )

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _ends_a_line(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


def audit_path(data_dir: Path) -> Path:
    """Where the audit log of the server with `data_dir` is kept."""
    return data_dir / "audit" / "events.jsonl"


def _fields(event: pb.AuditEvent) -> Callable[[str], Any]:
    return lambda path: getattr(event, path)

"""Strict checks for case bodies: exact status codes, ErrorInfo reasons and values."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2

from lepton_conformance.harness.case import Failed

T = TypeVar("T")
ERROR_DOMAIN = "lepton.ai"
REASON_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,61}[A-Z0-9]$")


def status_details(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status from the grpc-status-details-bin trailer, if any."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The first ErrorInfo detail of a failed call."""
    return _detail(error, error_details_pb2.ErrorInfo)


def bad_request(error: grpc.RpcError) -> error_details_pb2.BadRequest | None:
    """The first BadRequest detail of a failed call."""
    return _detail(error, error_details_pb2.BadRequest)


def _detail(error: grpc.RpcError, kind: type[T]) -> T | None:
    status = status_details(error)
    for detail in status.details if status is not None else ():
        if detail.Is(kind.DESCRIPTOR):
            message = kind()
            detail.Unpack(message)
            return message
    return None


def describe(error: grpc.RpcError) -> str:
    """`CODE [REASON]: details` of a failed call, as reports show it."""
    info = error_info(error)
    reason = f" [{info.reason}]" if info is not None else " [no ErrorInfo]"
    return f"{error.code().name}{reason}: {error.details()}"


def fails_with(
    call: Callable[[], Any],
    code: grpc.StatusCode,
    reason: str | None = None,
    *,
    field: str | None = None,
) -> grpc.RpcError:
    """Run `call`; it must fail with `code` and, when given, ErrorInfo `reason` (domain
    lepton.ai, GEN-001) and a BadRequest violation on `field` (GEN-002)."""
    wanted = code.name + (f" [{reason}]" if reason else "")
    try:
        result = call()
    except grpc.RpcError as error:
        got = describe(error)
        if error.code() != code:
            raise Failed(wanted, got) from None
        if reason is not None:
            check_error_info(error, reason)
        if field is not None:
            check_field_violation(error, field)
        return error
    raise Failed(wanted, f"OK: {_short(result)}")


def fails(call: Callable[[], Any], what: str) -> grpc.RpcError:
    """Run `call`; it must fail with some non-OK status (the protocol level, where the exact
    code is not required). Returns the error."""
    try:
        result = call()
    except grpc.RpcError as error:
        return error
    raise Failed(f"{what} refused with a non-OK status", f"OK: {_short(result)}")


def rejects(
    call: Callable[[], Any],
    code: grpc.StatusCode,
    reason: str,
    *,
    field: str | None = None,
    metadata: dict[str, str] | None = None,
) -> grpc.RpcError:
    """Run `call`; it must fail with `code` [`reason`], a BadRequest violation on `field` or
    on a field inside it (`field.x`, `field[i]`: a sub-field names the offending field at
    least as precisely) and the ErrorInfo `metadata` entries given."""
    error = fails_with(call, code, reason)
    if field is not None:
        check_field_violation(error, field, within=True)
    for key, value in (metadata or {}).items():
        info = error_info(error)
        got = dict(info.metadata) if info is not None else {}
        if got.get(key) != value:
            raise Failed(f"ErrorInfo metadata {key}={value!r}", f"metadata {got}")
    return error


def check_error_info(error: grpc.RpcError, reason: str) -> None:
    """The failed call carries a well-formed ErrorInfo with `reason` and a matching code."""
    got = describe(error)
    status = status_details(error)
    info = error_info(error)
    if status is None or info is None:
        raise Failed(f"{error.code().name} [{reason}] with ErrorInfo", got)
    if status.code != error.code().value[0]:
        raise Failed(f"grpc-status-details-bin code {error.code().value[0]}", f"code {status.code}")
    infos = [d for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)]
    if len(infos) != 1:
        raise Failed("exactly one ErrorInfo", f"{len(infos)} ErrorInfo details")
    if info.domain != ERROR_DOMAIN:
        raise Failed(f"ErrorInfo domain {ERROR_DOMAIN!r}", f"domain {info.domain!r}")
    if not REASON_PATTERN.match(info.reason):
        raise Failed("ErrorInfo reason in UPPER_SNAKE_CASE", f"reason {info.reason!r}")
    if info.reason != reason:
        raise Failed(f"{error.code().name} [{reason}]", got)


def check_field_violation(error: grpc.RpcError, field: str, *, within: bool = False) -> None:
    """The failed call carries a BadRequest naming `field` (GEN-002) or, when `within`, a
    field inside it (`field.x`, `field[i]`: a sub-field names the offending field at least as
    precisely)."""
    request = bad_request(error)
    fields = [v.field for v in request.field_violations] if request is not None else []
    inside = (f"{field}.", f"{field}[") if within else ()
    if not any(f == field or (inside and f.startswith(inside)) for f in fields):
        raise Failed(f"a BadRequest violation on {field!r}", f"violations on {fields}")


def succeeds(call: Callable[[], T], what: str = "OK") -> T:
    """Run `call`; it must not fail. Returns its result."""
    try:
        return call()
    except grpc.RpcError as error:
        raise Failed(what, describe(error)) from None


def equal(got: Any, wanted: Any, what: str) -> None:
    """`got` must equal `wanted`."""
    if got != wanted:
        raise Failed(f"{what} = {_short(wanted)}", _short(got))


def holds(condition: bool, wanted: str, got: str) -> None:
    """`condition` must hold; otherwise fail with the given descriptions."""
    if not condition:
        raise Failed(wanted, got)


def _short(value: Any, limit: int = 200) -> str:
    text = str(value).replace("\n", " ").strip() or "(empty)"
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Typed exceptions for failed calls, carrying the ErrorInfo reason and field violations.

Every failed call surfaces as a `LeptonAIError`; its class says the gRPC status code
(`NotFoundError`, `InvalidArgumentError`, ...), so callers catch the class and branch on
`reason`. A long-running job that ends FAILED or CANCELLED raises `JobFailedError`, which
carries the job's `status.error` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from lepton.type.v1 import error_pb2


@dataclass(eq=False)
class LeptonAIError(Exception):
    """A call failed. `code` is the gRPC status, `reason` the ErrorInfo reason (may be empty
    for errors raised by the transport itself, such as a refused connection, or by the SDK
    before any call)."""

    code: grpc.StatusCode
    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        reason = f" [{self.reason}]" if self.reason else ""
        return f"{self.code.name}{reason}: {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickles its args (the message only); rebuild from every field instead.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[LeptonAIError], fields: dict[str, Any]) -> LeptonAIError:
    error = cls.__new__(cls)
    error.__dict__.update(fields)
    Exception.__init__(error, fields.get("message", ""))
    return error


class CancelledError(LeptonAIError):
    """CANCELLED: the call was cancelled, usually by the caller."""


class UnknownError(LeptonAIError):
    """UNKNOWN: the server or transport reported no usable status."""


class InvalidArgumentError(LeptonAIError):
    """INVALID_ARGUMENT: the request is malformed; see `reason` and `field_violations`."""


class DeadlineExceededError(LeptonAIError):
    """DEADLINE_EXCEEDED: the call did not finish before its deadline."""


class NotFoundError(LeptonAIError):
    """NOT_FOUND: a named resource does not exist."""


class AlreadyExistsError(LeptonAIError):
    """ALREADY_EXISTS: the resource (or request id) already exists."""


class PermissionDeniedError(LeptonAIError):
    """PERMISSION_DENIED: the caller may not do this."""


class ResourceExhaustedError(LeptonAIError):
    """RESOURCE_EXHAUSTED: a quota or a message size limit was exceeded."""


class FailedPreconditionError(LeptonAIError):
    """FAILED_PRECONDITION: the system is not in a state that allows the call."""


class AbortedError(LeptonAIError):
    """ABORTED: a concurrency conflict (etag or parent version mismatch); retry after
    re-reading."""


class OutOfRangeError(LeptonAIError):
    """OUT_OF_RANGE: an offset or index past the end."""


class UnimplementedError(LeptonAIError):
    """UNIMPLEMENTED: the server lacks the method or the optional feature."""


class InternalError(LeptonAIError):
    """INTERNAL: a server bug."""


class UnavailableError(LeptonAIError):
    """UNAVAILABLE: the server or a storage system it needs is unreachable; retryable."""


class DataLossError(LeptonAIError):
    """DATA_LOSS: bytes were corrupted in transit (e.g. a digest mismatch)."""


class UnauthenticatedError(LeptonAIError):
    """UNAUTHENTICATED: missing or invalid credentials."""


ERROR_CLASSES: dict[grpc.StatusCode, type[LeptonAIError]] = {
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.UNKNOWN: UnknownError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.INTERNAL: InternalError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DATA_LOSS: DataLossError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
}
_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def error_class(code: grpc.StatusCode) -> type[LeptonAIError]:
    """The LeptonAIError subclass for a status code (LeptonAIError itself for OK)."""
    return ERROR_CLASSES.get(code, LeptonAIError)


def status_code(number: int) -> grpc.StatusCode:
    """The grpc.StatusCode of a google.rpc.Code number (UNKNOWN for numbers outside it)."""
    return _CODES_BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN)


def from_rpc_error(error: grpc.RpcError) -> LeptonAIError:
    """Convert a failed call into the LeptonAIError subclass of its code, unpacking its
    status details (ErrorInfo reason and metadata, BadRequest field violations)."""
    reason, metadata, violations = "", {}, []
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations = [(v.field, v.description) for v in bad_request.field_violations]
    code = error.code()
    return error_class(code)(code, reason, error.details() or "", metadata, violations)


@dataclass(eq=False)
class JobFailedError(LeptonAIError):
    """A long-running job (import, export, pipeline run) ended FAILED or CANCELLED. `code`,
    `reason`, `message` and `metadata` come from the job's `status.error`; `job` is its
    resource name and `state` the terminal state's name (e.g. "JOB_STATE_FAILED")."""

    job: str = ""
    state: str = ""

    def __str__(self) -> str:
        return f"{self.job} ended {self.state}: {super().__str__()}"


def job_failed(job: str, state: str, error: error_pb2.ErrorStatus | None) -> JobFailedError:
    """The JobFailedError for a job that ended in `state` with `error` (its status.error)."""
    if error is None or error.code == 0:
        code = grpc.StatusCode.CANCELLED if state.endswith("CANCELLED") else grpc.StatusCode.UNKNOWN
        return JobFailedError(code, "", f"the job ended {state}", job=job, state=state)
    return JobFailedError(
        status_code(error.code),
        error.reason,
        error.message,
        dict(error.metadata),
        job=job,
        state=state,
    )

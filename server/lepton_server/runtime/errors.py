"""Domain errors and their one mapping to a gRPC status.

Domain code raises a `LeptonError` subclass and knows nothing of gRPC. The servicer layer turns
it into a status whose details carry `google.rpc.ErrorInfo` (domain "lepton.ai") and, for
invalid arguments, `google.rpc.BadRequest` field violations (spec/general.md, "Errors").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "lepton.ai"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path in the request (e.g. "inputs[0].shape") and what is wrong."""

    field: str
    description: str


@dataclass
class LeptonError(Exception):
    """A failure with a canonical code and an ErrorInfo reason. Subclasses fix the code."""

    reason: str
    message: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    violations: Sequence[FieldViolation] = ()

    code = grpc.StatusCode.UNKNOWN

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code.name} [{self.reason}]: {self.message}"

    def __reduce__(self) -> tuple:
        # Exception pickles its args (the message alone); the fields are what rebuild it, so
        # that an error raised in another process (a pipeline task on Ray) arrives intact.
        return (
            type(self),
            (self.reason, self.message, self.metadata, self.violations),
        )

    def to_status_proto(self) -> status_pb2.Status:
        """The google.rpc.Status with ErrorInfo and, when present, BadRequest details."""
        info = error_details_pb2.ErrorInfo(
            reason=self.reason, domain=ERROR_DOMAIN, metadata=dict(self.metadata)
        )
        details = [_pack(info)]
        if self.violations:
            bad_request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in self.violations
                ]
            )
            details.append(_pack(bad_request))
        return status_pb2.Status(
            code=getattr(code_pb2, self.code.name), message=self.message, details=details
        )

    def to_grpc_status(self) -> grpc.Status:
        """The status for `context.abort_with_status`, details in the binary trailer."""
        return rpc_status.to_status(self.to_status_proto())


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class InvalidArgument(LeptonError):
    """The request is malformed; the client must change it (INVALID_ARGUMENT)."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(LeptonError):
    """A named resource does not exist (NOT_FOUND)."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(LeptonError):
    """The resource to create exists already (ALREADY_EXISTS)."""

    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(LeptonError):
    """The system is not in a state the operation needs (FAILED_PRECONDITION)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class DeadlineExceeded(LeptonError):
    """DEADLINE_EXCEEDED: a time limit the request set passed (a job's duration limits)."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Aborted(LeptonError):
    """A concurrency conflict such as a stale etag; retry at a higher level (ABORTED)."""

    code = grpc.StatusCode.ABORTED


class OutOfRange(LeptonError):
    """A position past the end of a valid range (OUT_OF_RANGE)."""

    code = grpc.StatusCode.OUT_OF_RANGE


class ResourceExhausted(LeptonError):
    """A size limit or quota was exceeded (RESOURCE_EXHAUSTED)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unimplemented(LeptonError):
    """The server does not implement the feature (UNIMPLEMENTED)."""

    code = grpc.StatusCode.UNIMPLEMENTED


class Unavailable(LeptonError):
    """Temporarily unable to serve; retrying may succeed (UNAVAILABLE)."""

    code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(LeptonError):
    """Missing or invalid credentials (UNAUTHENTICATED)."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(LeptonError):
    """Valid credentials that may not do this (PERMISSION_DENIED)."""

    code = grpc.StatusCode.PERMISSION_DENIED


class DataLoss(LeptonError):
    """Bytes were lost or corrupted, e.g. a digest mismatch (DATA_LOSS)."""

    code = grpc.StatusCode.DATA_LOSS


class Internal(LeptonError):
    """A server bug. Never raised for a client's mistake (INTERNAL)."""

    code = grpc.StatusCode.INTERNAL


def invalid_argument(
    reason: str, field_path: str, description: str, **metadata: str
) -> InvalidArgument:
    """INVALID_ARGUMENT with `reason`, naming `field_path` in the message and in BadRequest."""
    return InvalidArgument(
        reason=reason,
        message=f"{field_path}: {description}",
        metadata=metadata,
        violations=[FieldViolation(field_path, description)],
    )


def invalid_field(field_path: str, description: str) -> InvalidArgument:
    """The usual INVALID_ARGUMENT for one bad field, with reason INVALID_FIELD."""
    return invalid_argument("INVALID_FIELD", field_path, description)

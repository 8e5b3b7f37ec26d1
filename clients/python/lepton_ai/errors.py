"""Typed exceptions for failed calls, carrying the ErrorInfo reason and field violations."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass
class LeptonAIError(Exception):
    """A call failed. `code` is the gRPC status, `reason` the ErrorInfo reason (may be empty
    for errors raised by the transport itself, such as a refused connection)."""

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


def from_rpc_error(error: grpc.RpcError) -> LeptonAIError:
    """Convert a failed call into a LeptonAIError, unpacking its status details."""
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
    return LeptonAIError(error.code(), reason, error.details() or "", metadata, violations)

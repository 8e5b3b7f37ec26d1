"""Errors of calls one layer makes to another over gRPC (training to the data layer and the
registry, the edge fleet to the registry), so a layer works beside the other in the same
process or elsewhere. Those calls block: async code runs them in threads, since a call into
the same server on the event loop would wait for itself."""

from __future__ import annotations

from typing import Any

import grpc

from lepton_ai.errors import LeptonAIError
from lepton_server.config import ServerConfig
from lepton_server.runtime import errors

_ERRORS: dict[grpc.StatusCode, type[errors.LeptonError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Aborted,
    grpc.StatusCode.OUT_OF_RANGE: errors.OutOfRange,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
    grpc.StatusCode.UNIMPLEMENTED: errors.Unimplemented,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.DATA_LOSS: errors.DataLoss,
}


def as_lepton_error(error: LeptonAIError) -> errors.LeptonError:
    """The server-side error for what another layer answered, of the same code and reason,
    so the caller's client sees the error the other layer gave; an answer that is no client
    mistake (UNAVAILABLE, INTERNAL, a refused connection) is UNAVAILABLE."""
    kind = _ERRORS.get(error.code, errors.Unavailable)
    reason = error.reason or "SERVICE_UNAVAILABLE"
    return kind(reason=reason, message=error.message, metadata=dict(error.metadata))


def client_options(server: ServerConfig, own: bool) -> dict[str, Any]:
    """Keyword arguments of an SDK client's `connect` for a call to another layer: with
    this server's own token and certificate when the layer is served by this server."""
    if not own:
        return {"progress": False}
    return {
        "token": server.own_token,
        "ca": server.tls.cert_file if server.tls is not None else None,
        "progress": False,
    }

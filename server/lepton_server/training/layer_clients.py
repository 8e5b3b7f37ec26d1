"""The other layers training calls, over gRPC, so a training server works beside a data
layer and a registry in the same process or elsewhere: the data layer for datasets
(`DataLayerSource`) and the registry for models. Their calls block, so the async code runs
them in threads (`asyncio.to_thread`); a call into the same server on the event loop would
wait for itself. A failed call becomes the LeptonError of the same code and reason, so the
error a client of training sees is the one the other layer gave."""

from __future__ import annotations

import grpc
import pyarrow as pa

from lepton.data.v1 import dataset_pb2
from lepton_ai.data import DataManager
from lepton_ai.errors import LeptonAIError
from lepton_server.aip import resource_names
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
    """The server-side error for what another layer answered; an answer that is no client
    mistake (UNAVAILABLE, INTERNAL, a refused connection) is UNAVAILABLE."""
    kind = _ERRORS.get(error.code, errors.Unavailable)
    reason = error.reason or "SERVICE_UNAVAILABLE"
    return kind(reason=reason, message=error.message, metadata=dict(error.metadata))


class DataLayerSource:
    """The DatasetSource of training_data over a data layer's DatasetService."""

    def __init__(self, data: DataManager) -> None:
        self.data = data

    def dataset_version(self, reference: str, field: str) -> dataset_pb2.DatasetVersion:
        # Checked here so that a malformed name is this call's INVALID_NAME on `field`.
        resource_names.parse_any(reference, (("datasets", "versions"), ("datasets", "tags")), field)
        try:
            return self.data.get_version(reference)
        except LeptonAIError as error:
            raise as_lepton_error(error) from None

    def read_table(self, version: str, columns: list[str]) -> pa.Table:
        try:
            return self.data.read(version, columns=columns)
        except LeptonAIError as error:
            raise as_lepton_error(error) from None

"""The data layer as training reads it, over gRPC (runtime/layer_calls.py): datasets
(`DataLayerSource`)."""

from __future__ import annotations

import pyarrow as pa

from lepton.data.v1 import dataset_pb2
from lepton_ai.data import DataManager
from lepton_ai.errors import LeptonAIError
from lepton_server.aip import resource_names
from lepton_server.runtime.layer_calls import as_lepton_error


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

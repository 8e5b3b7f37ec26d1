"""The data layer as the annotation layer reads it, over gRPC (runtime/layer_calls.py): a
version's metadata and Arrow schema, and rows copied into tasks, so the layer works beside a
data layer in the same process or elsewhere."""

from __future__ import annotations

import pyarrow as pa

from lepton.data.v1 import dataset_pb2
from lepton_ai.data import DataManager
from lepton_ai.errors import LeptonAIError
from lepton_server.aip import resource_names
from lepton_server.runtime.errors import Unavailable
from lepton_server.runtime.layer_calls import as_lepton_error

VERSION_FORMS = (("datasets", "versions"), ("datasets", "tags"))


class DatasetRows:
    """Versions and rows of the data layer this server reaches (None until it listens)."""

    def __init__(self) -> None:
        self.data: DataManager | None = None

    def _client(self) -> DataManager:
        if self.data is None:
            raise Unavailable(
                reason="SERVICE_UNAVAILABLE",
                message="this server reaches no data layer (--annotation-data-address)",
            )
        return self.data

    def version(self, reference: str, field: str) -> dataset_pb2.DatasetVersion:
        """The version a version or tag name refers to; INVALID_NAME on `field` when malformed,
        NOT_FOUND when it does not exist."""
        resource_names.parse_any(reference, VERSION_FORMS, field)
        try:
            return self._client().get_version(reference)
        except LeptonAIError as error:
            raise as_lepton_error(error) from None

    def rows(self, version: str, offset: int, limit: int) -> pa.Table:
        """Rows [offset, offset + limit) of a version, every column."""
        try:
            return self._client().read(version, offset=offset, limit=limit)
        except LeptonAIError as error:
            raise as_lepton_error(error) from None

    def columns(self, version: str, columns: list[str]) -> pa.Table:
        """Some columns of every row of a version."""
        try:
            return self._client().read(version, columns=columns)
        except LeptonAIError as error:
            raise as_lepton_error(error) from None

    def column(self, version: str, column: str) -> list:
        """Every value of one column of a version, in row order."""
        return self.columns(version, [column]).column(0).to_pylist()


def arrow_schema(version: dataset_pb2.DatasetVersion) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))


def dataset_of(version_name: str) -> str:
    """ "datasets/{d}" of "datasets/{d}/versions/{v}"."""
    return version_name.split("/versions/", 1)[0]


def row_stream(table: pa.Table) -> bytes:
    """A one-row table as an Arrow IPC stream (AnnotationTask.row)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()

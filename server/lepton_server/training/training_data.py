"""A training job's data (spec/training.md, TrainingData, TRN-017, TRN-056, TRN-057): the
datasets checked per role and resolved once at creation to concrete versions with their
content digests; the selected columns checked against each version's schema; and, for each
attempt, each role's rows as the uncompressed Arrow IPC file the runtime contract hands a
worker (no CSV copies)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from lepton.data.v1 import dataset_pb2
from lepton.training.v1 import training_job_pb2 as tj
from lepton.type.v1 import dataset_reference_pb2 as refs
from lepton_server.runtime.errors import Unimplemented, invalid_field

FIELD = "training_job.spec.data"
# The order of resolved inputs, and the role names of the runtime contract's variables.
ROLES = {
    refs.DATASET_ROLE_TRAIN: "train",
    refs.DATASET_ROLE_VALIDATION: "validation",
    refs.DATASET_ROLE_TEST: "test",
}


class DatasetSource(Protocol):
    """What training reads of the data layer."""

    def dataset_version(self, reference: str, field: str) -> dataset_pb2.DatasetVersion:
        """The version a version or tag name names (INVALID_NAME on `field` when it is
        neither, NOT_FOUND with `resource_name` when it does not exist)."""
        ...

    def read_table(self, version: str, columns: list[str]) -> pa.Table:
        """The `columns` of the concrete version `version`, as Arrow."""
        ...


def resolve_inputs(source: DatasetSource, data: tj.TrainingData) -> list[refs.DatasetReference]:
    """The datasets of `data` resolved to concrete versions with content digests, in the
    order train, validation, test; the roles and columns checked (INVALID_FIELD), names
    checked (INVALID_NAME), missing versions or tags NOT_FOUND."""
    by_role: dict[int, tuple[int, refs.DatasetReference]] = {}
    for i, reference in enumerate(data.datasets):
        field = f"{FIELD}.datasets[{i}]"
        if reference.role not in ROLES:
            raise invalid_field(f"{field}.role", "the role is TRAIN, VALIDATION or TEST")
        if reference.role in by_role:
            raise invalid_field(f"{field}.role", "each role appears at most once")
        by_role[reference.role] = (i, reference)
    if refs.DATASET_ROLE_TRAIN not in by_role:
        raise invalid_field(f"{FIELD}.datasets", "a dataset with role TRAIN is required")
    resolved = []
    for role in ROLES:
        if role in by_role:
            i, reference = by_role[role]
            resolved.append(_resolve(source, reference, f"{FIELD}.datasets[{i}]", data))
    return resolved


def _resolve(
    source: DatasetSource, reference: refs.DatasetReference, field: str, data: tj.TrainingData
) -> refs.DatasetReference:
    kind = reference.WhichOneof("source")
    if kind is None:
        raise invalid_field(field, "set dataset_version or uri")
    if kind == "uri":
        raise Unimplemented(
            reason="FEATURE_NOT_SUPPORTED",
            message="this server trains on dataset versions only (feature training.uri_input)",
        )
    version = source.dataset_version(reference.dataset_version, f"{field}.dataset_version")
    schema = pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
    for column in [*data.feature_columns, *([data.label_column] if data.label_column else [])]:
        if column not in schema.names:
            raise invalid_field(
                f"{FIELD}.feature_columns"
                if column != data.label_column
                else f"{FIELD}.label_column",
                f"{reference.dataset_version} has no column {column!r}",
            )
    return refs.DatasetReference(
        dataset_version=version.name,
        role=reference.role,
        content_digest=version.content_digest,
    )


def selected_columns(schema: pa.Schema, data: tj.TrainingData) -> list[str]:
    """The columns a worker gets: the feature columns (every column but the label when none
    are named) followed by the label column."""
    features = list(data.feature_columns) or [n for n in schema.names if n != data.label_column]
    return features + ([data.label_column] if data.label_column else [])


def write_role_files(
    source: DatasetSource,
    resolved: list[refs.DatasetReference],
    data: tj.TrainingData,
    directory: Path,
) -> dict[str, Path]:
    """Each resolved dataset's selected columns as `<directory>/<role>.arrow`, an
    uncompressed Arrow IPC file (run off the event loop: it reads every row)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for reference in resolved:
        version = source.dataset_version(reference.dataset_version, "dataset_version")
        schema = pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
        table = source.read_table(version.name, selected_columns(schema, data))
        path = directory / f"{ROLES[reference.role]}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        files[ROLES[reference.role]] = path
    return files

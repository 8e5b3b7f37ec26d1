"""Typed errors of the SDK: each failed call raises the LeptonAIError subclass of its status
code, carrying the server's ErrorInfo reason, metadata and field violations; errors pickle."""

from __future__ import annotations

import pickle

import grpc
import pyarrow as pa
import pytest
from support.sdk_samples import PEOPLE, unique

from lepton_ai import (
    AbortedError,
    AlreadyExistsError,
    InvalidArgumentError,
    JobFailedError,
    LeptonAIError,
    NotFoundError,
)


def test_missing_dataset_is_not_found_with_its_reason(data):
    with pytest.raises(NotFoundError) as raised:
        data.read(unique("missing"))
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert raised.value.reason == "RESOURCE_NOT_FOUND"
    assert isinstance(raised.value, LeptonAIError)


def test_missing_tag_is_not_found(data):
    data.load_data(PEOPLE, dataset := unique())
    with pytest.raises(NotFoundError) as raised:
        data.read(dataset, tag="nope")
    assert raised.value.reason == "RESOURCE_NOT_FOUND"


def test_dataset_without_versions_has_no_head(data):
    data.create_dataset(dataset := unique())
    with pytest.raises(NotFoundError, match="no version"):
        data.read(dataset)


def test_bad_dataset_id_is_invalid_argument_with_field_violation(data):
    with pytest.raises(InvalidArgumentError) as raised:
        data.create_dataset("Not_Valid")
    assert raised.value.reason == "INVALID_NAME"
    assert [path for path, _ in raised.value.field_violations] == ["dataset_id"]
    assert str(raised.value).startswith("INVALID_ARGUMENT [INVALID_NAME]: ")


def test_existing_dataset_is_already_exists_unless_exist_ok(data):
    data.create_dataset(dataset := unique())
    with pytest.raises(AlreadyExistsError) as raised:
        data.create_dataset(dataset)
    assert raised.value.reason == "RESOURCE_ALREADY_EXISTS"
    assert data.create_dataset(dataset, exist_ok=True).name == f"datasets/{dataset}"


def test_append_with_another_schema_is_schema_mismatch(data):
    data.load_data(PEOPLE, dataset := unique())
    with pytest.raises(InvalidArgumentError) as raised:
        data.load_data(pa.table({"other": [1]}), dataset, mode="append")
    assert raised.value.reason == "SCHEMA_MISMATCH"


def test_stale_expected_parent_is_aborted_with_the_head(data):
    head = data.load_data(PEOPLE, dataset := unique())
    with pytest.raises(AbortedError) as raised:
        data.load_data(PEOPLE, dataset, expected_parent="")
    assert raised.value.reason == "PARENT_VERSION_MISMATCH"
    assert raised.value.metadata["head_version"] == head.name
    assert data.load_data(PEOPLE, dataset, expected_parent=head.name).parent_version == head.name


def test_errors_survive_pickling():
    error = NotFoundError(grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND", "gone", {"k": "v"})
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.reason, copy.metadata, str(copy)) == (
        NotFoundError,
        "RESOURCE_NOT_FOUND",
        {"k": "v"},
        str(error),
    )
    failed = JobFailedError(grpc.StatusCode.ABORTED, "X", "m", job="j", state="JOB_STATE_FAILED")
    assert pickle.loads(pickle.dumps(failed)).job == "j"

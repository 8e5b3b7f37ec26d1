"""Server-side imports and exports through the SDK (file:// URIs under the server's file
root), StorageManager roots and options, and failed jobs raised as JobFailedError."""

from __future__ import annotations

import grpc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from support.sdk_samples import PEOPLE, unique

from lepton_ai import JobFailedError, StorageManager


def test_file_uri_is_imported_by_the_server(data, files):
    pa_csv.write_csv(PEOPLE, files / "people.csv")
    version = data.load_data((files / "people.csv").as_uri(), dataset := unique(), tags=["raw"])
    assert version.lineage.source.startswith(f"datasets/{dataset}/importJobs/")
    assert version.tags == ["raw"]
    assert data.read(dataset).equals(PEOPLE)


def test_storage_manager_resolves_relative_paths(data, files):
    pq.write_table(PEOPLE.slice(0, 2), files / "a.parquet")
    pq.write_table(PEOPLE.slice(2), files / "b.parquet")
    storage = StorageManager.local(files)
    assert storage.join("a.parquet") == (files / "a.parquet").as_uri()
    data.load_data(["a.parquet", "b.parquet"], dataset := unique(), storage=storage)
    assert data.read(dataset).equals(PEOPLE)


def test_export_then_import_round_trips_through_storage(data, files):
    data.load_data(PEOPLE, dataset := unique())
    storage = StorageManager.local(files)
    written = data.save_data(dataset, "out/", storage=storage, format="parquet")
    assert written == [storage.join("out/part-00000.parquet")]
    data.load_data("out/", copy := unique(), storage=storage, format="parquet")
    assert data.read(copy).equals(PEOPLE)


def test_storage_options_are_sent_only_when_set():
    assert StorageManager("s3://bucket/raw").options is None
    options = StorageManager("s3://bucket/raw", region="eu-west-1", anonymous=True).options
    assert (options.region, options.endpoint_override, options.anonymous) == (
        "eu-west-1",
        "",
        True,
    )
    assert StorageManager("s3://bucket/raw") / "x.csv" == "s3://bucket/raw/x.csv"
    with pytest.raises(ValueError):
        StorageManager("relative/path")


def test_failed_import_raises_job_failed_error_with_its_reason(data, files):
    with pytest.raises(JobFailedError) as raised:
        data.load_data((files / "missing.csv").as_uri(), unique())
    error = raised.value
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.reason == "STORAGE_OBJECT_NOT_FOUND"
    assert error.state == "JOB_STATE_FAILED"
    assert "/importJobs/" in error.job


def test_export_onto_an_existing_file_fails_with_destination_exists(data, files):
    data.load_data(PEOPLE, dataset := unique())
    (files / "taken.csv").write_text("x\n")
    with pytest.raises(JobFailedError) as raised:
        data.save_data(dataset, (files / "taken.csv").as_uri())
    assert raised.value.reason == "DESTINATION_EXISTS"
    data.save_data(dataset, (files / "taken.csv").as_uri(), overwrite=True)
    assert pa_csv.read_csv(files / "taken.csv").num_rows == 4

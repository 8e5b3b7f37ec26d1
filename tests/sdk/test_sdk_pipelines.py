"""Pipeline runs through the SDK (DataManager.process_data) against a real `lepton serve`:
the committed output, a pipeline that does not fit the schema, and a failed run."""

from __future__ import annotations

import pyarrow as pa
import pytest
from support.sdk_samples import PEOPLE, unique

from lepton_ai import DataManager, DataProcessor, InvalidArgumentError, JobFailedError, col
from lepton_ai.data import PROCESSING_SERVICE

# ------------------------------------------------------------- processing (when it is served)


@pytest.fixture
def processing(data) -> DataManager:
    if data.features(PROCESSING_SERVICE) is None:
        pytest.skip(f"the server does not host {PROCESSING_SERVICE} yet")
    return data


def test_process_data_commits_the_pipeline_output(processing):
    processing.load_data(PEOPLE, source := unique())
    clean = (
        DataProcessor()
        .drop_nulls(["name", "score"])
        .filter(col("score") > 0)
        .derive("double_id", col("id") * 2)
        .select(["name", "double_id"])
    )
    version = processing.process_data(source, clean, output := unique(), tags=["clean"])
    assert version.name.startswith(f"datasets/{output}/versions/")
    assert version.tags == ["clean"]
    assert version.lineage.source.startswith("pipelineRuns/")
    assert processing.read(version).to_pydict() == {"name": ["ada"], "double_id": [2]}


def test_pipeline_that_does_not_fit_the_schema_names_the_step(processing):
    processing.load_data(PEOPLE, source := unique())
    broken = DataProcessor().drop_nulls().filter(col("missing") > 1)
    with pytest.raises(InvalidArgumentError) as raised:
        processing.process_data(source, broken)
    assert raised.value.reason == "COLUMN_NOT_FOUND"
    assert raised.value.metadata["step_index"] == "1"


def test_failed_run_raises_job_failed_error(processing):
    processing.load_data(pa.table({"s": ["1", "x"]}), source := unique())
    with pytest.raises(JobFailedError) as raised:
        processing.process_data(source, DataProcessor().cast({"s": "int64"}))
    assert raised.value.reason == "CAST_FAILED"

"""A per-creator quota of unfinished training jobs (TRN-033): the job past it is refused
with RESOURCE_EXHAUSTED, QUOTA_EXCEEDED and the limit in its metadata, and creates nothing;
once a job finishes there is room again."""

from __future__ import annotations

import pyarrow as pa
import pytest
from support.servers import start_server

from lepton_ai import DataManager, JobFailedError, ResourceExhaustedError, Trainer, TrainingClient


@pytest.fixture(scope="module")
def training(tmp_path_factory):
    server = start_server(
        ["--services", "data,training", "--training-max-jobs-per-creator", "1"],
        tmp_path_factory.mktemp("quota"),
    )
    with DataManager.connect(server.address, progress=False) as data:
        data.load_data(pa.table({"x": [1.0, 2.0]}), "rows")
    with TrainingClient.connect(server.address, progress=False) as client:
        yield client
    server.stop()


def test_the_job_past_the_quota_is_refused_until_one_finishes(training):
    long = Trainer("lepton.conformance", steps=100_000, step_seconds=0.05)
    first = training.fit("rows", long)
    with pytest.raises(ResourceExhaustedError) as refused:
        training.fit("rows", long)
    assert refused.value.reason == "QUOTA_EXCEEDED"
    assert refused.value.metadata["quota"] == "1"
    assert refused.value.metadata["available"] == "0"
    assert [job.name for job in training.jobs()] == [first.name]
    first.cancel()
    with pytest.raises(JobFailedError):
        first.wait()
    training.fit("rows", Trainer("lepton.conformance", steps=1), wait=True)

"""Jobs a stopped server left unfinished: FAILED at the next start, and still listed under the
collection they were created in."""

from __future__ import annotations

from lepton.registry.v1.conversion_job_pb2 import ConversionJob
from lepton.type.v1 import job_pb2
from lepton_server.aip.jobs.runner import INTERRUPTED, JobRunner
from lepton_server.aip.jobs.store import JobTable

KIND = "conversionJobs"
COLLECTION = "models/churn/conversionJobs"


def test_an_interrupted_job_fails_and_stays_in_its_collection(tmp_path):
    table = JobTable(tmp_path / "jobs.sqlite")
    job = ConversionJob(name=f"{COLLECTION}/c-1")
    job.status.state = job_pb2.JOB_STATE_RUNNING
    table.put(job.name, KIND, COLLECTION, 1, job.SerializeToString(), state=job.status.state)
    runner = JobRunner(table, {KIND: ConversionJob})
    assert runner.fail_interrupted() == 1
    (listed,) = runner.list(KIND, COLLECTION)
    assert listed.name == job.name
    assert listed.status.state == job_pb2.JOB_STATE_FAILED
    assert listed.status.error.reason == INTERRUPTED
    table.close()

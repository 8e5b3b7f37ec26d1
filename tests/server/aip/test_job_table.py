"""The job table counts jobs by state without decoding them, also in a table an earlier
server wrote before states were kept beside the jobs."""

from __future__ import annotations

import sqlite3

from lepton.registry.v1.conversion_job_pb2 import ConversionJob
from lepton.type.v1 import job_pb2
from lepton_server.aip.jobs.runner import JobRunner
from lepton_server.aip.jobs.store import JobTable

KIND = "conversionJobs"
S = job_pb2


def _job(number: int, state: int) -> ConversionJob:
    job = ConversionJob(name=f"models/churn/conversionJobs/c-{number}")
    job.status.state = state
    return job


def test_counts_follow_every_stored_change(tmp_path):
    table = JobTable(tmp_path / "jobs.sqlite")
    for number, state in enumerate([S.JOB_STATE_QUEUED, S.JOB_STATE_QUEUED, S.JOB_STATE_FAILED]):
        job = _job(number, state)
        table.put(job.name, KIND, "models/churn", number, job.SerializeToString(), state=state)
    assert JobRunner(table, {KIND: ConversionJob}).counts() == {
        (KIND, S.JOB_STATE_QUEUED): 2,
        (KIND, S.JOB_STATE_FAILED): 1,
    }
    done = _job(0, S.JOB_STATE_SUCCEEDED)
    table.put(
        done.name, KIND, "models/churn", 0, done.SerializeToString(), state=S.JOB_STATE_SUCCEEDED
    )
    table.delete(_job(2, 0).name)
    assert table.counts() == {(KIND, S.JOB_STATE_QUEUED): 1, (KIND, S.JOB_STATE_SUCCEEDED): 1}
    table.close()


def test_a_table_without_states_gets_them_from_its_jobs(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as db:  # the table as servers before this one wrote it
        db.execute(
            "CREATE TABLE jobs (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "parent TEXT NOT NULL, create_time INTEGER NOT NULL, message BLOB NOT NULL)"
        )
        for number, state in enumerate([S.JOB_STATE_RUNNING, S.JOB_STATE_SUCCEEDED]):
            job = _job(number, state)
            db.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?)",
                (job.name, KIND, "models/churn", number, job.SerializeToString()),
            )
    db.close()
    runner = JobRunner(JobTable(path), {KIND: ConversionJob})
    assert runner.counts() == {(KIND, S.JOB_STATE_RUNNING): 1, (KIND, S.JOB_STATE_SUCCEEDED): 1}
    assert runner.fail_interrupted() == 1
    assert runner.counts() == {(KIND, S.JOB_STATE_FAILED): 1, (KIND, S.JOB_STATE_SUCCEEDED): 1}


def test_a_parents_jobs_are_found_and_counted_without_reading_every_job(tmp_path):
    """Deleting, listing and counting a long-running server's jobs read an index, also in a
    table an earlier server wrote without one."""
    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE jobs (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "parent TEXT NOT NULL, create_time INTEGER NOT NULL, message BLOB NOT NULL)"
        )
    db.close()
    table = JobTable(path)
    statements: list[str] = []
    table._db.set_trace_callback(statements.append)
    table.rows(KIND, "models/churn")
    table.counts()
    table.delete_under("models/churn")
    table._db.set_trace_callback(None)
    assert len(statements) == 3
    for statement in statements:
        plan = table._db.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
        assert not any(
            detail.startswith("SCAN jobs") and "INDEX" not in detail for *_, detail in plan
        ), (statement, plan)
    table.close()

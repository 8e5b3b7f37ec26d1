"""A long-running server keeps in memory only the jobs that are not finished: a finished job is
read from the job table, so the hour's soak (tests/support/soak.py), which runs an import job
every second or so, does not grow the server by each one it ran."""

from __future__ import annotations

import grpc
import pyarrow as pa
import pyarrow.csv as pa_csv
from support.hosting import hosted

from lepton.data.v1 import dataset_pb2, file_format_pb2, import_job_pb2
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.type.v1 import job_pb2
from lepton_server.config import ServerConfig
from lepton_server.runtime import process_services

JOBS = 25


def _import(stub: pb_grpc.DatasetServiceStub, uri: str) -> import_job_pb2.ImportJob:
    """One OVERWRITE import of `uri` into datasets/t, watched to its end."""
    job = import_job_pb2.ImportJob(
        source_uris=[uri],
        format=file_format_pb2.FormatSpec(format=file_format_pb2.FILE_FORMAT_CSV),
        mode=dataset_pb2.WRITE_MODE_OVERWRITE,
    )
    created = stub.CreateImportJob(
        pb.CreateImportJobRequest(parent="datasets/t", import_job=job), timeout=30
    ).import_job
    last = created
    for message in stub.WatchImportJob(pb.WatchImportJobRequest(name=created.name), timeout=30):
        last = message.import_job
    return last


def test_finished_import_jobs_are_read_from_the_table_not_kept_in_memory(tmp_path):
    (tmp_path / "files").mkdir()
    source = tmp_path / "files" / "rows.csv"
    pa_csv.write_csv(pa.table({"id": list(range(100))}), source)
    config = ServerConfig(data_dir=tmp_path, services=("data",))
    with hosted(config, []) as address, grpc.insecure_channel(address) as channel:
        stub = pb_grpc.DatasetServiceStub(channel)
        stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="t"), timeout=30)
        finished = [_import(stub, source.as_uri()) for _ in range(JOBS)]
        # Every Watch ended with the job SUCCEEDED, and Get and List still find each one.
        assert {job.status.state for job in finished} == {job_pb2.JOB_STATE_SUCCEEDED}
        got = stub.GetImportJob(pb.GetImportJobRequest(name=finished[0].name), timeout=30)
        assert got.import_job.output_version == finished[0].output_version
        assert got.import_job.status.state == job_pb2.JOB_STATE_SUCCEEDED
        listed = stub.ListImportJobs(
            pb.ListImportJobsRequest(parent="datasets/t", page_size=100), timeout=30
        )
        assert len(listed.import_jobs) == JOBS
        # A Watch of a finished job sends it once and ends.
        watched = list(
            stub.WatchImportJob(pb.WatchImportJobRequest(name=finished[-1].name), timeout=30)
        )
        assert [m.import_job.status.state for m in watched] == [job_pb2.JOB_STATE_SUCCEEDED]

        catalog = process_services.find(tmp_path, "data.catalog")
        runner = catalog.in_use.__self__.runner  # the data layer's JobRunner
        kept = {
            "live": runner._live,
            "meta": runner._meta,
            "conditions": runner._changed,
            "revisions": runner._revision,
            "progress notices": runner._last_progress_notice,
            "tasks": runner._tasks,
        }
        assert {what: len(entries) for what, entries in kept.items()} == dict.fromkeys(kept, 0)

"""Import and export jobs with real storage: local files and an S3-protocol server (moto) on
loopback, read and written through pyarrow.fs (spec/data.md §5, §8.7, §8.8)."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import time

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.data.v1 import export_job_pb2, import_job_pb2
from lepton.data.v1 import file_format_pb2 as ff
from lepton.type.v1 import job_pb2
from lepton_server.data.table_digest import content_digest

CSV = ff.FormatSpec(format=ff.FILE_FORMAT_CSV)
PARQUET = ff.FormatSpec(format=ff.FILE_FORMAT_PARQUET)
JSONL = ff.FormatSpec(format=ff.FILE_FORMAT_JSON_LINES)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def served(server_factory, tmp_path, monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    files = tmp_path / "files"
    files.mkdir()
    server = server_factory("--file-root", str(files))
    stub = pb_grpc.DatasetServiceStub(grpc.insecure_channel(server.address))
    stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="table"), timeout=10)
    return stub, files


def _finish(stub, name: str, kind: str = "import"):
    watch = stub.WatchImportJob if kind == "import" else stub.WatchExportJob
    request = (pb.WatchImportJobRequest if kind == "import" else pb.WatchExportJobRequest)(
        name=name
    )
    last = None
    for message in watch(request, timeout=60):
        last = message.import_job if kind == "import" else message.export_job
    return last


def _import(stub, uris, spec=CSV, mode=resources.WRITE_MODE_OVERWRITE, **fields):
    job = import_job_pb2.ImportJob(source_uris=uris, format=spec, mode=mode, **fields)
    created = stub.CreateImportJob(
        pb.CreateImportJobRequest(parent="datasets/table", import_job=job), timeout=10
    ).import_job
    return _finish(stub, created.name)


def _export(stub, destination, spec=PARQUET, **fields):
    job = export_job_pb2.ExportJob(
        version="datasets/table/versions/v1", destination_uri=destination, format=spec, **fields
    )
    created = stub.CreateExportJob(
        pb.CreateExportJobRequest(parent="datasets/table", export_job=job), timeout=10
    ).export_job
    return _finish(stub, created.name, "export")


def _rows(stub, version: str) -> pa.Table:
    responses = list(stub.ReadVersion(pb.ReadVersionRequest(name=version), timeout=30))
    schema = pa.ipc.read_schema(pa.py_buffer(responses[0].header.arrow_schema))
    return pa.Table.from_batches(
        [pa.ipc.read_record_batch(pa.py_buffer(r.arrow_record_batch), schema) for r in responses],
        schema=schema,
    )


def test_csv_import_infers_types_and_reads_default_nulls(served):
    stub, files = served
    (files / "people.csv").write_text("id,name,score\n1,ann,0.5\n2,,NA\n3,cy,1.25\n")
    job = _import(stub, [f"file://{files}/people.csv"], tags=["raw"])
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED
    version = stub.GetVersion(pb.GetVersionRequest(name="datasets/table/tags/raw")).version
    assert version.name == job.output_version
    assert version.lineage.origin == resources.VERSION_ORIGIN_IMPORT
    assert version.lineage.source == job.name
    assert [(f.name, f.type) for f in version.schema.fields] == [
        ("id", "int64"),
        ("name", "string"),
        ("score", "double"),
    ]
    assert _rows(stub, version.name).to_pydict() == {
        "id": [1, 2, 3],
        "name": ["ann", None, "cy"],
        "score": [0.5, None, 1.25],
    }


def test_directory_import_reads_files_in_path_order_and_skips_hidden_ones(served):
    stub, files = served
    (files / "dir" / "b").mkdir(parents=True)
    (files / "dir" / "a.csv").write_text("x\n1\n")
    (files / "dir" / "b" / "c.csv.gz").write_bytes(gzip.compress(b"x\n2\n"))
    (files / "dir" / "_SUCCESS").write_text("")
    (files / "dir" / ".hidden.csv").write_text("x\n9\n")
    job = _import(stub, [f"file://{files}/dir/"])
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED
    assert job.source_file_count == 2
    assert _rows(stub, job.output_version).column("x").to_pylist() == [1, 2]


def test_only_gz_bz2_and_zst_names_are_read_as_compressed(served):
    """DAT-072: other files are read uncompressed, whatever else their name ends in."""
    stub, files = served
    (files / "plain.csv.lz4").write_text("x\n7\n")
    job = _import(stub, [f"file://{files}/plain.csv.lz4"])
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status.error
    assert _rows(stub, job.output_version).column("x").to_pylist() == [7]


def test_missing_source_fails_the_job_with_storage_object_not_found(served):
    stub, files = served
    job = _import(stub, [f"file://{files}/nope.csv"])
    assert job.status.state == job_pb2.JOB_STATE_FAILED
    assert (job.status.error.code, job.status.error.reason) == (5, "STORAGE_OBJECT_NOT_FOUND")
    assert stub.GetDataset(pb.GetDatasetRequest(name="datasets/table")).dataset.version_count == 0


def test_malformed_source_fails_with_source_parse_error(served):
    stub, files = served
    (files / "bad.csv").write_text('a,b\n1,2\n"unterminated\n')
    job = _import(stub, [f"file://{files}/bad.csv"])
    assert job.status.error.reason == "SOURCE_PARSE_ERROR"
    assert job.status.error.metadata["uri"] == f"file://{files}/bad.csv"


def test_an_arrow_schema_column_the_csv_lacks_is_a_source_parse_error(served):
    stub, files = served
    (files / "ab.csv").write_text("a,b\n1,2\n")
    schema = pa.schema([("a", pa.int64()), ("c", pa.int64())]).serialize().to_pybytes()
    job = _import(stub, [f"file://{files}/ab.csv"], arrow_schema=schema)
    assert (job.status.error.code, job.status.error.reason) == (3, "SOURCE_PARSE_ERROR")
    assert '"c"' in job.status.error.message


def test_file_outside_the_roots_is_refused_before_reading(served):
    stub, _ = served
    with pytest.raises(grpc.RpcError) as error:
        _import(stub, ["file:///etc/hostname"])
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_parquet_export_then_import_keeps_types_and_digest(served):
    stub, files = served
    (files / "in.jsonl").write_text(
        json.dumps({"id": 1, "tags": ["a", "b"], "t": "2024-01-01T00:00:00"})
        + "\n"
        + json.dumps({"id": 2, "tags": [], "t": None})
        + "\n"
    )
    first = _import(stub, [f"file://{files}/in.jsonl"], spec=JSONL)
    exported = _export(stub, f"file://{files}/out/", max_rows_per_file=1)
    assert exported.status.state == job_pb2.JOB_STATE_SUCCEEDED
    assert [u.rsplit("/", 1)[1] for u in exported.output_uris] == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    again = _import(stub, [f"file://{files}/out/"], spec=PARQUET)
    original = stub.GetVersion(pb.GetVersionRequest(name=first.output_version)).version
    copy = stub.GetVersion(pb.GetVersionRequest(name=again.output_version)).version
    assert copy.content_digest.hex == original.content_digest.hex
    assert [f.type for f in copy.schema.fields] == [f.type for f in original.schema.fields]


def test_export_refuses_an_existing_destination_without_overwrite(served):
    stub, files = served
    (files / "a.csv").write_text("x\n1\n")
    _import(stub, [f"file://{files}/a.csv"])
    (files / "taken.csv").write_text("already here")
    job = _export(stub, f"file://{files}/taken.csv", spec=CSV)
    assert (job.status.state, job.status.error.reason) == (
        job_pb2.JOB_STATE_FAILED,
        "DESTINATION_EXISTS",
    )
    assert (files / "taken.csv").read_text() == "already here"
    done = _export(stub, f"file://{files}/taken.csv", spec=CSV, overwrite=True)
    assert done.status.state == job_pb2.JOB_STATE_SUCCEEDED
    assert (files / "taken.csv").read_text() == '"x"\n1\n'


# Lines beyond the first piece (16 MiB) an import parses of a text file.
LATE = 2_000_000


def test_a_json_lines_key_first_seen_late_widens_the_import(served):
    """The import reads a file in blocks, but a later block that holds a wider type or a new
    key changes the columns as reading the whole file would (spec/data.md §5.2)."""
    stub, files = served
    lines = [json.dumps({"a": i}) for i in range(LATE)] + [json.dumps({"a": 1.5, "b": "x"})]
    (files / "late.jsonl").write_text("\n".join(lines) + "\n")
    job = _import(stub, [f"file://{files}/late.jsonl"], JSONL)
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status.error
    assert job.read_row_count == LATE + 1
    rows = _rows(stub, job.output_version)
    assert [str(t) for t in rows.schema.types] == ["double", "string"]
    assert rows.column("a").to_pylist() == [*map(float, range(LATE)), 1.5]
    assert rows.column("b").null_count == LATE


def test_an_import_failing_in_a_late_block_commits_nothing_and_leaves_no_segment(served):
    """Its first blocks were already written to a new segment when a value does not convert;
    the job fails and the segment goes (DAT-069)."""
    stub, files = served
    (files / "fine.csv").write_text("x\n1\n")
    first = _import(stub, [f"file://{files}/fine.csv"])
    data_dir = next(files.parent.glob("data-*"))
    before = sorted(p.name for p in data_dir.rglob("*") if p.is_file())
    lines = "".join(f"{i}\n" for i in range(LATE * 3 // 2))  # 23 MiB: two pieces
    (files / "bad.csv").write_text("x\n" + lines + "oops\n")
    schema = pa.schema([("x", pa.int64())]).serialize().to_pybytes()
    job = _import(stub, [f"file://{files}/bad.csv"], arrow_schema=schema)
    assert (job.status.error.code, job.status.error.reason) == (3, "SOURCE_PARSE_ERROR")
    latest = stub.GetDataset(pb.GetDatasetRequest(name="datasets/table")).dataset
    assert latest.version_count == 1
    after = sorted(p.name for p in data_dir.rglob("*") if p.is_file())
    segments = [name for name in after if name.endswith((".arrow", ".tmp"))]
    assert segments == [name for name in before if name.endswith((".arrow", ".tmp"))], after
    assert _rows(stub, first.output_version).column("x").to_pylist() == [1]


def test_cancelling_a_finished_job_is_failed_precondition(served):
    stub, files = served
    (files / "a.csv").write_text("x\n1\n")
    job = _import(stub, [f"file://{files}/a.csv"])
    with pytest.raises(grpc.RpcError) as error:
        stub.CancelImportJob(pb.CancelImportJobRequest(name=job.name), timeout=10)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3(monkeypatch):
    """A moto S3 server on loopback with one bucket, and the options to reach it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"127.0.0.1:{port}"
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    filesystem = fs.S3FileSystem(
        endpoint_override=endpoint,
        scheme="http",
        region="us-east-1",
        access_key="testing",
        allow_bucket_creation=True,
        secret_key="testing",
    )
    for _ in range(300):  # moto takes a few seconds to start
        try:
            filesystem.create_dir("lepton-bucket")
            break
        except OSError:
            time.sleep(0.1)
    else:
        pytest.fail("the S3 server did not start")
    yield filesystem, ff.StorageOptions(endpoint_override=f"http://{endpoint}", region="us-east-1")
    process.terminate()
    process.wait(timeout=10)


def test_s3_import_and_export_through_a_real_s3_protocol_server(served, s3):
    stub, _ = served
    filesystem, options = s3
    table = pa.table({"k": [1, 2, 3], "v": ["x", None, "z"]})
    with filesystem.open_output_stream("lepton-bucket/in/data.parquet") as sink:
        pq.write_table(table, sink)
    job = _import(stub, ["s3://lepton-bucket/in/"], spec=PARQUET, storage_options=options)
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status.error.message
    assert _rows(stub, job.output_version).to_pydict() == table.to_pydict()
    exported = _export(stub, "s3://lepton-bucket/out/", spec=CSV, storage_options=options)
    assert exported.status.state == job_pb2.JOB_STATE_SUCCEEDED, exported.status.error.message
    with filesystem.open_input_stream("lepton-bucket/out/part-00000.csv") as source:
        assert source.read().decode().splitlines() == ['"k","v"', '1,"x"', "2,", '3,"z"']
    version = stub.GetVersion(pb.GetVersionRequest(name=job.output_version)).version
    assert version.content_digest.hex == content_digest(table)

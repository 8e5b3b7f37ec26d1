"""`lepton serve --storage-uri`: version segments on any pyarrow.fs URI — an S3-protocol server
(moto) on loopback, a `file://` directory or a plain path — with metadata still in SQLite under
--data-dir; versions survive restarts, deleted datasets and unreferenced objects go, and an
unusable URI stops the server at start with one line on stderr."""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import fs
from support.servers import SERVE, ServerProcess, start_server

from lepton_ai import DataManager

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["ada", None, "cy"]})
MORE = pa.table({"id": pa.array([4], pa.int64()), "name": ["dan"]})


@dataclass(frozen=True)
class Bucket:
    """A fresh bucket on the loopback S3 server and the URI of a prefix in it."""

    filesystem: fs.S3FileSystem
    name: str
    endpoint: str

    def uri(self, bucket: str | None = None, options: str = "") -> str:
        query = f"endpoint_override={self.endpoint}&scheme=http{options}"
        return f"s3://{bucket or self.name}/prefix?{query}"

    @property
    def datasets(self) -> str:
        return f"{self.name}/prefix/datasets"

    def objects(self, suffix: str = ".arrow") -> list[str]:
        """Paths of the objects below the datasets prefix whose names end in `suffix`: the
        segments, by default (beside each, `.leaves` keeps its digest's leaves)."""
        selector = fs.FileSelector(self.datasets, recursive=True, allow_not_found=True)
        infos = self.filesystem.get_file_info(selector)
        return sorted(
            i.path for i in infos if i.type == fs.FileType.File and i.path.endswith(suffix)
        )


@pytest.fixture
def bucket(s3_bucket, s3_endpoint) -> Bucket:
    filesystem, name = s3_bucket
    return Bucket(filesystem, name, s3_endpoint)


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[[str], ServerProcess]]:
    """Starts `lepton serve --storage-uri URI`, always on the same data directory, so a second
    call after stopping the first is a restart; stops every server at teardown."""
    started: list[ServerProcess] = []

    def start(uri: str) -> ServerProcess:
        server = start_server(["--storage-uri", uri], tmp_path / "data")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _connect(server: ServerProcess) -> DataManager:
    return DataManager.connect(server.address, progress=False)


def _local_segments(root: Path) -> list[Path]:
    return sorted(root.rglob("*.arrow"))


def test_a_written_version_is_one_object_in_the_bucket_and_reads_back(bucket, serve, tmp_path):
    server = serve(bucket.uri())
    with _connect(server) as data:
        data.load_data(ROWS, "people")
        assert data.read("people").equals(ROWS)
    (segment,) = bucket.objects()
    assert segment.startswith(f"{bucket.datasets}/")
    assert segment.rsplit("/", 3)[-2] == "segments" and segment.endswith(".arrow")
    with bucket.filesystem.open_input_file(segment) as source:
        assert pa.ipc.open_file(source).read_all().equals(ROWS)
    assert _local_segments(tmp_path / "data") == []  # metadata only under --data-dir
    assert (tmp_path / "data" / "data" / "catalog.sqlite").exists()


def test_encrypted_segments_on_an_object_store_read_back_and_rekey(bucket, tmp_path):
    """With --encryption-key-file each object is sealed and its key record is an object of
    its own beside it; `lepton rekey --storage-uri` re-wraps those records in the bucket."""
    keys = tmp_path / "keys"
    old, new = secrets.token_hex(32), secrets.token_hex(32)
    keys.write_text(f"k1 {old}\n")
    keys.chmod(0o600)
    args = ["--storage-uri", bucket.uri(), "--encryption-key-file", str(keys)]
    server = start_server(args, tmp_path / "data")
    try:
        with _connect(server) as data:
            data.load_data(ROWS, "people")
            data.load_data(MORE, "people", mode="append")
    finally:
        server.stop()
    segments = bucket.objects()
    assert bucket.objects(".dek") == [f"{s}.dek" for s in segments]
    for segment in segments:
        with bucket.filesystem.open_input_stream(segment) as source:
            assert b"ada" not in source.read()
    keys.write_text(f"k2 {new}\nk1 {old}\n")
    rekey = [*SERVE, "rekey", "--data-dir", str(tmp_path / "data"), "--encryption-key-file"]
    rekey += [str(keys), "--storage-uri", bucket.uri()]
    done = subprocess.run(rekey, capture_output=True, text=True, timeout=60, check=True)
    assert "2 data keys re-wrapped, 0 already were" in done.stdout
    keys.write_text(f"k2 {new}\n")
    server = start_server(args, tmp_path / "data")
    try:
        with _connect(server) as data:
            assert data.read("people").equals(pa.concat_tables([ROWS, MORE]))
    finally:
        server.stop()


def test_versions_survive_a_restart_on_the_same_data_dir_and_uri(bucket, serve):
    first = serve(bucket.uri())
    with _connect(first) as data:
        data.load_data(ROWS, "people")
        data.load_data(MORE, "people", mode="append")
    assert first.stop() == 0
    with _connect(serve(bucket.uri())) as data:
        assert data.read("people").equals(pa.concat_tables([ROWS, MORE]))
        assert data.get_dataset("people").version_count == 2
    assert len(bucket.objects()) == 2  # the append added one segment, the parent's is shared
    assert len(bucket.objects(".leaves")) == 2  # kept through the restart
    assert len(bucket.objects("")) == 4


def test_deleting_a_dataset_removes_its_objects(bucket, serve):
    with _connect(serve(bucket.uri())) as data:
        data.load_data(ROWS, "people")
        data.load_data(ROWS, "kept")
        assert len(bucket.objects()) == 2
        data.delete_dataset("people", force=True)
        (kept,) = bucket.objects()
        assert data.read("kept").equals(ROWS)
    with bucket.filesystem.open_input_file(kept) as source:
        assert pa.ipc.open_file(source).read_all().equals(ROWS)


def test_an_unreferenced_object_under_a_live_dataset_is_removed_at_restart(bucket, serve):
    first = serve(bucket.uri())
    with _connect(first) as data:
        data.load_data(ROWS, "people")
    (segment,) = bucket.objects()
    planted = f"{segment.rsplit('/', 1)[0]}/{uuid.uuid4().hex}.arrow"
    with bucket.filesystem.open_output_stream(planted) as sink:
        sink.write(b"an interrupted write")
    orphan = f"{bucket.datasets}/{uuid.uuid4().hex}/segments/{uuid.uuid4().hex}.arrow"
    with bucket.filesystem.open_output_stream(orphan) as sink:
        sink.write(b"a dataset no catalog knows")
    with bucket.filesystem.open_output_stream(planted.replace(".arrow", ".leaves")) as sink:
        sink.write(b"leaves of a segment that is gone")
    first.stop()
    with _connect(serve(bucket.uri())) as data:
        assert bucket.objects("") == [segment, segment.replace(".arrow", ".leaves")]
        assert data.read("people").equals(ROWS)


def test_the_server_creates_the_bucket_when_the_uri_allows_it(bucket, serve):
    created = f"lepton-{uuid.uuid4().hex[:12]}"
    server = serve(bucket.uri(created, "&allow_bucket_creation=true"))
    with _connect(server) as data:
        data.load_data(ROWS, "people")
        assert data.read("people").equals(ROWS)
    infos = bucket.filesystem.get_file_info(fs.FileSelector(created, recursive=True))
    assert any(i.path.endswith(".arrow") for i in infos)


@pytest.mark.parametrize("as_uri", [True, False], ids=["file-uri", "plain-path"])
def test_a_local_uri_puts_segments_in_that_directory(serve, tmp_path, as_uri):
    storage = tmp_path / "segments-elsewhere"
    first = serve(storage.as_uri() if as_uri else str(storage))
    with _connect(first) as data:
        data.load_data(ROWS, "people")
    (segment,) = _local_segments(storage)
    assert segment.parent.name == "segments"
    assert segment.parent.parent.parent == storage / "datasets"
    assert _local_segments(tmp_path / "data") == []
    first.stop()
    with _connect(serve(storage.as_uri() if as_uri else str(storage))) as data:
        assert data.read("people").equals(ROWS)


def _serve_fails(uri: str, data_dir: Path) -> str:
    """Run `lepton serve --storage-uri uri`; assert it exits non-zero; its stderr."""
    command = [*SERVE, "serve", "--address", "127.0.0.1:0", "--data-dir", str(data_dir)]
    result = subprocess.run(
        [*command, "--storage-uri", uri], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


def test_an_unknown_scheme_stops_the_server_with_one_line(tmp_path):
    line = _serve_fails("nosuch://bucket/prefix", tmp_path / "data")
    assert line.startswith("lepton serve: storage URI nosuch://bucket/prefix is unusable")


def test_a_missing_bucket_stops_the_server_with_one_line(bucket, tmp_path):
    missing = f"lepton-missing-{uuid.uuid4().hex[:8]}"
    line = _serve_fails(bucket.uri(missing), tmp_path / "data")
    assert line.startswith(f"lepton serve: storage URI s3://{missing}/prefix is unusable")
    assert "not found" in line
    assert "endpoint_override" not in line  # the URI's options are not echoed

"""The SDK's transfers against a real `lepton serve` on loopback: uploads and downloads of
in-memory tables and local CSV/JSON Lines/Parquet files, chunked WriteVersion streams, reads
that resume after a broken stream, local saves, and progress bars only on terminals."""

from __future__ import annotations

import datetime
import gzip
import io
import json
import secrets
import sys

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.broken_streams import BreakFirstStream
from support.sdk_samples import PEOPLE, unique

from lepton_ai import DataManager
from lepton_ai import progress as sdk_progress
from lepton_ai.data import arrow_stream

# ------------------------------------------------------------------------- loading and reading


def test_in_memory_table_round_trips(data):
    version = data.load_data(PEOPLE, "people-" + secrets.token_hex(4))
    assert version.sequence_number == 1
    assert version.row_count == 4
    assert data.read(version).equals(PEOPLE)


def test_record_batch_reader_streams_its_batches(data):
    reader = pa.RecordBatchReader.from_batches(PEOPLE.schema, PEOPLE.to_batches(max_chunksize=1))
    version = data.load_data(reader, dataset := unique())
    assert version.row_count == 4
    assert data.read(dataset).equals(PEOPLE)


def test_dict_of_columns_loads_as_a_table(data):
    dataset = unique()
    data.load_data({"x": [1, 2], "y": ["a", "b"]}, dataset)
    assert data.read(dataset).to_pydict() == {"x": [1, 2], "y": ["a", "b"]}


def test_local_csv_is_read_with_the_import_null_spellings(data, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,name,score\n1,ada,0.5\n2,NA,\n3,carl,2.25\n")
    data.load_data(path, dataset := unique())
    assert data.read(dataset).to_pydict() == {
        "id": [1, 2, 3],
        "name": ["ada", None, "carl"],
        "score": [0.5, None, 2.25],
    }


def test_local_parquet_keeps_its_types(data, tmp_path):
    table = pa.table(
        {
            "when": pa.array([datetime.datetime(2024, 5, 1, 12)], pa.timestamp("ms", tz="UTC")),
            "tags": pa.array([["a", "b"]], pa.list_(pa.string())),
            "small": pa.array([7], pa.int8()),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    data.load_data(str(tmp_path / "t.parquet"), dataset := unique())
    assert data.read(dataset).equals(table)


def test_local_gzipped_json_lines_load(data, tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"k": 1, "v": "x"}\n{"k": 2, "v": null}\n'))
    data.load_data(path, dataset := unique())
    assert data.read(dataset).to_pydict() == {"k": [1, 2], "v": ["x", None]}


def test_unknown_extension_needs_a_format(data, tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text("a\n1\n")
    with pytest.raises(ValueError, match="format="):
        data.load_data(path, unique())
    data.load_data(path, dataset := unique(), format="csv")
    assert data.read(dataset).to_pydict() == {"a": [1]}


def test_append_adds_rows_after_the_head(data):
    dataset = unique()
    first = data.load_data(PEOPLE.slice(0, 2), dataset)
    second = data.load_data(PEOPLE.slice(2), dataset, mode="append")
    assert second.parent_version == first.name
    assert second.sequence_number == 2
    assert data.read(dataset).equals(PEOPLE)


def test_read_projects_columns_and_selects_a_row_range(data):
    data.load_data(PEOPLE, dataset := unique())
    table = data.read(dataset, columns=["score", "id"], offset=1, limit=2)
    assert table.to_pydict() == {"score": [None, 2.25], "id": [2, 3]}


def test_empty_selection_keeps_the_schema(data):
    data.load_data(PEOPLE, dataset := unique())
    table = data.read(dataset, offset=4)
    assert table.num_rows == 0
    assert table.schema.equals(PEOPLE.schema)


def test_large_table_uploads_in_chunks_and_reads_back(data):
    rows = 300_000  # ~7 MiB of Arrow data: several WriteVersion chunks, several read batches
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "text": pa.array([f"row-{i:08d}" for i in range(rows)], pa.string()),
        }
    )
    version = data.load_data(table, dataset := unique())
    assert version.row_count == rows
    assert data.read(dataset).equals(table)


def test_upload_chunks_fit_the_default_grpc_message_limit():
    table = pa.table({"blob": pa.array([b"x" * 100_000] * 100, pa.binary())})  # ~10 MiB
    chunks = list(arrow_stream.ipc_chunks(table.schema, arrow_stream.batches_of(table)))
    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks) <= 3 * 1024 * 1024
    assert pa.ipc.open_stream(b"".join(chunks)).read_all().equals(table)


# ---------------------------------------------------------------------------------- saving


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.jsonl", "out.csv.gz"])
def test_save_data_writes_a_local_file_that_reads_back(data, tmp_path, name):
    data.load_data(PEOPLE, dataset := unique())
    written = data.save_data(dataset, tmp_path / name)
    assert written == [str(tmp_path / name)]
    data.load_data(tmp_path / name, copy := unique())
    assert data.read(copy).equals(PEOPLE)


def test_save_data_encodes_json_lines_like_export_jobs(data, tmp_path):
    table = pa.table(
        {
            "at": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("s", tz="UTC")),
            "day": pa.array([datetime.date(2024, 1, 2)], pa.date32()),
            "raw": pa.array([b"\x00\xff"], pa.binary()),
            "x": pa.array([float("nan")], pa.float64()),
        }
    )
    data.load_data(table, dataset := unique())
    data.save_data(dataset, tmp_path / "rows.jsonl")
    row = json.loads((tmp_path / "rows.jsonl").read_text())
    assert row == {"at": "2024-01-02T03:04:05Z", "day": "2024-01-02", "raw": "AP8=", "x": None}


def test_save_data_does_not_replace_a_local_file_unless_asked(data, tmp_path):
    data.load_data(PEOPLE, dataset := unique())
    target = tmp_path / "out.parquet"
    target.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        data.save_data(dataset, target)
    data.save_data(dataset, target, overwrite=True, columns=["id"])
    assert pq.read_table(target).to_pydict() == {"id": [1, 2, 3, 4]}


# ----------------------------------------------------------------- resumption after a break


def test_broken_read_resumes_from_the_next_batch(shared):
    table = pa.table({"n": pa.array(range(1000), pa.int64())})
    breaker = BreakFirstStream("ReadVersion", after=2)
    channel = grpc.intercept_channel(grpc.insecure_channel(shared[0]), breaker)
    with DataManager(channel, progress=False) as data:
        version = data.load_data(table, unique())
        tag = data.tag(version, "resume")
        assert data.read(tag.name, batch_rows=100).equals(table)
    first, resumed = breaker.requests
    assert (first.name, first.start_batch_index) == (tag.name, 0)
    assert resumed.name == version.name  # the canonical version, not the tag
    assert (resumed.batch_rows, resumed.start_batch_index) == (100, 2)


# ------------------------------------------------------------------------------ progress


def test_no_progress_bar_when_not_attached_to_a_terminal(shared, capsys, monkeypatch):
    monkeypatch.setattr(sdk_progress, "PROGRESS_DELAY_SECONDS", 0)
    with DataManager.connect(shared[0]) as data:  # progress=None: decided by the terminal
        data.load_data(PEOPLE, dataset := unique())
        data.read(dataset)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(shared, monkeypatch):
    monkeypatch.setattr(sdk_progress, "PROGRESS_DELAY_SECONDS", 0)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with DataManager.connect(shared[0]) as data:
        data.load_data(PEOPLE, unique())
    assert "Uploading to datasets/" in terminal.getvalue()


def test_quick_transfers_draw_no_bar_even_on_a_terminal(shared, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sdk_progress, "PROGRESS_DELAY_SECONDS", 60)
    with DataManager.connect(shared[0]) as data:
        data.load_data(PEOPLE, unique())
    assert terminal.getvalue() == ""

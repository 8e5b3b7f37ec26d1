"""Version data on disk: each version is a list of immutable segments, Arrow IPC files under
`<root>/datasets/<dataset uid>/segments/<segment>.arrow`.

An APPEND version reuses its parent's segments and adds one for the new rows, so appending
costs the new rows only. A segment is written to a temporary file, flushed to disk and
renamed into place before the metadata transaction that makes a version refer to it; a crash
at any moment leaves at worst an unreferenced segment, which `collect_garbage` removes at
start (DAT-026)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pyarrow as pa

SUFFIX = ".arrow"
TMP_SUFFIX = ".tmp"


class VersionStorage:
    """Segments of every dataset below one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root / "datasets"
        self.root.mkdir(parents=True, exist_ok=True)

    def _segments(self, dataset_uid: str) -> Path:
        return self.root / dataset_uid / "segments"

    def write_segment(self, dataset_uid: str, table: pa.Table) -> str:
        """Write `table` durably as a new segment; its id."""
        directory = self._segments(dataset_uid)
        directory.mkdir(parents=True, exist_ok=True)
        segment = uuid.uuid4().hex
        final = directory / f"{segment}{SUFFIX}"
        temporary = directory / f"{segment}{TMP_SUFFIX}"
        with open(temporary, "wb") as sink:
            with pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table, max_chunksize=64 * 1024)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, final)
        _fsync_directory(directory)
        return segment

    def read(self, dataset_uid: str, segments: list[str], schema: pa.Schema) -> pa.Table:
        """The rows of `segments`, in order, as one table of `schema` (memory-mapped)."""
        tables = []
        for segment in segments:
            source = pa.memory_map(str(self._segments(dataset_uid) / f"{segment}{SUFFIX}"))
            table = pa.ipc.open_file(source).read_all()
            tables.append(table.cast(schema) if table.schema != schema else table)
        if not tables:
            return schema.empty_table()
        return pa.concat_tables(tables)

    def size_bytes(self, dataset_uid: str, segments: list[str]) -> int:
        directory = self._segments(dataset_uid)
        return sum((directory / f"{s}{SUFFIX}").stat().st_size for s in segments)

    def delete_dataset(self, dataset_uid: str) -> None:
        shutil.rmtree(self.root / dataset_uid, ignore_errors=True)

    def collect_garbage(self, live_datasets: set[str], referenced: set[str]) -> int:
        """Remove what no committed version refers to: temporary files, segments of failed
        or interrupted writes and directories of deleted datasets. Returns files removed."""
        removed = 0
        for dataset_dir in self.root.iterdir():
            if dataset_dir.name not in live_datasets:
                removed += sum(1 for _ in dataset_dir.rglob("*") if _.is_file())
                shutil.rmtree(dataset_dir, ignore_errors=True)
                continue
            for path in self._segments(dataset_dir.name).glob("*"):
                if path.name.endswith(TMP_SUFFIX) or path.stem not in referenced:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


def _fsync_directory(directory: Path) -> None:
    # The rename itself must survive a crash, not only the file's bytes.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

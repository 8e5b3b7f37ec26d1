"""What `DataManager.load_data` accepts and how it tells the cases apart: storage URIs the
server imports itself, local files read here, and in-memory Arrow data (pyarrow tables,
record batches and readers, dicts of columns, any object exporting an Arrow stream)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton_ai.data import file_formats
from lepton_ai.data.file_formats import FormatLike
from lepton_ai.data.storage import StorageManager, is_uri

TableSource = pa.Table | pa.RecordBatch | pa.RecordBatchReader | Mapping[str, Any]
Source = TableSource | str | Path | Sequence[str]
WriteModeLike = Literal["overwrite", "append"] | int
WRITE_MODES = {"overwrite": resources.WRITE_MODE_OVERWRITE, "append": resources.WRITE_MODE_APPEND}


def write_mode(mode: WriteModeLike) -> int:
    """The WriteMode value of "overwrite" or "append" (or of a WriteMode value itself)."""
    if isinstance(mode, int):
        return mode
    try:
        return WRITE_MODES[mode.lower()]
    except KeyError:
        raise ValueError(f"mode must be 'overwrite' or 'append', not {mode!r}") from None


def storage_uris(source: Source, storage: StorageManager | None) -> list[str] | None:
    """The storage URIs `source` names, or None for data to upload from here."""
    if isinstance(source, str):
        if storage is not None:
            return [storage.join(source)]
        return [source] if is_uri(source) else None
    if isinstance(source, list | tuple) and source and all(isinstance(s, str) for s in source):
        uris = [storage.join(s) if storage is not None else s for s in source]
        local = [u for u in uris if not is_uri(u)]
        if local:
            raise ValueError(f"{local[0]!r} is not a storage URI; pass storage=")
        return uris
    return None


def arrow_data(source: Source, format: FormatLike) -> pa.Table | pa.RecordBatchReader:
    """The Arrow data to upload for a source that names no storage URI: a local file read
    here (`format` or its extension says how), or in-memory data."""
    if isinstance(source, str | Path):
        return file_formats.read_local(source, file_formats.format_spec(format, source))
    if isinstance(source, pa.Table | pa.RecordBatchReader):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if isinstance(source, Mapping):
        return pa.table(source)
    if hasattr(source, "__arrow_c_stream__"):  # pandas >= 2.2, polars, DuckDB results, ...
        return pa.table(source)
    raise TypeError(f"cannot load {type(source).__name__}; pass a path, a URI or Arrow data")

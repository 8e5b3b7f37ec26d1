"""CSV, JSON Lines and Parquet on the client: choosing a FormatSpec from a name or a file
extension, and reading and writing local files with the semantics import and export jobs
have on the server (spec/data.md §5.2), so that a local load and an import of the same file
give the same table. The annotation formats (Label Studio JSON, COCO JSON, YOLO) are named
here too, but only the server writes them, in export jobs of annotation export versions."""

from __future__ import annotations

import base64
import datetime
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from lepton.data.v1 import file_format_pb2 as ff

FormatLike = str | int | ff.FormatSpec | None

FORMAT_NAMES = {
    "csv": ff.FILE_FORMAT_CSV,
    "json": ff.FILE_FORMAT_JSON_LINES,
    "jsonl": ff.FILE_FORMAT_JSON_LINES,
    "json_lines": ff.FILE_FORMAT_JSON_LINES,
    "ndjson": ff.FILE_FORMAT_JSON_LINES,
    "parquet": ff.FILE_FORMAT_PARQUET,
    "pq": ff.FILE_FORMAT_PARQUET,
}
# Export-only formats: by name only (never from an extension, ".json" is JSON Lines), and
# written only by the server, e.g. save_data(version, "file:///out/coco.json", format="coco").
EXPORT_ONLY_NAMES = {
    "label-studio": ff.FILE_FORMAT_LABEL_STUDIO_JSON,
    "label_studio": ff.FILE_FORMAT_LABEL_STUDIO_JSON,
    "labelstudio": ff.FILE_FORMAT_LABEL_STUDIO_JSON,
    "coco": ff.FILE_FORMAT_COCO_JSON,
    "yolo": ff.FILE_FORMAT_YOLO,
}
EXPORT_ONLY = frozenset(EXPORT_ONLY_NAMES.values())
COMPRESSION_SUFFIXES = {
    "gz": ff.COMPRESSION_GZIP,
    "bz2": ff.COMPRESSION_BZ2,
    "zst": ff.COMPRESSION_ZSTD,
}
ARROW_CODECS = {ff.COMPRESSION_GZIP: "gzip", ff.COMPRESSION_BZ2: "bz2", ff.COMPRESSION_ZSTD: "zstd"}
PARQUET_CODECS = {
    ff.COMPRESSION_UNSPECIFIED: "snappy",
    ff.COMPRESSION_NONE: "none",
    ff.COMPRESSION_SNAPPY: "snappy",
    ff.COMPRESSION_GZIP: "gzip",
    ff.COMPRESSION_ZSTD: "zstd",
    ff.COMPRESSION_LZ4: "lz4",
}
# The null spellings CSV imports use when CsvOptions.null_values is empty (§5.2).
DEFAULT_NULLS = ["", "NA", "N/A", "NULL", "null"]
JSON_BATCH_ROWS = 65_536


def _suffixes(location: str) -> tuple[str, str]:
    """(format suffix, compression suffix) of a file name, lower case, without dots."""
    name = location.rstrip("/").rsplit("/", 1)[-1].lower()
    parts = name.split(".")
    if len(parts) < 2:
        return "", ""
    if parts[-1] in COMPRESSION_SUFFIXES and len(parts) >= 3:
        return parts[-2], parts[-1]
    return parts[-1], ""


def format_spec(fmt: FormatLike, location: str | Path | None = None) -> ff.FormatSpec:
    """The FormatSpec for `fmt`: a FormatSpec as is, a FileFormat value, a name ("csv",
    "jsonl", "json", "parquet", or the export-only "label-studio", "coco" and "yolo"), or
    None to infer it from the extension of `location` (".csv", ".jsonl", ".ndjson", ".json",
    ".parquet", ".pq", optionally followed by ".gz", ".bz2" or ".zst"). Raises ValueError
    when neither says."""
    if isinstance(fmt, ff.FormatSpec):
        return fmt
    if isinstance(fmt, int):
        if fmt not in FORMAT_NAMES.values() and fmt not in EXPORT_ONLY:
            raise ValueError(f"unknown file format {fmt}")
        return ff.FormatSpec(format=fmt)
    if isinstance(fmt, str):
        key = fmt.lower().lstrip(".")
        names = {**FORMAT_NAMES, **EXPORT_ONLY_NAMES}
        if key not in names:
            raise ValueError(
                f"unknown file format {fmt!r}; use csv, jsonl, parquet, label-studio, coco or yolo"
            )
        return ff.FormatSpec(format=names[key])
    suffix, _ = _suffixes(str(location or ""))
    if suffix not in FORMAT_NAMES:
        raise ValueError(
            f"cannot tell the file format of {str(location)!r} from its name; pass format="
        )
    return ff.FormatSpec(format=FORMAT_NAMES[suffix])


def compression_of(location: str | Path, spec: ff.FormatSpec) -> int:
    """The codec to write `location` with: the spec's, else the one its extension names."""
    if spec.compression != ff.COMPRESSION_UNSPECIFIED:
        return spec.compression
    _, codec = _suffixes(str(location))
    return COMPRESSION_SUFFIXES.get(codec, ff.COMPRESSION_UNSPECIFIED)


def _check_local(spec: ff.FormatSpec, verb: str) -> None:
    if spec.format in EXPORT_ONLY:
        raise ValueError(
            f"{ff.FileFormat.Name(spec.format)} is export-only and cannot be {verb} locally: "
            "save an annotation export version to a storage URI (the server writes it)"
        )


# ---------------------------------------------------------------------------------------------
# Reading


def read_local(path: str | Path, spec: ff.FormatSpec) -> pa.Table:
    """A local file as a table. CSV and JSON Lines may be compressed (gzip, bz2, zstd: by
    extension unless the spec names the codec)."""
    path = Path(path)
    _check_local(spec, "read")
    if spec.format == ff.FILE_FORMAT_PARQUET:
        return pq.read_table(path)
    codec: str | None = ARROW_CODECS.get(spec.compression, "detect")
    if spec.compression == ff.COMPRESSION_NONE:
        codec = None
    with pa.input_stream(str(path), compression=codec) as stream:
        if spec.format == ff.FILE_FORMAT_CSV:
            return _read_csv(stream, spec.csv)
        if spec.format == ff.FILE_FORMAT_JSON_LINES:
            return pa_json.read_json(stream)
    raise ValueError("the format spec names no file format")


def _read_csv(stream: pa.NativeFile, options: ff.CsvOptions) -> pa.Table:
    header = not options.HasField("header") or options.header
    names = list(options.column_names) or None
    read = pa_csv.ReadOptions(
        column_names=None if header else names,
        autogenerate_column_names=not header and names is None,
        skip_rows=options.skip_rows,
        encoding="latin-1" if options.encoding == "latin-1" else "utf8",
    )
    parse = pa_csv.ParseOptions(
        delimiter=options.delimiter or ",", quote_char=options.quote_char or '"'
    )
    convert = pa_csv.ConvertOptions(
        null_values=list(options.null_values) or DEFAULT_NULLS,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return pa_csv.read_csv(stream, read, parse, convert)


# ---------------------------------------------------------------------------------------------
# Writing


def write_local(table: pa.Table, path: str | Path, spec: ff.FormatSpec) -> None:
    """Write `table` to a local file in the spec's format. The codec is the spec's, else the
    one the extension names (".gz", ".bz2", ".zst"), else none (Snappy for Parquet)."""
    path = Path(path)
    _check_local(spec, "written")
    codec = compression_of(path, spec)
    if spec.format == ff.FILE_FORMAT_PARQUET:
        if codec not in PARQUET_CODECS:
            raise ValueError("Parquet files cannot use this codec")
        pq.write_table(
            table,
            path,
            compression=PARQUET_CODECS[codec],
            row_group_size=spec.parquet.row_group_rows or None,
        )
        return
    with pa.output_stream(str(path), compression=ARROW_CODECS.get(codec)) as sink:
        if spec.format == ff.FILE_FORMAT_CSV:
            _write_csv(table, sink, spec.csv)
        elif spec.format == ff.FILE_FORMAT_JSON_LINES:
            for line in json_lines(table):
                sink.write(line)
        else:
            raise ValueError("the format spec names no file format")


def _write_csv(table: pa.Table, sink: pa.NativeFile, options: ff.CsvOptions) -> None:
    for column in table.schema:
        if pa.types.is_nested(column.type):
            raise ValueError(f"column {column.name!r} is nested; CSV cannot hold it")
    header = not options.HasField("header") or options.header
    pa_csv.write_csv(
        table,
        sink,
        pa_csv.WriteOptions(include_header=header, delimiter=options.delimiter or ","),
    )


def json_lines(table: pa.Table) -> Iterator[bytes]:
    """The rows of `table` as JSON Lines, encoded as export jobs do (spec/data.md §5.2):
    numbers as numbers (NaN and infinities as null), decimals as strings, binaries as base64,
    dates as YYYY-MM-DD, timestamps as RFC 3339 ("Z" for time-zone-aware columns), times as
    HH:MM:SS[.fraction], durations as integers in the column's unit."""
    names = table.column_names
    for batch in table.to_batches(max_chunksize=JSON_BATCH_ROWS):
        columns = [_json_column(batch.column(i)) for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True):
            line = json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False)
            yield line.encode() + b"\n"


def _json_column(array: pa.Array) -> list[Any]:
    kind = array.type
    if pa.types.is_timestamp(kind):
        text = pc.strftime(
            array.cast(pa.timestamp(kind.unit, "UTC")) if kind.tz else array,
            format="%Y-%m-%dT%H:%M:%S",
        ).to_pylist()
        suffix = "Z" if kind.tz else ""
        return [None if t is None else t + suffix for t in text]
    if pa.types.is_duration(kind):
        return array.cast(pa.int64()).to_pylist()
    if pa.types.is_date(kind) or pa.types.is_time(kind) or pa.types.is_decimal(kind):
        return array.cast(pa.string()).to_pylist()
    return [_json_value(value, kind) for value in array.to_pylist()]


DURATION_UNITS = {
    "s": datetime.timedelta(seconds=1),
    "ms": datetime.timedelta(milliseconds=1),
    "us": datetime.timedelta(microseconds=1),
}


def _json_value(value: Any, kind: pa.DataType) -> Any:  # noqa: PLR0911 - one case per type
    """A Python value of a column of type `kind` (possibly nested) as JSON-ready data."""
    if value is None:
        return None
    if pa.types.is_map(kind):
        return {
            str(_json_value(k, kind.key_type)): _json_value(v, kind.item_type) for k, v in value
        }
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return [_json_value(v, kind.value_type) for v in value]
    if pa.types.is_struct(kind):
        return {f.name: _json_value(value.get(f.name), f.type) for f in kind}
    if pa.types.is_floating(kind):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if pa.types.is_timestamp(kind):
        if kind.tz:
            utc = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return utc.isoformat() + "Z"
        return value.isoformat()
    if pa.types.is_duration(kind):
        unit = DURATION_UNITS.get(kind.unit)
        return value // unit if unit is not None else int(value)
    if pa.types.is_decimal(kind):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value

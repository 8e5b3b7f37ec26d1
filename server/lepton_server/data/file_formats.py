"""CSV, JSON Lines and Parquet for imports and exports (spec/data.md §5.2, §5.3); the
export-only annotation formats are in annotation_formats."""

from __future__ import annotations

import base64
import csv
import datetime
import io
import json
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from pyarrow import fs

from lepton.data.v1 import file_format_pb2 as ff
from lepton_server.data import annotation_formats
from lepton_server.runtime.errors import invalid_argument, invalid_field

DEFAULT_NULLS = ["", "NA", "N/A", "NULL", "null"]
CODECS = {ff.COMPRESSION_GZIP: "gzip", ff.COMPRESSION_BZ2: "bz2", ff.COMPRESSION_ZSTD: "zstd"}
TEXT_CODECS = {ff.COMPRESSION_UNSPECIFIED, ff.COMPRESSION_NONE, *CODECS}
PARQUET_CODECS = {
    ff.COMPRESSION_UNSPECIFIED: "snappy",
    ff.COMPRESSION_NONE: "none",
    ff.COMPRESSION_SNAPPY: "snappy",
    ff.COMPRESSION_GZIP: "gzip",
    ff.COMPRESSION_ZSTD: "zstd",
    ff.COMPRESSION_LZ4: "lz4",
    ff.COMPRESSION_BZ2: None,
}
EXTENSIONS = {
    ff.FILE_FORMAT_CSV: "csv",
    ff.FILE_FORMAT_JSON_LINES: "jsonl",
    ff.FILE_FORMAT_PARQUET: "parquet",
}
# An import parses a text file in pieces of whole lines this large (see _text_parts).
TEXT_PIECE_BYTES = 16 * 1024 * 1024
TEXT_SUFFIX = {ff.COMPRESSION_GZIP: ".gz", ff.COMPRESSION_BZ2: ".bz2", ff.COMPRESSION_ZSTD: ".zst"}
OPTIONS_OF = {
    ff.FILE_FORMAT_CSV: "csv",
    ff.FILE_FORMAT_JSON_LINES: "json_lines",
    ff.FILE_FORMAT_PARQUET: "parquet",
}


class SourceParseError(Exception):
    """A source file is not valid in its format (the job fails SOURCE_PARSE_ERROR)."""


def check_format(spec: ff.FormatSpec, field: str, *, export: bool = False) -> None:
    """DAT-064, DAT-132: the format rules of an import (or, with `export`, an export), as
    INVALID_FIELD on `field.*`."""
    if spec.format in annotation_formats.FORMATS:
        annotation_formats.check_format(spec, field, export=export)
        return
    if spec.format not in OPTIONS_OF:
        raise invalid_field(f"{field}.format", "CSV, JSON Lines or Parquet")
    options = spec.WhichOneof("options")
    if options not in (None, OPTIONS_OF[spec.format]):
        raise invalid_field(f"{field}.{options}", f"does not match format {spec.format}")
    accepted = PARQUET_CODECS if spec.format == ff.FILE_FORMAT_PARQUET else TEXT_CODECS
    if spec.compression not in accepted or (
        spec.format == ff.FILE_FORMAT_PARQUET and PARQUET_CODECS.get(spec.compression) is None
    ):
        raise invalid_field(f"{field}.compression", "the format does not accept this codec")
    if spec.format == ff.FILE_FORMAT_CSV:
        csv_options = spec.csv
        for name in ("delimiter", "quote_char"):
            value = getattr(csv_options, name)
            if value and len(value) != 1:
                raise invalid_field(f"{field}.csv.{name}", "exactly one character")
        if csv_options.column_names and (not csv_options.HasField("header") or csv_options.header):
            raise invalid_field(f"{field}.csv.column_names", "only for files without a header")
        if csv_options.skip_rows < 0:
            raise invalid_field(f"{field}.csv.skip_rows", "must not be negative")
        if csv_options.encoding not in ("", "utf-8", "latin-1"):
            raise invalid_field(f"{field}.csv.encoding", "utf-8 or latin-1")


def _header(spec: ff.FormatSpec) -> bool:
    return not spec.csv.HasField("header") or spec.csv.header


def read_table(
    filesystem: fs.FileSystem, path: str, spec: ff.FormatSpec, schema: pa.Schema | None
) -> pa.Table:
    """One source file as a table (of `schema`, when given)."""
    try:
        if spec.format == ff.FILE_FORMAT_PARQUET:
            with filesystem.open_input_file(path) as source:
                parquet = pq.ParquetFile(source)
                table = _restore_arrow_types(parquet.read(), parquet.metadata.metadata or {})
            return table.cast(schema) if schema is not None else table
        # The parsers read the (decompressing) stream directly: no copy of the whole file.
        with filesystem.open_input_stream(path, compression=_codec(spec, path)) as stream:
            if spec.format == ff.FILE_FORMAT_CSV:
                return _read_csv(stream, spec.csv, schema, header=_header(spec))
            return _read_json_lines(stream, spec, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise SourceParseError(_message(exc)) from None


def read_parts(
    filesystem: fs.FileSystem, path: str, spec: ff.FormatSpec, schema: pa.Schema | None
) -> Iterator[tuple[pa.Table, int]]:
    """One source file as consecutive parts of its rows (of `schema`, when given), read as
    they are taken, so a file larger than memory passes through; at least one part, empty
    for a file without rows. With each part, about how many bytes of the file are read.

    Without `schema`, a text file's types are inferred from its first piece, and a later
    piece that needs a wider type fails (SourceParseError) where read_table would have
    widened the column."""
    try:
        with filesystem.open_input_file(path) as source:
            if spec.format == ff.FILE_FORMAT_PARQUET:
                parquet = pq.ParquetFile(source)
                stored = parquet.metadata.metadata or {}
                rows, total = 0, max(parquet.metadata.num_rows, 1)
                for table in _tables(parquet.iter_batches(), parquet.schema_arrow):
                    table = _restore_arrow_types(table, stored)
                    rows += table.num_rows
                    read = source.size() * rows // total  # the data is spread over its rows
                    yield (table.cast(schema) if schema is not None else table), read
                return
            codec = _codec(spec, path)
            # The raw file's position counts the bytes read, compressed or not.
            stream = pa.CompressedInputStream(source, codec) if codec else source
            for table in _text_parts(stream, spec, schema):
                yield table, source.tell()
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise SourceParseError(_message(exc)) from None


def _text_parts(
    stream: pa.NativeFile, spec: ff.FormatSpec, schema: pa.Schema | None
) -> Iterator[pa.Table]:
    """A CSV or JSON Lines stream's rows, a piece of whole lines at a time. Each piece goes
    to pyarrow's multithreaded reader (its streaming readers convert on one thread). A
    piece may end at any line break: neither format lets a value span lines here (CSV is
    read with newlines_in_values off). Later pieces keep the first one's columns and types."""
    csv = spec.format == ff.FILE_FORMAT_CSV
    read, parse, convert = _csv_options(spec.csv, schema, _header(spec))
    json_parse = _json_parse(spec, schema)
    first = True
    for piece in _line_pieces(stream):
        if csv:
            table = pa_csv.read_csv(pa.BufferReader(piece), read, parse, convert)
        else:
            table = pa_json.read_json(pa.BufferReader(piece), parse_options=json_parse)
        if first:
            first = False
            # No header and no rows to skip after the first piece: its columns go on.
            read = pa_csv.ReadOptions(column_names=table.column_names, encoding=read.encoding)
            if schema is None:
                convert.column_types = {f.name: f.type for f in table.schema}
                json_parse = pa_json.ParseOptions(
                    explicit_schema=table.schema, unexpected_field_behavior="error"
                )
        yield table.select(schema.names).cast(schema) if schema is not None else table


def _line_pieces(stream: pa.NativeFile) -> Iterator[bytes]:
    """The stream in pieces of about TEXT_PIECE_BYTES that end at a line break (the last
    piece, at the end); one empty piece for an empty stream."""
    rest, given = b"", False
    while data := stream.read(TEXT_PIECE_BYTES):
        data = rest + data if rest else data
        cut = data.rfind(b"\n") + 1
        if cut:
            given = True
            yield data[:cut]
        rest = data[cut:]
    if rest or not given:
        yield rest


def _message(exc: Exception) -> str:
    # A KeyError's text is its key, quoted: `table.select` names a column the file lacks.
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)


def _codec(spec: ff.FormatSpec, path: str) -> str | None:
    """DAT-072: the stated codec, or for COMPRESSION_UNSPECIFIED the one the name ends in."""
    if spec.compression != ff.COMPRESSION_UNSPECIFIED:
        return CODECS.get(spec.compression)
    return next((CODECS[c] for c, suffix in TEXT_SUFFIX.items() if path.endswith(suffix)), None)


def _tables(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.Table]:
    """Each batch as a table; an empty table of `schema` when there is none."""
    any_batch = False
    for batch in batches:
        any_batch = True
        yield pa.Table.from_batches([batch])
    if not any_batch:
        yield schema.empty_table()


def _restore_arrow_types(table: pa.Table, file_metadata: dict[bytes, bytes]) -> pa.Table:
    """Parquet has no second timestamps and names list children 'element'; the Arrow schema
    that pyarrow stores beside the data (ARROW:schema) restores the exported types (§5.2)."""
    stored = file_metadata.get(b"ARROW:schema")
    if stored is None:
        return table
    original = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(stored)))
    if original.names != table.schema.names:
        return table
    return table.cast(pa.schema(original, metadata=table.schema.metadata))


def _read_csv(
    source: pa.NativeFile, options: ff.CsvOptions, schema: pa.Schema | None, *, header: bool
) -> pa.Table:
    table = pa_csv.read_csv(source, *_csv_options(options, schema, header))
    return table.select(schema.names).cast(schema) if schema is not None else table


def _csv_options(
    options: ff.CsvOptions, schema: pa.Schema | None, header: bool
) -> tuple[pa_csv.ReadOptions, pa_csv.ParseOptions, pa_csv.ConvertOptions]:
    names = None
    if not header:
        names = list(options.column_names) or (schema.names if schema is not None else None)
    read = pa_csv.ReadOptions(
        column_names=names,
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
        column_types={f.name: f.type for f in schema} if schema is not None else None,
    )
    return read, parse, convert


def _read_json_lines(
    source: pa.NativeFile, spec: ff.FormatSpec, schema: pa.Schema | None
) -> pa.Table:
    table = pa_json.read_json(source, parse_options=_json_parse(spec, schema))
    return table.select(schema.names).cast(schema) if schema is not None else table


def _json_parse(spec: ff.FormatSpec, schema: pa.Schema | None) -> pa_json.ParseOptions:
    if schema is None:
        return pa_json.ParseOptions()
    ignore = spec.json_lines.ignore_unknown_keys
    return pa_json.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore" if ignore else "error"
    )


def part_name(index: int, spec: ff.FormatSpec) -> str:
    suffix = "" if spec.format == ff.FILE_FORMAT_PARQUET else TEXT_SUFFIX.get(spec.compression, "")
    return f"part-{index:05d}.{EXTENSIONS[spec.format]}{suffix}"


def check_exportable(schema: pa.Schema, spec: ff.FormatSpec, field: str) -> None:
    """CSV cannot hold nested columns (DAT-077); the annotation formats need an annotation
    export's columns (DAT-132)."""
    if spec.format in annotation_formats.FORMATS:
        annotation_formats.check_exportable(schema, spec, field)
        return
    if spec.format != ff.FILE_FORMAT_CSV:
        return
    for column in schema:
        if pa.types.is_nested(column.type):
            raise invalid_argument(
                "SCHEMA_MISMATCH", field, f"column {column.name!r} is nested; CSV cannot hold it"
            )


def write_table(filesystem: fs.FileSystem, path: str, table: pa.Table, spec: ff.FormatSpec) -> int:
    """Write `table` to `path`; the bytes written."""
    if spec.format == ff.FILE_FORMAT_PARQUET:
        rows = spec.parquet.row_group_rows or None
        pq.write_table(
            table,
            path,
            filesystem=filesystem,
            row_group_size=rows,
            compression=PARQUET_CODECS[spec.compression],
        )
        return filesystem.get_file_info(path).size
    body = _csv_bytes(table, spec) if spec.format == ff.FILE_FORMAT_CSV else _json_lines(table)
    compression = CODECS.get(spec.compression)
    with filesystem.open_output_stream(path, compression=compression) as sink:
        sink.write(body)
    return filesystem.get_file_info(path).size


def _csv_bytes(table: pa.Table, spec: ff.FormatSpec) -> bytes:
    options = spec.csv
    null = options.null_values[0] if options.null_values else ""
    delimiter, quote = options.delimiter or ",", options.quote_char or '"'
    if quote == '"':
        sink = io.BytesIO()
        pa_csv.write_csv(
            table,
            sink,
            pa_csv.WriteOptions(
                include_header=_header(spec),
                delimiter=delimiter,
                null_string=null,
            ),
        )
        return sink.getvalue()
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, quotechar=quote, lineterminator="\n")
    if _header(spec):
        writer.writerow(table.column_names)
    # Arrow's text form of every value, as pa_csv.write_csv writes it (§5.2), not Python's.
    columns = [_arrow_text(column) for column in table.columns]
    for values in zip(*columns, strict=True) if columns else ():
        writer.writerow([null if v is None else v for v in values])
    return text.getvalue().encode()


def _arrow_text(column: pa.ChunkedArray) -> list[Any]:
    try:
        return column.cast(pa.string()).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column.to_pylist()  # e.g. binary that is not UTF-8: written as it is


def _json_lines(table: pa.Table) -> bytes:
    lines = [
        json.dumps(
            {k: _json_value(v, table.schema.field(k).type) for k, v in row.items()},
            ensure_ascii=False,
            allow_nan=False,
        )
        for row in table.to_pylist()
    ]
    return ("\n".join(lines) + ("\n" if lines else "")).encode()


def _json_value(value: Any, arrow_type: pa.DataType) -> Any:  # noqa: PLR0911 - one case per type
    """§5.2's JSON mapping of one Arrow value."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        unit = getattr(arrow_type, "unit", "us")
        per_unit = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
        return round(value.total_seconds() * per_unit)
    if isinstance(value, list):
        item = getattr(arrow_type, "value_type", None)
        if pa.types.is_map(arrow_type):
            return {str(k): _json_value(v, arrow_type.item_type) for k, v in value}
        return [_json_value(v, item) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v, arrow_type.field(k).type) for k, v in value.items()}
    return value

"""data-core cases of export jobs: CSV and JSON Lines text, version resolution, part files,
columns and existing destinations (spec/data.md §5, §8.8)."""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import json
from typing import Any

import pyarrow as pa
from google.protobuf import json_format

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import file_format_pb2 as ff
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import DatasetClient
from lepton_conformance.suites.data.dataset_jobs import (
    EXPORT,
    IMPORT,
    JSON_LINES,
    PARQUET,
    JobClient,
    export_job,
    file_root,
    import_job,
    raw_lines,
)
from lepton_conformance.suites.data.job_checks import (
    content_hex,
    exported_file,
    fails_in_status,
    version_rows,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- what exports write -------------------------------------------------------------------


@CASES.case(CORE, "export.csv-text", "DAT-081")
def csv_text(ctx: CaseContext) -> None:
    """CSV export writes a header line unless header is false, separates with delimiter,
    quotes with quote_char and writes nulls as the first null_values entry (or nothing),
    values in Arrow's text form."""
    client = DatasetClient(ctx)
    table = pa.table(
        {
            "n": pa.array([1, None, -3], pa.int64()),
            "s": pa.array(["plain", "semi;colon, comma", None]),
            "f": pa.array([0.5, -2.25, None]),
            "ok": pa.array([True, None, False]),
        }
    )
    for options, delimiter, quote, header, null in (
        (ff.CsvOptions(), ",", '"', True, ""),
        (
            ff.CsvOptions(delimiter=";", quote_char="'", header=False, null_values=["NULL", "NA"]),
            ";",
            "'",
            False,
            "NULL",
        ),
    ):
        spec = ff.FormatSpec(format=ff.FILE_FORMAT_CSV, csv=options)
        with exported_file(client, table, spec) as (_, _, job):
            lines = raw_lines(client, job.output_uris[0])
        wanted = [
            ["1", "plain", "0.5", "true"],
            [null, "semi;colon, comma", "-2.25", null],
            ["-3", null, null, "false"],
        ]
        expect.equal(
            list(csv.reader(lines, delimiter=delimiter, quotechar=quote)),
            ([["n", "s", "f", "ok"]] if header else []) + wanted,
            f"fields of the lines written with {json_format.MessageToDict(options)}",
        )


def _json_rows(lines: list[str]) -> list[list[tuple[str, Any]]]:
    try:
        return [json.loads(line, object_pairs_hook=list) for line in lines]
    except ValueError as exc:
        raise Failed("one JSON object per line", str(exc)) from None


def _instant(text: Any, aware: bool) -> datetime.datetime:
    expect.holds(isinstance(text, str), "a timestamp as an RFC 3339 string", repr(text))
    if aware:
        expect.holds(text.endswith("Z"), "a time-zone-aware timestamp ending with Z", text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise Failed("an RFC 3339 timestamp", text) from None
    expect.equal(moment.tzinfo is not None, aware, f"an offset in {text!r} (aware: {aware})")
    return moment


@CASES.case(CORE, "export.json-lines-values", "DAT-081", "DAT-129")
def json_lines_values(ctx: CaseContext) -> None:
    """JSON Lines export writes one object per row with keys in column order and §5.2's
    mapping: numbers, NaN as null, decimals as strings, base64 binaries, dates, RFC 3339
    timestamps (Z when aware), times, durations in their unit, arrays, objects, nulls."""
    client = DatasetClient(ctx)
    table = pa.table(
        {
            "i": pa.array([7, None], pa.int64()),
            "f": pa.array([1.5, float("nan")]),
            "ok": pa.array([True, None]),
            "s": pa.array(["π ✓", None]),
            "dec": pa.array([decimal.Decimal("-1.50"), None], pa.decimal128(5, 2)),
            "bin": pa.array([b"\x00\xffab", None], pa.binary()),
            "day": pa.array([datetime.date(2024, 2, 29), None]),
            "utc": pa.array([1_700_000_000_123, None], pa.timestamp("ms", tz="UTC")),
            "paris": pa.array([1_700_000_000, None], pa.timestamp("s", tz="Europe/Paris")),
            "naive": pa.array([1_500, None], pa.timestamp("ms")),
            "clock": pa.array([3_723_500_000, None], pa.time64("us")),
            "wait": pa.array([-1_500, None], pa.duration("ms")),
            "list": pa.array([[1, None], None], pa.list_(pa.int64())),
            "rec": pa.array(
                [{"x": 1, "y": "a"}, None], pa.struct([("x", pa.int64()), ("y", pa.string())])
            ),
        }
    )
    with exported_file(client, table, JSON_LINES) as (_, _, job):
        objects = _json_rows(raw_lines(client, job.output_uris[0]))
    expect.equal(len(objects), 2, "lines")
    for line in objects:
        expect.equal([k for k, _ in line], table.column_names, "keys in column order")
    first, second = (dict(line) for line in objects)
    expect.equal(
        [second[k] for k in table.column_names], [None] * table.num_columns, "the null row"
    )
    expect.equal(
        (first["i"], first["f"], first["ok"], first["s"], first["list"], first["rec"]),
        (7, 1.5, True, "π ✓", [1, None], [("x", 1), ("y", "a")]),
        "(i, f, ok, s, list, rec)",
    )
    expect.holds(
        isinstance(first["dec"], str) and decimal.Decimal(first["dec"]) == decimal.Decimal("-1.5"),
        "a decimal as a string",
        repr(first["dec"]),
    )
    try:
        raw = base64.b64decode(first["bin"], validate=True)
    except (TypeError, ValueError):
        raw = None
    expect.equal(raw, b"\x00\xffab", "a binary as base64")
    expect.equal(first["day"], "2024-02-29", "a date")
    utc = datetime.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=datetime.timezone.utc)
    expect.equal(_instant(first["utc"], aware=True), utc, "a UTC timestamp")
    expect.equal(
        _instant(first["paris"], aware=True), utc.replace(microsecond=0), "a Paris timestamp"
    )
    expect.equal(
        _instant(first["naive"], aware=False),
        datetime.datetime(1970, 1, 1, 0, 0, 1, 500000),
        "a naive timestamp",
    )
    try:
        clock = datetime.time.fromisoformat(first["clock"])
    except (TypeError, ValueError):
        clock = None
    expect.equal(clock, datetime.time(1, 2, 3, 500000), "a time as HH:MM:SS.fraction")
    expect.equal(first["wait"], -1500, "a duration as an integer in its unit")


@CASES.case(CORE, "export.version-resolved-at-creation", "DAT-078", "DAT-004")
def export_resolution(ctx: CaseContext) -> None:
    """An export of a tag reports the canonical version at creation and writes that
    version's rows even when the tag moves right after."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports, imports = JobClient(client, EXPORT), JobClient(client, IMPORT)
    with client.scratches(2) as (name, target):
        first = client.write(name, rows(3), tags=["prod"])
        second = client.write(name, rows(2, 50))
        created = exports.create(
            name, export_job(f"{name}/tags/prod", f"{root}prod.parquet", PARQUET)
        )
        client.call("SetTag", pb.SetTagRequest(name=f"{name}/tags/prod", version=second.name))
        expect.equal(created.version, first.name, "version of the created job")
        final = exports.wait(created.name)
        expect.equal(final.version, first.name, "version of the finished job")
        imported = imports.succeeded(target, import_job(list(final.output_uris), PARQUET))
        expect.equal(
            content_hex(client.version(imported.output_version)),
            content_hex(first),
            "exported rows",
        )


@CASES.case(CORE, "export.part-files-and-max-rows-per-file", "DAT-079", "DAT-068")
def export_parts(ctx: CaseContext) -> None:
    """A directory export with max_rows_per_file writes part-00000 … in row order, each with
    at most that many rows; output_uris lists them and written_row_count is row_count; the
    directory imports back in path order."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports, imports = JobClient(client, EXPORT), JobClient(client, IMPORT)
    table = rows(7)
    with client.scratches(2) as (name, target):
        version = client.write(name, table)
        directory = f"{root}parts/"
        job = exports.succeeded(
            name, export_job(version.name, directory, PARQUET, max_rows_per_file=3)
        )
        wanted = [f"{directory}part-0000{i}.parquet" for i in range(3)]
        expect.equal(list(job.output_uris), wanted, "output_uris")
        expect.equal(job.written_row_count, 7, "written_row_count")
        for i, uri in enumerate(wanted):
            part = imports.succeeded(target, import_job([uri], PARQUET))
            expect.equal(
                version_rows(client, part.output_version),
                table.slice(3 * i, 3).to_pylist(),
                f"rows of {uri}",
            )
        whole = imports.succeeded(target, import_job([directory], PARQUET))
        expect.equal(whole.source_file_count, 3, "source_file_count of the directory")
        expect.equal(
            content_hex(client.version(whole.output_version)), content_hex(version), "digest"
        )


@CASES.case(CORE, "export.selected-columns-in-order", "DAT-079")
def export_columns(ctx: CaseContext) -> None:
    """An export with columns writes exactly those columns, in the listed order."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    table = rows(4).append_column("c", pa.array([1.5, None, 2.5, 3.5]))
    with (
        exported_file(client, table, columns=["c", "a"]) as (_, _, job),
        client.scratch() as target,
    ):
        imported = imports.succeeded(target, import_job(list(job.output_uris), PARQUET))
        expect.equal(job.written_row_count, 4, "written_row_count")
        expect.equal(
            version_rows(client, imported.output_version),
            table.select(["c", "a"]).to_pylist(),
            "rows of the exported columns",
        )


@CASES.case(CORE, "export.existing-destination-fails", "DAT-080", "DAT-069", "DAT-084")
def existing_destination(ctx: CaseContext) -> None:
    """An export to an existing file, or to a directory holding a file, with overwrite false
    ends FAILED with ALREADY_EXISTS [DESTINATION_EXISTS] and leaves the file as it was; with
    overwrite true it replaces it."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports, imports = JobClient(client, EXPORT), JobClient(client, IMPORT)
    with client.scratches(2) as (name, target):
        first = client.write(name, rows(2))
        second = client.write(name, rows(3, 10))
        for destination in (f"{root}one.parquet", f"{root}dir/"):
            written = exports.succeeded(name, export_job(first.name, destination, PARQUET))
            again = exports.run(name, export_job(second.name, destination, PARQUET))
            fails_in_status(again, "ALREADY_EXISTS", "DESTINATION_EXISTS")
            expect.equal(list(again.output_uris), [], "output_uris of the failed export")
            kept = imports.succeeded(target, import_job(list(written.output_uris), PARQUET))
            expect.equal(
                content_hex(client.version(kept.output_version)),
                content_hex(first),
                "the kept file",
            )
        replaced = exports.succeeded(
            name, export_job(second.name, f"{root}one.parquet", PARQUET, overwrite=True)
        )
        imported = imports.succeeded(target, import_job(list(replaced.output_uris), PARQUET))
        expect.equal(
            content_hex(client.version(imported.output_version)),
            content_hex(second),
            "replaced file",
        )

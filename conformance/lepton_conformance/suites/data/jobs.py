"""Import and export jobs of the `data-core` profile (spec/data.md §3.4, §5, §8.7-§8.9 and
spec/general.md §7): creation errors, what a job commits or writes, how it fails, and the job
lifecycle — states, history, Watch, Cancel, listing.

The cases skip unless the target lists `data.import` / `data.export` and
`data.storage.file` on DatasetService. The suite cannot create files on a remote target, so a
case that imports first exports a version to a `file://` URI below the directory the runner
names with --file-root, then imports that; without --file-root those cases skip. Error tables
live in vectors/data_jobs.yaml."""

from __future__ import annotations

import base64
import contextlib
import copy
import csv
import datetime
import decimal
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import Message

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import file_format_pb2 as ff
from lepton_conformance.harness import expect, job_lifecycle, vectors
from lepton_conformance.harness.case import Failed, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import arrow_samples, table_digest
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import APPEND, SERVICE, DatasetClient, unique_id
from lepton_conformance.suites.data.dataset_jobs import (
    CSV,
    EXPORT,
    IMPORT,
    JSON_LINES,
    PARQUET,
    JobClient,
    JobKind,
    export_job,
    file_root,
    import_job,
    raw_lines,
)
from lepton_conformance.suites.data.processing_client import SERVICE as PROCESSING_SERVICE
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()

TABLES = vectors.load("lepton_conformance.suites.data", "data_jobs.yaml")
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
# google.rpc.Code numbers, as ErrorStatus.code carries them.
CODE = {code.name: code.value[0] for code in grpc.StatusCode}
# Enough one-row part files that an export runs for a while on any server, so that the
# cases that need a running job see one; a cancel stops it early.
LONG_EXPORT_ROWS = 2000


def _version_rows(client: DatasetClient, version: str) -> list[dict[str, Any]]:
    return client.read_table(version).to_pylist()


def _digest(version: resources.DatasetVersion) -> str:
    return version.content_digest.hex


def _types(version: resources.DatasetVersion) -> list[tuple[str, str]]:
    return [(f.name, f.type) for f in version.schema.fields]


def _fails_in_status(job: Message, code: str, reason: str, metadata: dict[str, str] | None = None):
    """The job ended FAILED with `status.error` code and reason (DAT-069, DAT-084)."""
    error = job.status.error
    expect.equal(
        (job_lifecycle.name_of(job.status.state), error.code, error.reason),
        ("JOB_STATE_FAILED", CODE[code], reason),
        f"(state, status.error.code, status.error.reason) of {job.name}",
    )
    for key, value in (metadata or {}).items():
        expect.equal(error.metadata.get(key), value, f"status.error.metadata[{key!r}]")


def _no_version_committed(
    client: DatasetClient, dataset: str, before: resources.Dataset, what: str
) -> None:
    """DAT-069, DAT-087: head, version count and tags as before."""
    after = client.dataset(dataset)
    expect.equal(
        (after.head_version, after.version_count),
        (before.head_version, before.version_count),
        f"(head_version, version_count) after {what}",
    )


def _plain(value: Any) -> Any:
    """A protobuf field value as a plain Python value, comparable across messages."""
    if isinstance(value, (str, bytes, int, float, Message)):
        return value
    return dict(value) if hasattr(value, "items") else list(value)


def _tags(client: DatasetClient, dataset: str) -> list[tuple[str, str]]:
    listed = client.call("ListTags", pb.ListTagsRequest(parent=dataset)).tags
    return [(t.name, t.version) for t in listed]


@contextlib.contextmanager
def _exported(
    client: DatasetClient, table: pa.Table, spec: ff.FormatSpec = PARQUET, **fields: Any
) -> Iterator[tuple[str, resources.DatasetVersion, Message]]:
    """A scratch dataset holding `table`, exported to a fresh file in the file root: the
    dataset, its version and the succeeded export job."""
    root = file_root(client.ctx)
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, table)
        extension = {ff.FILE_FORMAT_CSV: "csv", ff.FILE_FORMAT_JSON_LINES: "jsonl"}
        destination = f"{root}table.{extension.get(spec.format, 'parquet')}"
        job = exports.succeeded(name, export_job(version.name, destination, spec, **fields))
        yield name, version, job


# --- creation errors (vectors/data_jobs.yaml) ------------------------------------------------


def _merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _arrow_schema(kind: str) -> bytes:
    if kind == "not-arrow":
        return b"this is not an Arrow schema"
    return arrow_samples.unsupported_table(kind).schema.serialize().to_pybytes()


@contextlib.contextmanager
def _error_fixture(client: DatasetClient, root: str, other: bool) -> Iterator[dict[str, str]]:
    """The scratch dataset of vectors/data_jobs.yaml and its placeholders."""
    with client.scratches(2 if other else 1) as names:
        version = client.write(names[0], rows(10))
        nested = pa.table({"a": [1, 2], "l": pa.array([[1], []], pa.list_(pa.int64()))})
        client.write(names[0], nested, tags=["nested"])
        placeholders = {
            "{d}": names[0].removeprefix("datasets/"),
            "{v}": version.name,
            "{nested}": f"{names[0]}/tags/nested",
            "{missing}": unique_id("conf-missing"),
            "{root}": root,
        }
        if other:
            placeholders["{other}"] = client.write(names[1], rows(1)).name
        yield placeholders


def _register_create_errors(kind: JobKind, table: str, base: dict[str, Any], cites: str) -> None:
    for row in TABLES[table]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            jobs = JobClient(client, kind)
            root = file_root(ctx)
            other = "{other}" in json.dumps(row)
            with _error_fixture(client, root, other) as names:
                dataset = f"datasets/{names['{d}']}"
                fields = vectors.filled(_merged(base, row.get("job", {})), names)
                if "source_count" in row:
                    fields["source_uris"] = [f"{root}f{i}.csv" for i in range(row["source_count"])]
                job = json_format.ParseDict(fields, kind.resource())
                if "description_length" in row:
                    job.description = "d" * row["description_length"]
                if "arrow_schema" in row:
                    job.arrow_schema = _arrow_schema(row["arrow_schema"])
                request = jobs.create_request(dataset, job)
                json_format.ParseDict(vectors.filled(row.get("request", {}), names), request)
                expect.rejects(
                    lambda: jobs.send(request),
                    getattr(grpc.StatusCode, row.get("code", "INVALID_ARGUMENT")),
                    row["reason"],
                    field=row.get("field"),
                    metadata=vectors.filled(row.get("metadata"), names),
                )
                expect.equal(
                    jobs.first_page(dataset), [], f"{kind.noun.lower()} jobs after the error"
                )

        code = row.get("code", "INVALID_ARGUMENT")
        body.__doc__ = (
            f"Create{kind.noun}Job, {row['id'].replace('-', ' ')}: {code} [{row['reason']}]"
        )
        requirements = row.get("requirements", [cites])
        CASES.case(CORE, f"{kind.noun.lower()}.errors.{row['id']}", *requirements, "DAT-002")(body)


_register_create_errors(
    IMPORT,
    "import_job_errors",
    {
        "source_uris": ["{root}rows.csv"],
        "format": {"format": "FILE_FORMAT_CSV"},
        "mode": "WRITE_MODE_OVERWRITE",
    },
    "DAT-064",
)
_register_create_errors(
    EXPORT,
    "export_job_errors",
    {"version": "{v}", "destination_uri": "{root}out.csv", "format": {"format": "FILE_FORMAT_CSV"}},
    "DAT-077",
)


def _job_kinds(ctx: CaseContext) -> list[JobKind]:
    """The job kinds the target serves; Skipped when it lists neither."""
    kinds = [k for k in (IMPORT, EXPORT) if ctx.info.has_feature(SERVICE, k.feature)]
    if not kinds:
        raise Skipped("the target lists neither data.import nor data.export")
    return kinds


def _register_list_errors() -> None:
    for row in TABLES["job_list_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            kinds = _job_kinds(ctx)
            with client.scratch() as name:
                for kind in kinds:
                    request = kind.request("List", parent=name)
                    json_format.ParseDict(row["request"], request)
                    expect.rejects(
                        lambda kind=kind, request=request: client.call(kind.rpc("List"), request),
                        INVALID,
                        row["reason"],
                        field=row["field"],
                    )

        body.__doc__ = (
            f"List jobs, {row['id'].replace('-', ' ')}: INVALID_ARGUMENT [{row['reason']}]"
        )
        requirements = row.get("requirements", ["DAT-007", "DAT-090"])
        CASES.case(CORE, f"jobs.list-errors.{row['id']}", *requirements, "DAT-002")(body)


_register_list_errors()


@CASES.case(CORE, "discovery.processing-service-lists-data-processing", "DAT-129", "DAT-001")
def processing_feature(ctx: CaseContext) -> None:
    """A target that serves ProcessingService lists it in GetServerInfo with exactly the
    feature data.processing."""
    if not ctx.info.serves(PROCESSING_SERVICE):
        raise Skipped(f"the target does not serve {PROCESSING_SERVICE}")
    expect.equal(
        sorted(ctx.info.features.get(PROCESSING_SERVICE, ())),
        ["data.processing"],
        f"features GetServerInfo lists on {PROCESSING_SERVICE}",
    )


@CASES.case(CORE, "discovery.jobs-list-file-storage", "DAT-130")
def jobs_list_file_storage(ctx: CaseContext) -> None:
    """A target that lists data.import or data.export also lists data.storage.file."""
    listed = ctx.info.features.get(SERVICE, frozenset())
    if not listed & {IMPORT.feature, EXPORT.feature}:
        raise Skipped("the target lists neither data.import nor data.export")
    expect.holds(
        "data.storage.file" in listed,
        "data.storage.file beside data.import or data.export",
        f"features {sorted(listed)}",
    )


@CASES.case(
    CORE, "import.unlisted-storage-scheme-is-unimplemented", "DAT-065", "DAT-077", "DAT-001"
)
def unlisted_scheme(ctx: CaseContext) -> None:
    """A URI of a §5.1 scheme whose data.storage feature the target does not list is
    UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] with metadata feature, for imports and exports, and
    creates no job."""
    client = DatasetClient(ctx)
    kinds = _job_kinds(ctx)
    uris = {
        "gs": "gs://conformance-bucket/rows.csv",
        "abfs": "abfs://data@conformance.dfs.core.windows.net/rows.csv",
        "hdfs": "hdfs://namenode:8020/conformance/rows.csv",
    }
    unlisted = [s for s in uris if not ctx.info.has_feature(SERVICE, f"data.storage.{s}")]
    if not unlisted:
        raise Skipped("the target lists data.storage.gs, .abfs and .hdfs: no scheme to refuse")
    with client.scratch() as name:
        version = client.write(name, rows(2))
        for scheme in unlisted:
            for kind in kinds:
                jobs = JobClient(client, kind)
                job = (
                    import_job([uris[scheme]], CSV)
                    if kind is IMPORT
                    else export_job(version.name, uris[scheme], CSV)
                )
                request = jobs.create_request(name, job)
                expect.rejects(
                    lambda jobs=jobs, request=request: jobs.send(request),
                    grpc.StatusCode.UNIMPLEMENTED,
                    "FEATURE_NOT_SUPPORTED",
                    metadata={"feature": f"data.storage.{scheme}"},
                )
                expect.equal(
                    jobs.first_page(name), [], f"{kind.noun.lower()} jobs after {scheme}://"
                )


@CASES.case(CORE, "import.file-outside-the-roots-is-denied", "DAT-073", "GEN-063")
def outside_roots(ctx: CaseContext) -> None:
    """A file:// path that climbs out of the served directory with `..` fails, at creation
    or as the job's failure, with PERMISSION_DENIED [STORAGE_ACCESS_DENIED], and commits
    nothing."""
    file_root(ctx)
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    outside = f"{ctx.options.file_root}../{unique_id('conf-outside')}/rows.csv"
    with client.scratch() as name:
        request = imports.create_request(name, import_job([outside], CSV))
        try:
            created = imports.send(request)
        except grpc.RpcError:
            expect.rejects(
                lambda: imports.send(request),
                grpc.StatusCode.PERMISSION_DENIED,
                "STORAGE_ACCESS_DENIED",
            )
            return
        final = imports.wait(created.name)
        _fails_in_status(final, "PERMISSION_DENIED", "STORAGE_ACCESS_DENIED")
        expect.equal(client.dataset(name).version_count, 0, "versions after the denied import")


# --- what imports commit ------------------------------------------------------------------


@CASES.case(
    CORE, "import.parquet-round-trip-keeps-types-and-digest", "DAT-074", "DAT-068", "DAT-129"
)
def parquet_round_trip(ctx: CaseContext) -> None:
    """A version of every supported type exported to Parquet and imported with OVERWRITE
    into another dataset has the same column types and content digest."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    table = arrow_samples.typed_table()
    with _exported(client, table) as (_, version, exported), client.scratch() as target:
        job = imports.succeeded(target, import_job(list(exported.output_uris), PARQUET))
        imported = client.version(job.output_version)
        expect.equal(
            [(n, t) for n, t in _types(imported)],
            [(n, t) for n, t in _types(version)],
            "column names and types after the round trip",
        )
        expect.equal(_digest(imported), _digest(version), "content digest after the round trip")


@CASES.case(CORE, "import.commits-one-version-with-lineage", "DAT-067", "DAT-068", "DAT-010")
def import_lineage(ctx: CaseContext) -> None:
    """A created import job is named by its id, QUEUED first, with its input fields as
    sent; when it succeeds it committed one version: the head's rows then the file's
    (APPEND), lineage IMPORT from the job, its description and tags, output_version set."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with _exported(client, rows(3, 100)) as (_, _, exported), client.scratch() as target:
        head = client.write(target, rows(2), tags=["stable", "latest"])
        job = import_job(
            list(exported.output_uris),
            PARQUET,
            APPEND,
            description="from parquet",
            tags=["latest", "imported"],
            labels={"team": "data"},
            expected_parent_version=head.name,
        )
        created = imports.create(target, job, job_id="conf-import")
        expect.equal(created.name, f"{target}/importJobs/conf-import", "the job's name")
        for field in (
            "source_uris",
            "format",
            "mode",
            "expected_parent_version",
            "description",
            "tags",
            "labels",
        ):
            expect.equal(
                _plain(getattr(created, field)), _plain(getattr(job, field)), f"{field} as sent"
            )
        expect.holds(
            created.HasField("expected_parent_version"),
            "expected_parent_version kept present",
            "absent",
        )
        final = imports.wait(created.name)
        expect.equal(job_lifecycle.name_of(final.status.state), "JOB_STATE_SUCCEEDED", "state")
        version = client.version(final.output_version)
        dataset = client.dataset(target)
        expect.equal(
            (dataset.head_version, dataset.version_count), (version.name, 2), "(head, count)"
        )
        lineage = version.lineage
        expect.equal(
            (resources.VersionOrigin.Name(lineage.origin), lineage.source),
            ("VERSION_ORIGIN_IMPORT", created.name),
            "lineage (origin, source)",
        )
        expect.equal(
            (version.description, sorted(version.tags), version.parent_version),
            ("from parquet", ["imported", "latest"], head.name),
            "(description, tags, parent_version)",
        )
        expect.equal(
            _tags(client, target),
            [
                (f"{target}/tags/imported", version.name),
                (f"{target}/tags/latest", version.name),
                (f"{target}/tags/stable", head.name),
            ],
            "tags after the import",
        )
        expect.equal(
            _version_rows(client, version.name),
            rows(2).to_pylist() + rows(3, 100).to_pylist(),
            "rows: the head's, then the file's",
        )
        unnamed = imports.create(target, import_job(list(exported.output_uris), PARQUET))
        job_id = unnamed.name.removeprefix(f"{target}/importJobs/")
        expect.holds(
            unnamed.name.startswith(f"{target}/importJobs/")
            and len(job_id) <= 63
            and job_id[:1].isalpha()
            and job_id == job_id.lower()
            and all(c.isalnum() or c == "-" for c in job_id)
            and not job_id.endswith("-"),
            "a server-assigned AIP-122 job id",
            unnamed.name,
        )
        expect.equal(imports.get(unnamed.name).name, unnamed.name, "Get by the assigned name")
        imports.wait(unnamed.name)


@CASES.case(CORE, "import.progress-in-bytes", "DAT-076")
def import_progress(ctx: CaseContext) -> None:
    """A finished import job reports progress in bytes with total = source_bytes, and
    source_file_count and read_row_count."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with _exported(client, rows(5)) as (_, _, exported), client.scratch() as target:
        job = imports.succeeded(target, import_job(list(exported.output_uris), PARQUET))
        progress = job.status.progress
        expect.equal(
            (progress.unit, progress.total, job.source_file_count, job.read_row_count),
            ("bytes", job.source_bytes, 1, 5),
            "(progress.unit, progress.total, source_file_count, read_row_count)",
        )
        expect.holds(job.source_bytes > 0, "source_bytes > 0", str(job.source_bytes))


@CASES.case(
    CORE, "import.missing-source-fails-and-commits-nothing", "DAT-069", "DAT-084", "DAT-087"
)
def missing_source(ctx: CaseContext) -> None:
    """An import of a file or directory that does not exist ends FAILED with NOT_FOUND
    [STORAGE_OBJECT_NOT_FOUND] in status.error, no output_version, no version and no tag."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with client.scratch() as name:
        client.write(name, rows(2), tags=["prod"])
        before, tags = client.dataset(name), _tags(client, name)
        for uri in (f"{root}missing.csv", f"{root}missing-directory/"):
            job = imports.run(name, import_job([uri], CSV, APPEND, tags=["prod", "new"]))
            _fails_in_status(job, "NOT_FOUND", "STORAGE_OBJECT_NOT_FOUND")
            expect.equal(job.output_version, "", "output_version of the failed job")
            _no_version_committed(client, name, before, f"the import of {uri}")
            expect.equal(_tags(client, name), tags, f"tags after the import of {uri}")


@CASES.case(CORE, "import.arrow-schema-sets-names-order-and-types", "DAT-071", "DAT-069")
def import_schema(ctx: CaseContext) -> None:
    """With arrow_schema, the imported version has exactly its columns, order and types; a
    value that does not convert fails the job INVALID_ARGUMENT [SOURCE_PARSE_ERROR] with
    metadata uri, committing nothing."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with _exported(client, rows(3), CSV) as (_, _, exported), client.scratch() as target:
        uris = list(exported.output_uris)
        schema = pa.schema([("b", pa.large_string()), ("a", pa.int32())])
        job = imports.succeeded(
            target, import_job(uris, CSV, arrow_schema=schema.serialize().to_pybytes())
        )
        version = client.version(job.output_version)
        expect.equal(_types(version), [("b", "large_string"), ("a", "int32")], "fields")
        wanted = pa.table({"b": pa.array(["row-0", "row-1", "row-2"], pa.large_string())})
        wanted = wanted.append_column("a", pa.array([0, 1, 2], pa.int32()))
        expect.equal(_digest(version), table_digest.content_digest(wanted), "content digest")
        before = client.dataset(target)
        bad = pa.schema([("a", pa.int64()), ("b", pa.int64())]).serialize().to_pybytes()
        failed = imports.run(target, import_job(uris, CSV, APPEND, arrow_schema=bad))
        _fails_in_status(
            failed, "INVALID_ARGUMENT", "SOURCE_PARSE_ERROR", metadata={"uri": uris[0]}
        )
        _no_version_committed(client, target, before, "the failed import")


@CASES.case(CORE, "import.expected-parent-version", "DAT-075", "DAT-087")
def import_expected_parent(ctx: CaseContext) -> None:
    """An import whose expected_parent_version is not the head at commit fails ABORTED
    [PARENT_VERSION_MISMATCH] in status.error and commits nothing; with the head it commits."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with _exported(client, rows(2)) as (_, _, exported), client.scratch() as target:
        uris = list(exported.output_uris)
        first = client.write(target, rows(1))
        second = client.write(target, rows(1, 1), APPEND)
        before = client.dataset(target)
        for expected in ("", first.name):
            job = imports.run(
                target, import_job(uris, PARQUET, APPEND, expected_parent_version=expected)
            )
            _fails_in_status(job, "ABORTED", "PARENT_VERSION_MISMATCH")
            _no_version_committed(client, target, before, f"expected_parent {expected!r}")
        job = imports.succeeded(
            target, import_job(uris, PARQUET, APPEND, expected_parent_version=second.name)
        )
        expect.equal(client.version(job.output_version).parent_version, second.name, "parent")


@CASES.case(CORE, "import.csv-options", "DAT-070", "DAT-081", "DAT-129")
def csv_options(ctx: CaseContext) -> None:
    """CSV import reads the header line by default; without one it names columns by
    column_names or f0, f1, …; skip_rows skips lines; every effective null value reads as
    null in columns of every type."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    table = pa.table(
        {
            "n": pa.array([1, None, 3], pa.int64()),
            "s": pa.array(["x", "y", None]),
            "f": pa.array([0.5, None, -2.25]),
        }
    )
    headless = ff.FormatSpec(
        format=ff.FILE_FORMAT_CSV,
        csv=ff.CsvOptions(header=False, delimiter=";", null_values=["NA"]),
    )
    with _exported(client, table, headless) as (_, _, exported), client.scratch() as target:
        uris = list(exported.output_uris)
        for spec, names, skipped in (
            (
                ff.CsvOptions(header=False, delimiter=";", column_names=["n", "s", "f"]),
                ["n", "s", "f"],
                0,
            ),
            (ff.CsvOptions(header=False, delimiter=";"), ["f0", "f1", "f2"], 0),
            (ff.CsvOptions(header=False, delimiter=";", skip_rows=1), ["f0", "f1", "f2"], 1),
        ):
            job = imports.succeeded(
                target, import_job(uris, ff.FormatSpec(format=ff.FILE_FORMAT_CSV, csv=spec))
            )
            read = client.read_table(job.output_version)
            expect.equal(read.column_names, names, f"column names with {spec}")
            expect.equal(
                [list(r.values()) for r in read.to_pylist()],
                [list(r.values()) for r in table.slice(skipped).to_pylist()],
                f"rows with {spec}",
            )
            expect.equal(
                [table_digest.canonical_type(t) for t in read.schema.types],
                ["int64", "string", "double"],
                f"inferred types with {spec}",
            )


@CASES.case(CORE, "import.compressed-files-by-extension", "DAT-072", "DAT-079")
def compressed_files(ctx: CaseContext) -> None:
    """Exports compressed with gzip, bzip2 and Zstandard are named part-00000.csv.gz, .bz2
    and .zst; imports with COMPRESSION_UNSPECIFIED read each by its extension."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports, imports = JobClient(client, EXPORT), JobClient(client, IMPORT)
    with client.scratches(2) as (source, target):
        version = client.write(source, rows(4))
        for codec, suffix in (
            (ff.COMPRESSION_GZIP, "gz"),
            (ff.COMPRESSION_BZ2, "bz2"),
            (ff.COMPRESSION_ZSTD, "zst"),
        ):
            spec = ff.FormatSpec(format=ff.FILE_FORMAT_CSV, compression=codec)
            directory = f"{root}{suffix}/"
            job = exports.succeeded(source, export_job(version.name, directory, spec))
            expect.equal(
                list(job.output_uris), [f"{directory}part-00000.csv.{suffix}"], "output_uris"
            )
            imported = imports.succeeded(target, import_job([directory], CSV))
            expect.equal(
                _digest(client.version(imported.output_version)),
                _digest(version),
                f"content digest of the {suffix} import",
            )


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
        with _exported(client, table, spec) as (_, _, job):
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
    with _exported(client, table, JSON_LINES) as (_, _, job):
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
            _digest(client.version(imported.output_version)), _digest(first), "exported rows"
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
                _version_rows(client, part.output_version),
                table.slice(3 * i, 3).to_pylist(),
                f"rows of {uri}",
            )
        whole = imports.succeeded(target, import_job([directory], PARQUET))
        expect.equal(whole.source_file_count, 3, "source_file_count of the directory")
        expect.equal(_digest(client.version(whole.output_version)), _digest(version), "digest")


@CASES.case(CORE, "export.selected-columns-in-order", "DAT-079")
def export_columns(ctx: CaseContext) -> None:
    """An export with columns writes exactly those columns, in the listed order."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    table = rows(4).append_column("c", pa.array([1.5, None, 2.5, 3.5]))
    with _exported(client, table, columns=["c", "a"]) as (_, _, job), client.scratch() as target:
        imported = imports.succeeded(target, import_job(list(job.output_uris), PARQUET))
        expect.equal(job.written_row_count, 4, "written_row_count")
        expect.equal(
            _version_rows(client, imported.output_version),
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
            _fails_in_status(again, "ALREADY_EXISTS", "DESTINATION_EXISTS")
            expect.equal(list(again.output_uris), [], "output_uris of the failed export")
            kept = imports.succeeded(target, import_job(list(written.output_uris), PARQUET))
            expect.equal(
                _digest(client.version(kept.output_version)), _digest(first), "the kept file"
            )
        replaced = exports.succeeded(
            name, export_job(second.name, f"{root}one.parquet", PARQUET, overwrite=True)
        )
        imported = imports.succeeded(target, import_job(list(replaced.output_uris), PARQUET))
        expect.equal(
            _digest(client.version(imported.output_version)), _digest(second), "replaced file"
        )


# --- the job lifecycle --------------------------------------------------------------------


@CASES.case(
    CORE,
    "jobs.watch-follows-to-the-terminal-state",
    "DAT-088",
    "DAT-083",
    "DAT-085",
    "GEN-060",
    "GEN-061",
    "GEN-064",
)
def watch_follows(ctx: CaseContext) -> None:
    """Watch of a new job sends it at once, again after every state change along §3.4 with
    the history growing, and ends with OK right after the terminal state, which Get then
    reports too; Watch of a finished job sends exactly one message equal to Get."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, rows(40))
        created = exports.create(
            name, export_job(version.name, f"{root}w/", CSV, max_rows_per_file=1)
        )
        messages = exports.watch(created.name)
        final = exports.get(created.name)
        expect.equal(messages[-1], final, "the last Watch message = Get afterwards")
        expect.equal(
            job_lifecycle.name_of(final.status.state), "JOB_STATE_SUCCEEDED", "final state"
        )
        again = exports.watch(created.name)
        expect.equal(again, [final], "Watch of the finished job")


@CASES.case(CORE, "jobs.unknown-job-not-found", "DAT-088", "DAT-091", "DAT-003")
def unknown_job(ctx: CaseContext) -> None:
    """Get, Cancel and Watch of a job that does not exist are NOT_FOUND [RESOURCE_NOT_FOUND]
    with resource_name; a name of another collection is INVALID_NAME."""
    client = DatasetClient(ctx)
    kinds = _job_kinds(ctx)
    with client.scratch() as name:
        for kind in kinds:
            missing = f"{name}/{kind.collection}/no-such-job"
            for verb in ("Get", "Cancel", "Watch"):
                expect.rejects(
                    lambda kind=kind, verb=verb, missing=missing: client.call(
                        kind.rpc(verb), kind.request(verb, name=missing)
                    ),
                    NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                    metadata={"resource_name": missing},
                )
                expect.rejects(
                    lambda kind=kind, verb=verb: client.call(
                        kind.rpc(verb), kind.request(verb, name=f"{name}/jobs/x")
                    ),
                    INVALID,
                    "INVALID_NAME",
                    field="name",
                )


@CASES.case(CORE, "jobs.cancel-of-a-finished-job-fails", "DAT-086", "GEN-062", "DAT-002")
def cancel_finished(ctx: CaseContext) -> None:
    """Cancel of a SUCCEEDED or FAILED job is FAILED_PRECONDITION [JOB_ALREADY_FINISHED] and
    leaves it as it was."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        succeeded = exports.succeeded(name, export_job(version.name, f"{root}a.csv", CSV))
        failed = exports.run(name, export_job(version.name, f"{root}a.csv", CSV))
        _fails_in_status(failed, "ALREADY_EXISTS", "DESTINATION_EXISTS")
        for job in (succeeded, failed):
            expect.rejects(
                lambda job=job: exports.cancel(job.name),
                FAILED_PRECONDITION,
                "JOB_ALREADY_FINISHED",
            )
            expect.equal(exports.get(job.name), job, f"{job.name} after the refused cancel")


@contextlib.contextmanager
def _long_export(
    client: DatasetClient, root: str
) -> Iterator[tuple[str, resources.DatasetVersion, Message]]:
    """A scratch dataset and a just-created export of it into LONG_EXPORT_ROWS part files."""
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, rows(LONG_EXPORT_ROWS))
        created = exports.create(
            name, export_job(version.name, f"{root}long/", CSV, max_rows_per_file=1)
        )
        try:
            yield name, version, created
        finally:  # end the job, so that the scratch dataset can go
            with contextlib.suppress(grpc.RpcError, Failed):
                exports.cancel(created.name)
                exports.wait(created.name)


@CASES.case(CORE, "jobs.cancel-of-a-running-job", "DAT-086", "DAT-087", "GEN-062", "DAT-083")
def cancel_running(ctx: CaseContext) -> None:
    """Cancel of a QUEUED or RUNNING job returns it CANCELLING or CANCELLED; it then ends
    CANCELLED (or SUCCEEDED had it finished) without outputs; a second cancel of the
    CANCELLED job succeeds and changes nothing."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with _long_export(client, root) as (_, _, created):
        try:
            cancelling = exports.cancel(created.name)
        except grpc.RpcError as error:
            # Only a job that finished first may refuse the cancel.
            finished = exports.get(created.name)
            expect.holds(
                finished.status.state in (job_lifecycle.SUCCEEDED, job_lifecycle.FAILED),
                "Cancel of a job that has not finished to succeed",
                f"{expect.describe(error)} in {job_lifecycle.name_of(finished.status.state)}",
            )
            expect.check_error_info(error, "JOB_ALREADY_FINISHED")
            return
        expect.holds(
            cancelling.status.state in (job_lifecycle.CANCELLING, job_lifecycle.CANCELLED),
            "the cancelled job in CANCELLING or CANCELLED",
            job_lifecycle.name_of(cancelling.status.state),
        )
        final = exports.wait(created.name)
        expect.holds(
            final.status.state in (job_lifecycle.CANCELLED, job_lifecycle.SUCCEEDED),
            "the cancelled job to end CANCELLED",
            job_lifecycle.name_of(final.status.state),
        )
        if final.status.state == job_lifecycle.CANCELLED:
            expect.equal(list(final.output_uris), [], "output_uris of the cancelled job")
            again = expect.succeeds(
                lambda: exports.cancel(created.name), "Cancel of the CANCELLED job"
            )
            expect.equal(again, final, "the CANCELLED job after a second cancel")


@CASES.case(CORE, "jobs.cancelled-export-removes-its-files", "DAT-082")
def cancelled_export_files(ctx: CaseContext) -> None:
    """An export cancelled while it writes part files leaves none behind: the same
    directory then takes an export with overwrite false."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with _long_export(client, root) as (name, version, created):
        with contextlib.suppress(grpc.RpcError):
            exports.cancel(created.name)
        final = exports.wait(created.name)
        if final.status.state != job_lifecycle.CANCELLED:
            return  # it finished before the cancel arrived: nothing to remove
        exports.succeeded(name, export_job(version.name, f"{root}long/", CSV))


@CASES.case(CORE, "jobs.delete-dataset-while-a-job-runs", "DAT-019", "DAT-002")
def delete_in_use(ctx: CaseContext) -> None:
    """DeleteDataset (even with force) while an export of the dataset runs is
    FAILED_PRECONDITION [DATASET_IN_USE] and deletes nothing; once the job has ended the
    delete succeeds."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with _long_export(client, root) as (name, version, created):
        before = client.dataset(name)
        running = exports.get(created.name)
        if running.status.state in job_lifecycle.TERMINAL:
            return  # it finished before the delete could be sent: nothing is in use
        expect.rejects(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True)),
            FAILED_PRECONDITION,
            "DATASET_IN_USE",
        )
        expect.equal(client.dataset(name), before, "the dataset after the refused delete")
        expect.equal(client.version(version.name), version, "its version")
        with contextlib.suppress(grpc.RpcError):
            exports.cancel(created.name)
        exports.wait(created.name)
        expect.succeeds(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True)),
            "DeleteDataset once the job ended",
        )


@CASES.case(CORE, "jobs.deleted-with-their-dataset", "DAT-091", "DAT-020")
def deleted_with_dataset(ctx: CaseContext) -> None:
    """Get returns a job with its current status; after its dataset is deleted the job is
    NOT_FOUND [RESOURCE_NOT_FOUND] and no longer listed under datasets/-."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    run = unique_id("run")
    with client.scratch() as name:
        version = client.write(name, rows(2))
        job = exports.succeeded(
            name, export_job(version.name, f"{root}x.csv", CSV, labels={"run": run})
        )
        expect.equal(exports.get(job.name), job, "Get of the finished job")
        client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True))
        expect.rejects(
            lambda: client.call("GetExportJob", pb.GetExportJobRequest(name=job.name)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        listed = exports.first_page("datasets/-", filter=f'labels.run = "{run}"')
        expect.equal([j.name for j in listed], [], "jobs of the deleted dataset under datasets/-")


@CASES.case(CORE, "jobs.create-request-id-and-existing-id", "DAT-008", "DAT-009", "DAT-002")
def job_request_id(ctx: CaseContext) -> None:
    """A repeated CreateExportJob with the same request_id returns the same job; the same
    request_id with another request is ALREADY_EXISTS [REQUEST_ID_CONFLICT]; a job id in use
    is ALREADY_EXISTS [RESOURCE_ALREADY_EXISTS]."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    with client.scratch() as name:
        version = client.write(name, rows(2))
        request_id = str(uuid.uuid4())
        job = export_job(version.name, f"{root}r.csv", CSV)
        first = exports.create(name, job, request_id=request_id)
        again = expect.succeeds(
            lambda: exports.send(exports.create_request(name, job, request_id=request_id)),
            "the replayed CreateExportJob",
        )
        expect.equal(again.name, first.name, "the job the replay returns")
        other = export_job(version.name, f"{root}other.csv", CSV)
        expect.rejects(
            lambda: exports.send(exports.create_request(name, other, request_id=request_id)),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )
        exports.wait(first.name)
        job_id = first.name.rsplit("/", 1)[1]
        expect.rejects(
            lambda: exports.send(exports.create_request(name, other, job_id=job_id)),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        expect.equal(
            [j.name for j in exports.first_page(name)], [first.name], "jobs of the dataset"
        )


def _create_time(job: Message) -> int:
    stamp = job.status.create_time
    return stamp.seconds * 1_000_000_000 + stamp.nanos


def _rfc3339(nanos: int) -> str:
    seconds, fraction = divmod(nanos, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


@CASES.case(CORE, "jobs.list-order-pages-and-filters", "DAT-090", "DAT-005", "DAT-006", "DAT-007")
def list_jobs(ctx: CaseContext) -> None:
    """ListExportJobs returns jobs newest first by default, in the order order_by asks for
    (ties by name), the same page by page, across datasets under datasets/-, and filters on
    status.state, status.create_time and labels."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports = JobClient(client, EXPORT)
    run = unique_id("run")
    with client.scratches(2) as (name, other):
        version = client.write(name, rows(2))
        elsewhere = client.write(other, rows(1))
        jobs = []
        for i, (parent, source, destination) in enumerate(
            (
                (name, version, "a.csv"),
                (name, version, "a.csv"),
                (other, elsewhere, "b.csv"),
                (name, version, "c.csv"),
            )
        ):
            labels = {"run": run, **({"team": "x"} if i % 2 else {})}
            job = export_job(source.name, f"{root}{destination}", CSV, labels=labels)
            jobs.append(exports.run(parent, job))
            time.sleep(0.002)  # distinct create times on coarse clocks
        states = [job_lifecycle.name_of(j.status.state) for j in jobs]
        expect.equal(
            states,
            [
                "JOB_STATE_SUCCEEDED",
                "JOB_STATE_FAILED",
                "JOB_STATE_SUCCEEDED",
                "JOB_STATE_SUCCEEDED",
            ],
            "states of the four exports",
        )
        mine = [j for j in jobs if j.name.startswith(f"{name}/")]
        newest_first = sorted(mine, key=lambda j: (-_create_time(j), j.name))
        for size in (0, 1, 2):
            walked = exports.list(name, page_size=size)
            expect.equal(
                [j.name for j in walked],
                [j.name for j in newest_first],
                f"default order, page_size {size}",
            )
        expect.equal(exports.list(name), [exports.get(j.name) for j in newest_first], "= Get")
        for order_by, key in (
            ("name", lambda j: j.name),
            ("name desc", None),
            ("status.create_time", lambda j: (_create_time(j), j.name)),
        ):
            wanted = (
                sorted(mine, key=key)
                if key is not None
                else sorted(mine, key=lambda j: j.name, reverse=True)
            )
            walked = exports.list(name, order_by=order_by, page_size=2)
            expect.equal([j.name for j in walked], [j.name for j in wanted], f"order {order_by!r}")
        selection = f'labels.run = "{run}"'
        pivot = _create_time(jobs[2])
        for term, matches in (
            ("", lambda j: True),
            ("status.state = FAILED", lambda j: j.status.state == job_lifecycle.FAILED),
            ("status.state != JOB_STATE_FAILED", lambda j: j.status.state != job_lifecycle.FAILED),
            ('labels.team = "x"', lambda j: j.labels.get("team") == "x"),
            ('labels.team != "x"', lambda j: j.labels.get("team") != "x"),
            (f'status.create_time >= "{_rfc3339(pivot)}"', lambda j: _create_time(j) >= pivot),
            (f'status.create_time < "{_rfc3339(pivot)}"', lambda j: _create_time(j) < pivot),
        ):
            request = selection + (f" AND {term}" if term else "")
            walked = exports.list("datasets/-", filter=request, page_size=1)
            wanted = sorted(
                (j for j in jobs if matches(j)), key=lambda j: (-_create_time(j), j.name)
            )
            expect.equal(
                [j.name for j in walked], [j.name for j in wanted], f"datasets/- filtered {term!r}"
            )

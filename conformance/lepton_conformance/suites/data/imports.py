"""data-core cases of import jobs: the storage features discovery lists, roots, and what an
import commits from Parquet, CSV, Arrow and compressed files (spec/data.md §5, §8.7)."""

from __future__ import annotations

import grpc
import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import file_format_pb2 as ff
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import NotApplicable
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import arrow_samples, table_digest
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import APPEND, SERVICE, DatasetClient, unique_id
from lepton_conformance.suites.data.dataset_jobs import (
    CSV,
    EXPORT,
    IMPORT,
    PARQUET,
    JobClient,
    export_job,
    file_root,
    import_job,
)
from lepton_conformance.suites.data.job_checks import (
    content_hex,
    exported_file,
    fails_in_status,
    field_types,
    no_version_committed,
    plain_value,
    tag_pairs,
    version_rows,
)
from lepton_conformance.suites.data.job_errors import job_kinds
from lepton_conformance.suites.data.processing_client import SERVICE as PROCESSING_SERVICE
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


@CASES.case(CORE, "discovery.processing-service-lists-data-processing", "DAT-129", "DAT-001")
def processing_feature(ctx: CaseContext) -> None:
    """A target that serves ProcessingService lists it in GetServerInfo with exactly the
    feature data.processing."""
    if not ctx.info.serves(PROCESSING_SERVICE):
        raise NotApplicable(f"the target does not serve {PROCESSING_SERVICE}", PROCESSING_SERVICE)
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
        raise NotApplicable(
            "the target lists neither data.import nor data.export", "data.import or data.export"
        )
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
    kinds = job_kinds(ctx)
    uris = {
        "gs": "gs://conformance-bucket/rows.csv",
        "abfs": "abfs://data@conformance.dfs.core.windows.net/rows.csv",
        "hdfs": "hdfs://namenode:8020/conformance/rows.csv",
    }
    unlisted = [s for s in uris if not ctx.info.has_feature(SERVICE, f"data.storage.{s}")]
    if not unlisted:
        raise NotApplicable(
            "the target lists data.storage.gs, .abfs and .hdfs: no scheme to refuse",
            "an unlisted storage scheme",
        )
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
        fails_in_status(final, "PERMISSION_DENIED", "STORAGE_ACCESS_DENIED")
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
    with exported_file(client, table) as (_, version, exported), client.scratch() as target:
        job = imports.succeeded(target, import_job(list(exported.output_uris), PARQUET))
        imported = client.version(job.output_version)
        expect.equal(
            [(n, t) for n, t in field_types(imported)],
            [(n, t) for n, t in field_types(version)],
            "column names and types after the round trip",
        )
        expect.equal(
            content_hex(imported), content_hex(version), "content digest after the round trip"
        )


@CASES.case(CORE, "import.commits-one-version-with-lineage", "DAT-067", "DAT-068", "DAT-010")
def import_lineage(ctx: CaseContext) -> None:
    """A created import job is named by its id, QUEUED first, with its input fields as
    sent; when it succeeds it committed one version: the head's rows then the file's
    (APPEND), lineage IMPORT from the job, its description and tags, output_version set."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with exported_file(client, rows(3, 100)) as (_, _, exported), client.scratch() as target:
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
                plain_value(getattr(created, field)),
                plain_value(getattr(job, field)),
                f"{field} as sent",
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
            tag_pairs(client, target),
            [
                (f"{target}/tags/imported", version.name),
                (f"{target}/tags/latest", version.name),
                (f"{target}/tags/stable", head.name),
            ],
            "tags after the import",
        )
        expect.equal(
            version_rows(client, version.name),
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
    with exported_file(client, rows(5)) as (_, _, exported), client.scratch() as target:
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
        before, tags = client.dataset(name), tag_pairs(client, name)
        for uri in (f"{root}missing.csv", f"{root}missing-directory/"):
            job = imports.run(name, import_job([uri], CSV, APPEND, tags=["prod", "new"]))
            fails_in_status(job, "NOT_FOUND", "STORAGE_OBJECT_NOT_FOUND")
            expect.equal(job.output_version, "", "output_version of the failed job")
            no_version_committed(client, name, before, f"the import of {uri}")
            expect.equal(tag_pairs(client, name), tags, f"tags after the import of {uri}")


@CASES.case(CORE, "import.arrow-schema-sets-names-order-and-types", "DAT-071", "DAT-069")
def import_schema(ctx: CaseContext) -> None:
    """With arrow_schema, the imported version has exactly its columns, order and types; a
    value that does not convert fails the job INVALID_ARGUMENT [SOURCE_PARSE_ERROR] with
    metadata uri, committing nothing."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with exported_file(client, rows(3), CSV) as (_, _, exported), client.scratch() as target:
        uris = list(exported.output_uris)
        schema = pa.schema([("b", pa.large_string()), ("a", pa.int32())])
        job = imports.succeeded(
            target, import_job(uris, CSV, arrow_schema=schema.serialize().to_pybytes())
        )
        version = client.version(job.output_version)
        expect.equal(field_types(version), [("b", "large_string"), ("a", "int32")], "fields")
        wanted = pa.table({"b": pa.array(["row-0", "row-1", "row-2"], pa.large_string())})
        wanted = wanted.append_column("a", pa.array([0, 1, 2], pa.int32()))
        expect.equal(content_hex(version), table_digest.content_digest(wanted), "content digest")
        before = client.dataset(target)
        bad = pa.schema([("a", pa.int64()), ("b", pa.int64())]).serialize().to_pybytes()
        failed = imports.run(target, import_job(uris, CSV, APPEND, arrow_schema=bad))
        fails_in_status(failed, "INVALID_ARGUMENT", "SOURCE_PARSE_ERROR", metadata={"uri": uris[0]})
        no_version_committed(client, target, before, "the failed import")


@CASES.case(CORE, "import.expected-parent-version", "DAT-075", "DAT-087")
def import_expected_parent(ctx: CaseContext) -> None:
    """An import whose expected_parent_version is not the head at commit fails ABORTED
    [PARENT_VERSION_MISMATCH] in status.error and commits nothing; with the head it commits."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    with exported_file(client, rows(2)) as (_, _, exported), client.scratch() as target:
        uris = list(exported.output_uris)
        first = client.write(target, rows(1))
        second = client.write(target, rows(1, 1), APPEND)
        before = client.dataset(target)
        for expected in ("", first.name):
            job = imports.run(
                target, import_job(uris, PARQUET, APPEND, expected_parent_version=expected)
            )
            fails_in_status(job, "ABORTED", "PARENT_VERSION_MISMATCH")
            no_version_committed(client, target, before, f"expected_parent {expected!r}")
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
    with exported_file(client, table, headless) as (_, _, exported), client.scratch() as target:
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


# Rows of integers before the one double: ~20 MiB of CSV, beyond the first block of a
# reader that parses a file in blocks (Arrow's is 1 MiB, the reference server's 16 MiB).
WIDENED_AFTER = 2_000_000


@CASES.case(CORE, "import.csv-types-inferred-from-every-row", "DAT-141", "DAT-070")
def csv_types_from_every_row(ctx: CaseContext) -> None:
    """A CSV column of integers whose last value is 1.5 imports as double, with every value:
    the type is inferred from the whole file, not from its first block."""
    client = DatasetClient(ctx)
    imports = JobClient(client, IMPORT)
    values = [str(i) for i in range(WIDENED_AFTER)] + ["1.5"]
    table = pa.table({"n": pa.array(values)})
    with exported_file(client, table, CSV) as (_, _, exported), client.scratch() as target:
        job = imports.succeeded(target, import_job(list(exported.output_uris), CSV))
        read = client.read_table(job.output_version)
    expect.equal(
        [table_digest.canonical_type(t) for t in read.schema.types],
        ["double"],
        "the types inferred from the whole file",
    )
    expect.equal(read.column("n").to_pylist(), [float(v) for v in values], "every value, in order")


@CASES.case(CORE, "import.compressed-files-by-extension", "DAT-072", "DAT-079")
def compressed_files(ctx: CaseContext) -> None:
    """Exports compressed with gzip, bzip2 and Zstandard are named part-00000.csv.gz, .bz2
    and .zst; imports with COMPRESSION_UNSPECIFIED read each by its extension, to the digest
    of the rows written (one record batch per row: the digest is not the batches')."""
    root = file_root(ctx)
    client = DatasetClient(ctx)
    exports, imports = JobClient(client, EXPORT), JobClient(client, IMPORT)
    with client.scratches(2) as (source, target):
        written = pa.Table.from_batches(rows(4).to_batches(max_chunksize=1))
        version = client.write(source, written)
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
                content_hex(client.version(imported.output_version)),
                content_hex(version),
                f"content digest of the {suffix} import",
            )

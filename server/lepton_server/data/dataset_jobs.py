"""Import and export jobs (spec/data.md §5, §8.7-§8.9): storage URIs in, versions out, and
back. Both are job resources run by the shared JobRunner and read through a JobCollection
each; an import commits through the catalog's one commit path, so it is as atomic as a
WriteVersion."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, TypeVar

import pyarrow as pa
from pyarrow import fs

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import export_job_pb2, file_format_pb2, import_job_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.runner import Cancelled, JobHandle, JobRunner
from lepton_server.aip.labels import check_labels
from lepton_server.data import annotation_formats, arrow_types, file_formats
from lepton_server.data.dataset_catalog import DatasetCatalog
from lepton_server.data.dataset_resources import DATASET, MAX_DESCRIPTION
from lepton_server.data.metadata_store import DatasetRow
from lepton_server.data.storage_uris import Location, StorageAccess, list_sources, storage_errors
from lepton_server.data.version_builder import VersionBuilder
from lepton_server.data.version_ingest import check_storable
from lepton_server.data.version_reads import check_columns
from lepton_server.data.version_writes import Commit
from lepton_server.runtime.errors import AlreadyExists, invalid_argument, invalid_field

T = TypeVar("T")
IMPORT, EXPORT = "importJobs", "exportJobs"
MAX_SOURCES = 1000
# How often a streaming import reports the bytes read within a file (each report persists).
PROGRESS_EVERY_S = 0.5


class DatasetJobs:
    """Creates import and export jobs of datasets; `imports` and `exports` get, list, cancel
    and watch them."""

    def __init__(self, catalog: DatasetCatalog, runner: JobRunner, storage: StorageAccess) -> None:
        self.catalog = catalog
        self.runner = runner
        self.storage = storage
        self.imports, self.exports = (
            JobCollection(
                runner,
                kind,
                catalog.tokens,
                parent_pattern=DATASET,
                check_parent=lambda parent: catalog.dataset_row(parent, "parent"),
            )
            for kind in (IMPORT, EXPORT)
        )
        catalog.in_use = self._in_use
        catalog.on_delete = self._forget

    def _forget(self, dataset: str) -> None:
        for kind in (IMPORT, EXPORT):
            self.runner.forget(f"{dataset}/{kind}")

    def _in_use(self, dataset: str) -> bool:
        return any(self.runner.running_under(f"{dataset}/{kind}") for kind in (IMPORT, EXPORT))

    # --- imports ------------------------------------------------------------------------

    def create_import(self, request: pb.CreateImportJobRequest) -> import_job_pb2.ImportJob:
        dataset = self.catalog.dataset_row(request.parent, "parent")
        given = request.import_job
        locations = self._check_import(given)
        schema = _import_schema(given.arrow_schema)
        return self.imports.create(
            self.catalog,
            "CreateImportJob",
            request,
            given,
            id_field="import_job_id",
            outputs=("output_version", "source_file_count", "source_bytes", "read_row_count"),
            work=lambda handle: self._run_import(handle, dataset.id, locations, schema),
        )

    def _check_import(self, job: import_job_pb2.ImportJob) -> list[Location]:
        if not job.source_uris or len(job.source_uris) > MAX_SOURCES:
            raise invalid_field("import_job.source_uris", f"1 to {MAX_SOURCES} URIs")
        file_formats.check_format(job.format, "import_job.format")
        if job.mode == resources.WRITE_MODE_UNSPECIFIED:
            raise invalid_field("import_job.mode", "WRITE_MODE_APPEND or WRITE_MODE_OVERWRITE")
        if len(job.description) > MAX_DESCRIPTION:
            raise invalid_field("import_job.description", f"at most {MAX_DESCRIPTION} characters")
        for i, tag in enumerate(job.tags):
            resource_names.check_id(tag, f"import_job.tags[{i}]", "tag id")
        check_labels(job.labels, "import_job.labels")
        return [
            self.storage.locate(uri, job.storage_options, f"import_job.source_uris[{i}]")
            for i, uri in enumerate(job.source_uris)
        ]

    async def _run_import(
        self,
        handle: JobHandle,
        dataset_id: str,
        locations: list[Location],
        schema: pa.Schema | None,
    ) -> None:
        job: import_job_pb2.ImportJob = handle.job
        files = []
        for location in locations:
            for info in await _off_loop(list_sources, location):
                files.append((location, info))
        total = _total_bytes(files)
        handle.update(
            lambda j: (
                setattr(j, "source_file_count", len(files)),
                setattr(j, "source_bytes", total),
            )
        )
        handle.progress(0, total, "bytes")
        dataset = self.catalog.dataset_row(f"datasets/{dataset_id}")
        commit = Commit(
            mode=job.mode,
            lineage=resources.Lineage(origin=resources.VERSION_ORIGIN_IMPORT, source=job.name),
            tags=tuple(job.tags),
            description=job.description,
            expected_parent=job.expected_parent_version
            if job.HasField("expected_parent_version")
            else None,
        )
        try:
            version = await self._import_streaming(handle, dataset, files, schema, commit)
        except _Widened:
            version = await self._import_whole(handle, dataset, files, schema, commit)
        handle.update(lambda j: setattr(j, "output_version", version.name))

    async def _import_streaming(
        self,
        handle: JobHandle,
        dataset: DatasetRow,
        files: list[tuple[Location, fs.FileInfo]],
        schema: pa.Schema | None,
        commit: Commit,
    ) -> resources.DatasetVersion:
        """Read the files part by part into a new version's builder, so an import of any
        size holds a bounded part of it in memory. _Widened when a text file's later piece
        needs a type its first piece did not infer (read_table widens it instead)."""
        job: import_job_pb2.ImportJob = handle.job
        widens = schema is None and job.format.format != file_format_pb2.FILE_FORMAT_PARQUET
        builder: VersionBuilder | None = None
        first: pa.Schema | None = None  # the first file's, which later files take (§5.3)
        read_rows, done, total = 0, 0, _total_bytes(files)
        reported = time.monotonic()
        try:
            for location, info in files:
                uri = _file_uri(location, info.path)
                parts = _source_parts(location, info.path, uri, job.format, schema, widens=widens)
                async with contextlib.aclosing(_read_ahead(parts)) as reading:
                    async for part, read_bytes in reading:
                        if handle.stopping:
                            raise Cancelled
                        if time.monotonic() - reported >= PROGRESS_EVERY_S:
                            handle.progress(done + min(read_bytes, info.size), total, "bytes")
                            reported = time.monotonic()
                        if first is None:
                            first = part.schema
                        elif schema is None:
                            part = _conform(part, first, uri, job.format.format)
                        part = _supported(part)
                        if builder is None:
                            builder = await self.catalog.builder(dataset, job.mode, part.schema)
                        await _off_loop(builder.add, part)
                        read_rows += part.num_rows
                done += info.size
                handle.progress(done, total, "bytes")
            handle.update(lambda j: setattr(j, "read_row_count", read_rows))
            if handle.stopping:
                raise Cancelled
            assert builder is not None  # every file gives a part, and there is a file
            ingested = await _off_loop(builder.finish)
            with handle.committing():
                return await self.catalog.commit_ingested(dataset, ingested, commit)
        finally:
            if builder is not None:
                await _off_loop(builder.discard)

    async def _import_whole(
        self,
        handle: JobHandle,
        dataset: DatasetRow,
        files: list[tuple[Location, fs.FileInfo]],
        schema: pa.Schema | None,
        commit: Commit,
    ) -> resources.DatasetVersion:
        """Read each file whole, as read_table infers and widens its types, and commit them."""
        job: import_job_pb2.ImportJob = handle.job
        tables, done, total = [], 0, _total_bytes(files)
        for location, info in files:
            if handle.stopping:
                raise Cancelled
            uri = _file_uri(location, info.path)
            table = await _off_loop(_read_source, location, info.path, uri, job.format, schema)
            if tables and schema is None:
                table = _conform(table, tables[0].schema, uri, job.format.format)
            tables.append(table)
            done += info.size
            handle.progress(done, total, "bytes")
        table = _supported(pa.concat_tables(tables))
        handle.update(lambda j: setattr(j, "read_row_count", table.num_rows))
        if handle.stopping:
            raise Cancelled
        with handle.committing():
            return await self.catalog.commit_table(dataset, table, commit)

    # --- exports ------------------------------------------------------------------------

    def create_export(self, request: pb.CreateExportJobRequest) -> export_job_pb2.ExportJob:
        dataset = self.catalog.dataset_row(request.parent, "parent")
        given = request.export_job
        _, ids = resource_names.parse_any(
            given.version, (("datasets", "versions"), ("datasets", "tags")), "export_job.version"
        )
        if ids[0] != dataset.id:
            raise invalid_field("export_job.version", f"not a version of {request.parent}")
        _, row = self.catalog.resolve(given.version, "export_job.version")
        version = self.catalog.get_version(given.version)
        schema = pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
        check_columns(given.columns, schema, "export_job.columns", missing="no column {!r}")
        file_formats.check_format(given.format, "export_job.format", export=True)
        location = self.storage.locate(
            given.destination_uri, given.storage_options, "export_job.destination_uri"
        )
        if given.max_rows_per_file < 0 or (given.max_rows_per_file and not location.is_directory):
            raise invalid_field(
                "export_job.max_rows_per_file", "non-negative, and only for a directory destination"
            )
        annotation_formats.check_destination(
            given.format,
            directory=location.is_directory,
            max_rows_per_file=given.max_rows_per_file,
        )
        selected = pa.schema([schema.field(c) for c in given.columns]) if given.columns else schema
        file_formats.check_exportable(selected, given.format, "export_job.format")
        check_labels(given.labels, "export_job.labels")
        return self.exports.create(
            self.catalog,
            "CreateExportJob",
            request,
            given,
            id_field="export_job_id",
            outputs=("output_uris", "written_row_count", "written_bytes"),
            work=lambda handle: self._run_export(handle, dataset.id, row.id, location),
            version=version.name,  # resolved now: a tag moving later changes nothing (DAT-078)
        )

    async def _run_export(
        self, handle: JobHandle, dataset_id: str, version_id: str, location: Location
    ) -> None:
        job: export_job_pb2.ExportJob = handle.job
        dataset, row = self.catalog.resolve(
            f"datasets/{dataset_id}/versions/{version_id}", "export_job.version"
        )
        table = await _off_loop(self.catalog.version_table, dataset, row)
        if job.columns:
            table = table.select(list(job.columns))
        written: list[tuple[str, str]] = []  # (uri, path)
        try:
            await _off_loop(_check_destination, location, job.overwrite)
            files = await _off_loop(_export_files, table, job, location)
            total_bytes, folders = 0, set()
            for index, (name, content) in enumerate(files):
                if handle.stopping:
                    raise Cancelled
                if name is not None:
                    uri, path = location.uri + name, location.path.rstrip("/") + "/" + name
                else:
                    uri, path = location.uri, location.path
                with storage_errors(uri):
                    folder = path.rsplit("/", 1)[0]
                    if location.is_directory and folder not in folders:
                        location.filesystem.create_dir(folder)
                        folders.add(folder)
                    total_bytes += await _off_loop(
                        _write_file, location.filesystem, path, content, job.format
                    )
                written.append((uri, path))
                handle.progress(index + 1, len(files), "files")
        except BaseException:
            await _off_loop(_remove, location, [path for _, path in written])  # DAT-082
            raise
        handle.update(
            lambda j: (
                j.output_uris.extend(u for u, _ in written),
                setattr(j, "written_row_count", table.num_rows),
                setattr(j, "written_bytes", total_bytes),
            )
        )


def _import_schema(raw: bytes) -> pa.Schema | None:
    """DAT-066: an encapsulated IPC Schema message of supported types, or none."""
    if not raw:
        return None
    try:
        schema = pa.ipc.read_schema(pa.py_buffer(raw))
    except (pa.ArrowException, OSError, ValueError):
        raise invalid_argument(
            "INVALID_ARROW_DATA", "import_job.arrow_schema", "not an Arrow IPC Schema message"
        ) from None
    check_storable(schema, "import_job.arrow_schema")
    return schema


def _file_uri(location: Location, path: str) -> str:
    if not location.is_directory:
        return location.uri
    return location.uri + path[len(location.path.rstrip("/")) + 1 :]


async def _read_ahead(items: Generator[T, None, None]) -> AsyncIterator[T]:
    """`items`, each advanced on a worker thread while the one before is used (a file's
    next part is parsed while this one is stored); `items` is closed at the end, once no
    thread runs it, so its file closes even when the caller stops early."""
    ahead = asyncio.ensure_future(_off_loop(next, items, None))
    try:
        while (item := await ahead) is not None:
            ahead = asyncio.ensure_future(_off_loop(next, items, None))
            yield item
    finally:
        await asyncio.wait([ahead])
        if not ahead.cancelled():
            ahead.exception()  # seen: the caller's own error is the one that counts
        items.close()


def _total_bytes(files: list[tuple[Location, fs.FileInfo]]) -> int:
    return sum(info.size for _, info in files)


def _read_source(
    location: Location, path: str, uri: str, spec: Any, schema: pa.Schema | None
) -> pa.Table:
    with storage_errors(uri):
        try:
            return file_formats.read_table(location.filesystem, path, spec, schema)
        except file_formats.SourceParseError as exc:
            raise _parse_error(exc, uri) from None


def _source_parts(
    location: Location, path: str, uri: str, spec: Any, schema: pa.Schema | None, *, widens: bool
) -> Generator[tuple[pa.Table, int], None, None]:
    """file_formats.read_parts with the import's errors; _Widened for any parse error of a
    file whose types are inferred (read whole, it may parse)."""
    with storage_errors(uri):
        try:
            yield from file_formats.read_parts(location.filesystem, path, spec, schema)
        except file_formats.SourceParseError as exc:
            if widens:
                raise _Widened from None
            raise _parse_error(exc, uri) from None


class _Widened(Exception):
    """A part of a text file did not parse as the types inferred from its first piece."""


def _parse_error(exc: file_formats.SourceParseError, uri: str) -> Exception:
    return invalid_argument("SOURCE_PARSE_ERROR", "import_job.source_uris", str(exc), uri=uri)


def _conform(table: pa.Table, schema: pa.Schema, uri: str, file_format: int) -> pa.Table:
    """§5.3: later files take the first file's schema; Parquet must already have it."""
    same = [f.name for f in table.schema] == schema.names and all(
        arrow_types.canonical_type(a.type) == arrow_types.canonical_type(b.type)
        for a, b in zip(table.schema, schema, strict=True)
    )
    if same:
        return table.cast(schema)
    if file_format == 3 or [f.name for f in table.schema] != schema.names:
        raise invalid_argument(
            "SCHEMA_MISMATCH",
            "import_job.source_uris",
            f"{uri} does not have the first file's schema",
            uri=uri,
        )
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise invalid_argument(
            "SOURCE_PARSE_ERROR",
            "import_job.source_uris",
            f"{uri}: a value does not fit the first file's schema",
            uri=uri,
        ) from None


def _supported(table: pa.Table) -> pa.Table:
    try:
        arrow_types.check_supported(table.schema)
    except arrow_types.UnsupportedArrowType as exc:
        raise invalid_argument(
            "UNSUPPORTED_ARROW_TYPE", "import_job.source_uris", str(exc), column=exc.column
        ) from None
    return arrow_types.decode_dictionaries(table)


def _check_destination(location: Location, overwrite: bool) -> None:
    if overwrite:
        return
    with storage_errors(location.uri):
        path = location.path.rstrip("/") if location.is_directory else location.path
        info = location.filesystem.get_file_info(path)
        exists = info.type == fs.FileType.File
        if location.is_directory and info.type == fs.FileType.Directory:
            selector = fs.FileSelector(path, recursive=True)
            exists = any(
                i.type == fs.FileType.File for i in location.filesystem.get_file_info(selector)
            )
    if exists:
        raise AlreadyExists(
            reason="DESTINATION_EXISTS",
            message=f"{location.uri} exists and overwrite is false",
            metadata={"uri": location.uri},
        )


def _export_files(
    table: pa.Table, job: export_job_pb2.ExportJob, location: Location
) -> list[tuple[str | None, pa.Table | bytes]]:
    """(name below the directory destination, or None for a file destination; the table or
    bytes to write there), in row order."""
    if job.format.format in annotation_formats.FORMATS:
        return list(
            annotation_formats.export_files(
                table,
                job.format,
                directory=location.is_directory,
                rows_per_file=job.max_rows_per_file,
            )
        )
    if not location.is_directory:
        return [(None, table)]
    parts = _split(table, job.max_rows_per_file)
    return [(file_formats.part_name(i, job.format), part) for i, part in enumerate(parts)]


def _write_file(filesystem: fs.FileSystem, path: str, content: Any, spec: Any) -> int:
    if isinstance(content, pa.Table):
        return file_formats.write_table(filesystem, path, content, spec)
    with filesystem.open_output_stream(path, compression=None) as sink:
        sink.write(content)
    return len(content)


def _split(table: pa.Table, rows: int) -> list[pa.Table]:
    if not rows or table.num_rows <= rows:
        return [table]
    return [table.slice(start, rows) for start in range(0, table.num_rows, rows)]


def _remove(location: Location, paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            location.filesystem.delete_file(path)


async def _off_loop(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)

"""Import and export jobs of lepton.data.v1.DatasetService for the data profiles: create, get,
cancel, watch and list them, wait for them to end, and find a directory the target lets the
suite write below (spec/data.md §5, §8.7-§8.9). Written from the contract alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from google.protobuf.message import Message

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import export_job_pb2, import_job_pb2
from lepton.data.v1 import file_format_pb2 as ff
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.data.dataset_client import (
    OVERWRITE,
    SERVICE,
    DatasetClient,
    unique_id,
)

FILE_STORAGE = "data.storage.file"
CSV = ff.FormatSpec(format=ff.FILE_FORMAT_CSV)
JSON_LINES = ff.FormatSpec(format=ff.FILE_FORMAT_JSON_LINES)
PARQUET = ff.FormatSpec(format=ff.FILE_FORMAT_PARQUET)


@dataclass(frozen=True)
class JobKind:
    """Import or export: the names its RPCs, fields and feature use."""

    noun: str  # "Import" or "Export"
    resource: type[Message]

    @property
    def field(self) -> str:
        return f"{self.noun.lower()}_job"

    @property
    def collection(self) -> str:
        return f"{self.noun.lower()}Jobs"

    @property
    def feature(self) -> str:
        return f"data.{self.noun.lower()}"

    def request(self, verb: str, **fields: Any) -> Message:
        return getattr(pb, f"{verb}{self.noun}Job{'s' if verb == 'List' else ''}Request")(**fields)

    def rpc(self, verb: str) -> str:
        return f"{verb}{self.noun}Job{'s' if verb == 'List' else ''}"


IMPORT = JobKind("Import", import_job_pb2.ImportJob)
EXPORT = JobKind("Export", export_job_pb2.ExportJob)


def file_root(ctx: CaseContext) -> str:
    """The directory URI of --file-root with a fresh name prefix for one case's files, e.g.
    "file:///srv/conformance/conf-3fa9c1d2-"; skips without one. The case's files lie
    directly in the directory, so that no server has to create a missing parent directory for
    a single-file export; directory exports name a new directory, which they create."""
    ctx.require_feature(SERVICE, FILE_STORAGE)
    if ctx.options.file_root is None:
        raise Skipped(
            "no directory to write files to: pass --file-root file:///DIR/ naming a directory "
            "the target serves for imports and exports",
            needs="--file-root file:///DIR/",
        )
    return f"{ctx.options.file_root}{unique_id()}-"


class JobClient:
    """Calls of one job kind with the case's credentials and deadline."""

    def __init__(self, client: DatasetClient, kind: JobKind) -> None:
        self.client = client
        self.kind = kind
        client.ctx.require_feature(SERVICE, kind.feature)

    @property
    def timeout(self) -> float:
        return self.client.ctx.timeout * 3

    def create_request(
        self, parent: str, job: Message, job_id: str = "", request_id: str = ""
    ) -> Message:
        return self.kind.request(
            "Create",
            parent=parent,
            request_id=request_id,
            **{self.kind.field: job, f"{self.kind.field}_id": job_id},
        )

    def send(self, request: Message) -> Message:
        """A CreateXJob that may fail; the created job."""
        return getattr(self.client.call(self.kind.rpc("Create"), request), self.kind.field)

    def create(self, parent: str, job: Message, job_id: str = "", request_id: str = "") -> Message:
        """A CreateXJob that must succeed; the created job, checked (DAT-067, DAT-083)."""
        request = self.create_request(parent, job, job_id, request_id)
        created = expect.succeeds(lambda: self.send(request), f"{self.kind.rpc('Create')}")
        job_lifecycle.check_status(created, f"the created {created.name}")
        return created

    def get(self, name: str) -> Message:
        request = self.kind.request("Get", name=name)
        return getattr(
            expect.succeeds(lambda: self.client.call(self.kind.rpc("Get"), request), f"Get {name}"),
            self.kind.field,
        )

    def cancel(self, name: str) -> Message:
        return getattr(
            self.client.call(self.kind.rpc("Cancel"), self.kind.request("Cancel", name=name)),
            self.kind.field,
        )

    def watch(self, name: str) -> list[Message]:
        """Every message of a Watch of `name`, checked (DAT-088, GEN-061)."""
        stream = getattr(self.client.stub, self.kind.rpc("Watch"))(
            self.kind.request("Watch", name=name),
            metadata=self.client.ctx.metadata,
            timeout=self.timeout,
        )
        return job_lifecycle.follow(stream, lambda r: getattr(r, self.kind.field), name)

    def list(self, parent: str, **fields: Any) -> list[Message]:
        """Every job of a listing, page by page."""
        return self.client.walk(
            self.kind.rpc("List"), self.kind.request("List", parent=parent, **fields)
        )

    def first_page(self, parent: str, **fields: Any) -> list[Message]:
        """The first page of a listing (enough to see whether it holds any job)."""
        request = self.kind.request("List", parent=parent, **fields)
        page = expect.succeeds(
            lambda: self.client.call(self.kind.rpc("List"), request), f"List jobs of {parent}"
        )
        return list(getattr(page, f"{self.kind.field}s"))

    def wait(self, name: str) -> Message:
        """The job once terminal, every observation on the way checked."""
        return job_lifecycle.wait(lambda: self.get(name), name, self.timeout)

    def run(self, parent: str, job: Message, **fields: Any) -> Message:
        """Create a job and wait for it to end; the final job."""
        return self.wait(self.create(parent, job, **fields).name)

    def succeeded(self, parent: str, job: Message, **fields: Any) -> Message:
        """Create a job that must succeed; the final job."""
        return job_lifecycle.check_succeeded(self.run(parent, job, **fields))


def export_job(version: str, destination: str, spec: ff.FormatSpec = PARQUET, **fields: Any):
    return export_job_pb2.ExportJob(
        version=version, destination_uri=destination, format=spec, **fields
    )


def import_job(uris: list[str], spec: ff.FormatSpec = PARQUET, mode: int = OVERWRITE, **fields):
    return import_job_pb2.ImportJob(source_uris=uris, format=spec, mode=mode, **fields)


def raw_lines(client: DatasetClient, uri: str) -> list[str]:
    """The lines of a text file the target wrote, read back through an import that splits
    nothing: one string column, a delimiter and quote the file never holds, no null string
    (so that the suite can check files it cannot open itself)."""
    imports = JobClient(client, IMPORT)
    spec = ff.FormatSpec(
        format=ff.FILE_FORMAT_CSV,
        compression=ff.COMPRESSION_NONE,
        csv=ff.CsvOptions(
            delimiter="\x01",
            quote_char="\x02",
            header=False,
            column_names=["line"],
            null_values=["\x03"],
        ),
    )
    schema = pa.schema([("line", pa.string())]).serialize().to_pybytes()
    with client.scratch() as name:
        job = imports.succeeded(name, import_job([uri], spec, arrow_schema=schema))
        return client.read_table(job.output_version).column("line").to_pylist()

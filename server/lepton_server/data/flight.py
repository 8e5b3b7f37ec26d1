"""Datasets over Arrow Flight (spec/data.md §8.6, feature `data.flight`): the tickets of
IssueFlightTicket, and a pyarrow.flight server in the same process that serves them and lets
any Flight client list, read and write datasets.

Descriptors are paths of ids:

- ListFlights: one flight per dataset that has a version, with the path [dataset_id] and the
  head version's schema and row count. Non-empty criteria are a ListDatasets filter (UTF-8),
  e.g. `labels.team = "vision"`.
- GetFlightInfo, GetSchema: [dataset_id] is the head version; [dataset_id, ref] is the version
  with id `ref` when the dataset has one (versions are "v1", "v2", ...), else the tag `ref`.
- DoGet: a ticket from IssueFlightTicket, GetFlightInfo or ListFlights.
- DoPut: [dataset_id] or [dataset_id, "overwrite"] commits a WRITE_MODE_OVERWRITE version,
  [dataset_id, "append"] a WRITE_MODE_APPEND one, through the same validation and commit as
  WriteVersion (lineage origin VERSION_ORIGIN_WRITE), creating the dataset when the id is new.
  The one metadata message sent back is a serialized WriteVersionResponse. OVERWRITE is the
  default even when the dataset has a head: a Flight client that knows nothing of versions
  expects a put to leave the dataset holding the rows it put, and a repeated put not to
  double them; appending is asked for by name.

A ticket is self-contained and signed, so the server keeps nothing per ticket: the canonical
version and the dataset incarnation it was resolved to, the columns, offset and limit, and an
expiry, with an HMAC-SHA256 under a secret of this process. A ticket that was altered, minted
by another process (or before a restart) or has expired is NOT_FOUND (DAT-063); the client
asks for a new one.

Flight runs its handlers on threads of its own. The catalog is used on the host's event loop
only, so a handler hands its catalog work to the loop and waits for it (`_on_loop`); the rows
it reads are immutable, memory-mapped tables, streamed to the client in C++.

A LeptonError becomes the Flight error whose gRPC status has the same code where Arrow has
one (NOT_FOUND, INVALID_ARGUMENT, UNIMPLEMENTED, UNAUTHENTICATED, PERMISSION_DENIED,
UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, INTERNAL); other codes travel as UNKNOWN. The
message is always "CODE [REASON]: message"."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import grpc
import pyarrow as pa
from google.protobuf.timestamp_pb2 import Timestamp
from pyarrow import flight

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_server.aip import resource_names
from lepton_server.config import ServerConfig
from lepton_server.data.dataset_catalog import DatasetCatalog
from lepton_server.data.version_ingest import VersionIngest
from lepton_server.data.version_writes import WriteSession
from lepton_server.runtime.audit_log import AuditLog, audit_path
from lepton_server.runtime.auth import bearer_token, credentials_rejection, role_rejection
from lepton_server.runtime.error_mapping import as_lepton_error
from lepton_server.runtime.errors import (
    LeptonError,
    NotFound,
    PermissionDenied,
    Unavailable,
    invalid_argument,
)
from lepton_server.runtime.principals import token_principal
from lepton_server.runtime.roles import READER, WRITER

T = TypeVar("T")

TICKET_LIFETIME_NS = 3600 * 10**9
PUT_MODES = {"overwrite": resources.WRITE_MODE_OVERWRITE, "append": resources.WRITE_MODE_APPEND}
_TICKET_FORMAT = b"LFT1"
_TAG_BYTES = 32
_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")
# Flight error classes whose gRPC status carries the LeptonError's code; the rest is UNKNOWN.
_FLIGHT_ERRORS: dict[grpc.StatusCode, type[Exception]] = {
    grpc.StatusCode.NOT_FOUND: pa.ArrowKeyError,
    grpc.StatusCode.INVALID_ARGUMENT: pa.ArrowInvalid,
    grpc.StatusCode.UNIMPLEMENTED: pa.ArrowNotImplementedError,
    grpc.StatusCode.UNAUTHENTICATED: flight.FlightUnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: flight.FlightUnauthorizedError,
    grpc.StatusCode.UNAVAILABLE: flight.FlightUnavailableError,
    grpc.StatusCode.CANCELLED: flight.FlightCancelledError,
    grpc.StatusCode.DEADLINE_EXCEEDED: flight.FlightTimedOutError,
    grpc.StatusCode.INTERNAL: flight.FlightInternalError,
}


@dataclass(frozen=True)
class Selection:
    """What a ticket reads: a canonical version of one dataset incarnation (its uid, so that a
    dataset deleted and created again under the same id does not answer), columns and rows."""

    version: str
    dataset_uid: str
    columns: tuple[str, ...] = ()
    offset: int = 0
    limit: int = 0

    def read_request(self) -> pb.ReadVersionRequest:
        return pb.ReadVersionRequest(
            name=self.version, columns=self.columns, offset=self.offset, limit=self.limit
        )


class FlightTickets:
    """Issues and opens signed tickets; `lifetime_ns` after issue a ticket expires."""

    def __init__(
        self,
        lifetime_ns: int = TICKET_LIFETIME_NS,
        secret: bytes | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.lifetime_ns = lifetime_ns
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock

    def issue(self, selection: Selection) -> tuple[bytes, int]:
        """An opaque ticket for `selection` and its expiry (ns since the epoch)."""
        expires = self._clock() + self.lifetime_ns
        payload = json.dumps(
            [
                selection.version,
                selection.dataset_uid,
                list(selection.columns),
                selection.offset,
                selection.limit,
                expires,
            ],
            separators=(",", ":"),
        ).encode()
        return _TICKET_FORMAT + self._tag(payload) + payload, expires

    def open(self, ticket: bytes) -> Selection:
        """The selection of a ticket this object issued, or NOT_FOUND (DAT-063)."""
        head = len(_TICKET_FORMAT) + _TAG_BYTES
        tag, payload = ticket[len(_TICKET_FORMAT) : head], ticket[head:]
        if not ticket.startswith(_TICKET_FORMAT) or not hmac.compare_digest(
            tag, self._tag(payload)
        ):
            raise _ticket_not_found("the ticket was not issued by this server")
        version, dataset_uid, columns, offset, limit, expires = json.loads(payload)
        if self._clock() >= expires:
            raise _ticket_not_found("the ticket has expired; ask for a new one")
        return Selection(version, dataset_uid, tuple(columns), offset, limit)

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, _TICKET_FORMAT + payload, hashlib.sha256).digest()


class DatasetFlightServer(flight.FlightServerBase):
    """The Flight endpoint of one catalog; it listens from construction on. `start` gives it
    the host's event loop, `close` shuts it down; `issue_ticket` answers IssueFlightTicket."""

    def __init__(
        self,
        catalog: DatasetCatalog,
        address: str,
        *,
        server: ServerConfig | None = None,
        tickets: FlightTickets | None = None,
        shutdown_seconds: float = 5.0,
    ) -> None:
        # Everything a handler uses is set before the server starts listening.
        self.catalog = catalog
        self.tickets = tickets or FlightTickets()
        self._shutdown_seconds = shutdown_seconds
        self._audit: AuditLog | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[concurrent.futures.Future[Any]] = set()
        host, _, port = address.rpartition(":")
        tls = None if server is None else server.tls
        scheme = "grpc+tls" if tls is not None else "grpc+tcp"
        options: dict[str, Any] = {}
        if tls is not None:
            options["tls_certificates"] = [
                flight.CertKeyPair(cert=tls.cert_file.read_bytes(), key=tls.key_file.read_bytes())
            ]
            if tls.client_ca_file is not None:
                options["verify_client"] = True
                options["root_certificates"] = tls.client_ca_file.read_bytes()
        if server is not None and server.auth_tokens:
            self._audit = AuditLog(audit_path(server.data_dir))
            options["middleware"] = {"auth": _BearerTokens(server, self._audit)}
        super().__init__(f"{scheme}://{host or '0.0.0.0'}:{port}", **options)
        advertised = socket.gethostname() if host in _WILDCARD_HOSTS else host
        self.locations = (f"{scheme}://{advertised}:{self.port}",)

    # --- lifecycle (on the event loop) --------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop, _address: str) -> None:
        with self._lock:
            self._loop = loop

    def close(self) -> None:
        """Refuse new catalog work, fail the handlers waiting for the loop (which is busy
        stopping) and shut the server down, waiting at most `shutdown_seconds` for streams."""
        with self._lock:
            self._loop = None
            pending = list(self._pending)
        for future in pending:
            future.cancel()
        stopper = threading.Thread(target=self.shutdown, name="flight-shutdown", daemon=True)
        stopper.start()
        stopper.join(self._shutdown_seconds)
        if self._audit is not None:
            self._audit.close()

    # --- IssueFlightTicket (on the event loop) ------------------------------------------------

    def issue_ticket(self, request: pb.IssueFlightTicketRequest) -> pb.IssueFlightTicketResponse:
        """Validate exactly as ReadVersion does and sign the selection (DAT-061)."""
        header, selection = self._plan(
            pb.ReadVersionRequest(
                name=request.name,
                columns=request.columns,
                offset=request.offset,
                limit=request.limit,
            )
        )
        # Flight batching is the Flight server's choice.
        header.batch_rows = 0
        header.batch_count = 0
        ticket, expires = self.tickets.issue(selection)
        expire_time = Timestamp()
        expire_time.FromNanoseconds(expires)
        return pb.IssueFlightTicketResponse(
            ticket=ticket, locations=self.locations, expire_time=expire_time, header=header
        )

    # --- Flight methods (on Flight's threads) -------------------------------------------------

    def list_flights(self, context: flight.ServerCallContext, criteria: bytes) -> list:
        with _flight_errors():
            text = _utf8(criteria, "criteria")
            heads = self._call(self._head_versions, text)
            return [
                self._flight_info(version, selection, flight.FlightDescriptor.for_path(dataset_id))
                for dataset_id, version, selection in heads
            ]

    def get_flight_info(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        with _flight_errors():
            dataset_id, reference = _read_target(descriptor)
            version, selection = self._call(self._described_version, dataset_id, reference)
            return self._flight_info(version, selection, descriptor)

    def get_schema(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.SchemaResult:
        with _flight_errors():
            dataset_id, reference = _read_target(descriptor)
            version, _ = self._call(self._described_version, dataset_id, reference)
            return flight.SchemaResult(
                pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema))
            )

    def do_get(
        self, context: flight.ServerCallContext, ticket: flight.Ticket
    ) -> flight.RecordBatchStream:
        with _flight_errors():
            selection = self.tickets.open(ticket.ticket)
            return flight.RecordBatchStream(self._call(self._rows, selection))

    def do_put(
        self,
        context: flight.ServerCallContext,
        descriptor: flight.FlightDescriptor,
        reader: flight.MetadataRecordBatchReader,
        writer: flight.FlightMetadataWriter,
    ) -> None:
        caller = context.get_middleware("auth")
        try:
            version = self._put(descriptor, reader)
        except Exception as exc:
            error = as_lepton_error(exc)
            code, reason = (error.code.name, error.reason) if error else ("INTERNAL", "")
            self._audited(caller, "", code, reason)
            raise
        self._audited(caller, version.name, "OK", "")
        writer.write(pb.WriteVersionResponse(version=version).SerializeToString())

    def _audited(self, caller: _Caller | None, resource: str, code: str, reason: str) -> None:
        """A DoPut's event in the audit log (GEN-017), when the server keeps one."""
        if self._audit is not None and caller is not None:
            method = flight_method(flight.FlightMethod.DO_PUT)
            self._audit.append(caller.principal, method, resource, code, reason)

    def _put(
        self, descriptor: flight.FlightDescriptor, reader: flight.MetadataRecordBatchReader
    ) -> resources.DatasetVersion:
        """DoPut's version, committed once the whole stream is in."""
        with _flight_errors():
            dataset_id, mode = _put_target(descriptor)
            header = pb.WriteVersionHeader(parent=f"datasets/{dataset_id}", mode=mode)
            # The stream is taken in as WriteVersion's is, then committed only once complete;
            # a put that fails leaves no dataset behind it.
            session, ingest, created = self._on_loop(lambda: self._begin_put(header))
            try:
                with pa.ipc.new_stream(_IngestSink(ingest), reader.schema) as stream:
                    for batch in reader.to_reader():
                        stream.write_batch(batch)
                version = self._on_loop(lambda: self.catalog.commit(session, ingest))
            except BaseException:
                if created:
                    self._call(self._forget, header.parent)
                raise
            finally:
                ingest.close()
            return version

    # --- catalog work (on the event loop) -----------------------------------------------------

    def _plan(self, request: pb.ReadVersionRequest) -> tuple[pb.ReadVersionHeader, Selection]:
        """ReadVersion's validation and header, and the selection pinned to the version."""
        header = self.catalog.plan_read(request).header
        dataset, _ = self.catalog.resolve(header.version, "name")
        selection = Selection(
            header.version, dataset.uid, tuple(request.columns), request.offset, request.limit
        )
        return header, selection

    def _whole(self, name: str) -> tuple[resources.DatasetVersion, Selection]:
        """A version and the selection of all its rows."""
        dataset, _ = self.catalog.resolve(name, "name")
        version = self.catalog.get_version(name)
        return version, Selection(version.name, dataset.uid)

    def _head_versions(
        self, filter_text: str
    ) -> list[tuple[str, resources.DatasetVersion, Selection]]:
        heads = []
        token = ""
        while True:
            datasets, token = self.catalog.list_datasets(
                pb.ListDatasetsRequest(filter=filter_text, page_size=1000, page_token=token)
            )
            for dataset in datasets:
                if dataset.head_version:
                    (dataset_id,) = resource_names.parse(dataset.name, ("datasets",), "name")
                    heads.append((dataset_id, *self._whole(dataset.head_version)))
            if not token:
                return heads

    def _described_version(
        self, dataset_id: str, reference: str | None
    ) -> tuple[resources.DatasetVersion, Selection]:
        dataset = self.catalog.get_dataset(f"datasets/{dataset_id}")
        if reference is None:
            if not dataset.head_version:
                raise NotFound(
                    reason="RESOURCE_NOT_FOUND",
                    message=f"{dataset.name} has no version yet",
                    metadata={"resource_name": dataset.name},
                )
            return self._whole(dataset.head_version)
        try:
            return self._whole(f"{dataset.name}/versions/{reference}")
        except NotFound:
            return self._whole(f"{dataset.name}/tags/{reference}")

    def _rows(self, selection: Selection) -> pa.Table:
        """The rows a ticket selects (DAT-062), or NOT_FOUND when its version is gone."""
        dataset, row = self.catalog.resolve(selection.version, "ticket")
        if dataset.uid != selection.dataset_uid:
            raise _ticket_not_found(f"{selection.version} is not the version the ticket names")
        header = self.catalog.plan_read(selection.read_request()).header
        table = self.catalog.version_table(dataset, row)
        if selection.columns:
            table = table.select(list(selection.columns))
        return table.slice(selection.offset, header.total_row_count)

    async def _begin_put(
        self, header: pb.WriteVersionHeader
    ) -> tuple[WriteSession, VersionIngest, bool]:
        """The write session of a put and its ingest, creating its dataset when there is
        none yet; and whether it did."""
        created = False
        try:
            self.catalog.dataset_row(header.parent)
        except NotFound:
            (dataset_id,) = resource_names.parse(header.parent, ("datasets",), "descriptor.path")
            self.catalog.create_dataset(pb.CreateDatasetRequest(dataset_id=dataset_id))
            created = True
        session = self.catalog.begin_write(header)
        return session, self.catalog.ingest(session), created

    def _forget(self, name: str) -> None:
        with contextlib.suppress(LeptonError):
            self.catalog.delete_dataset(pb.DeleteDatasetRequest(name=name))

    # --- helpers ------------------------------------------------------------------------------

    def _flight_info(
        self,
        version: resources.DatasetVersion,
        selection: Selection,
        descriptor: flight.FlightDescriptor,
    ) -> flight.FlightInfo:
        ticket, expires = self.tickets.issue(selection)
        expiration_time = pa.scalar(expires // 1000, type=pa.timestamp("us", tz="UTC"))
        return flight.FlightInfo(
            pa.ipc.read_schema(pa.py_buffer(version.schema.arrow_schema)),
            descriptor,
            [flight.FlightEndpoint(ticket, self.locations, expiration_time=expiration_time)],
            total_records=version.row_count,
            total_bytes=-1,
        )

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` run on the event loop; its result or its error."""

        async def run() -> T:
            return function(*args)

        return self._on_loop(run)

    def _on_loop(self, coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `coroutine()` on the event loop and wait for it, or UNAVAILABLE when the
        server is not (or no longer) serving."""
        with self._lock:
            if self._loop is None:
                raise _stopping()
            future = asyncio.run_coroutine_threadsafe(coroutine(), self._loop)
            self._pending.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise _stopping() from None
        finally:
            with self._lock:
                self._pending.discard(future)


class _IngestSink:
    """A VersionIngest as the file-like sink pyarrow's IPC stream writer writes to."""

    closed = False

    def __init__(self, ingest: VersionIngest) -> None:
        self._ingest = ingest

    def write(self, data: Any) -> int:
        chunk = bytes(data)  # the writer may hand out views of its own buffers
        self._ingest.write(chunk)
        return len(chunk)


class _Caller(flight.ServerMiddleware):
    """Who is calling, for the handler of the call (DoPut's audit event)."""

    def __init__(self, principal: str) -> None:
        self.principal = principal


class _BearerTokens(flight.ServerMiddlewareFactory):
    """Requires `authorization: Bearer <token>` on every Flight call, and the role the method
    needs, as the gRPC services do (GEN-010, GEN-015); a refusal goes to the audit log."""

    def __init__(self, server: ServerConfig, audit: AuditLog | None) -> None:
        self._tokens = [t.encode() for t in server.auth_tokens]
        self._roles = {t.encode(): server.token_roles(t) for t in server.auth_tokens}
        self._principals = {t.encode(): p for t, p in server.principals.items()}
        # The endpoint serves one tenant's catalog (GEN-025): another tenant's credential is
        # valid, and refused.
        self._tenant = server.tenant
        self._tenants = {t.encode(): server.token_tenant(t) for t in server.auth_tokens}
        self._audit = audit

    def start_call(self, info: flight.CallInfo, headers: dict[str, list]) -> _Caller:
        values = headers.get("authorization")
        rejection = credentials_rejection(self._tokens, values[0] if values else None)
        if rejection is not None:
            self._refused("", info, rejection)
        token = bearer_token(values[0])
        principal = self._principals.get(token) or token_principal(token.decode())
        # DoPut writes a version as WriteVersion does; every other Flight method reads.
        needed = WRITER if info.method == flight.FlightMethod.DO_PUT else READER
        refusal = role_rejection(self._roles[token], f"Flight {info.method.name}", needed)
        if refusal is not None:
            self._refused(principal, info, refusal)
        if self._tenants[token] != self._tenant:
            self._refused(principal, info, _tenant_not_served(self._tenants[token]))
        return _Caller(principal)

    def _refused(self, principal: str, info: flight.CallInfo, error: LeptonError) -> NoReturn:
        if self._audit is not None:
            self._audit.append(
                principal, flight_method(info.method), "", error.code.name, error.reason
            )
        raise _flight_error(error)


def _tenant_not_served(tenant: str) -> PermissionDenied:
    return PermissionDenied(
        reason="TENANT_NOT_SERVED",
        message=f"this Arrow Flight endpoint serves the deployment's default tenant only, and "
        f"the credential belongs to tenant {tenant!r}",
    )


def flight_method(method: flight.FlightMethod) -> str:
    """The gRPC method of a Flight method, as the audit log names calls:
    "/arrow.flight.protocol.FlightService/DoPut"."""
    name = "".join(word.capitalize() for word in method.name.split("_"))
    return f"/arrow.flight.protocol.FlightService/{name}"


def _read_target(descriptor: flight.FlightDescriptor) -> tuple[str, str | None]:
    """[dataset_id] (the head version) or [dataset_id, version or tag id]."""
    path = _path(descriptor, "[dataset_id] or [dataset_id, version_or_tag]")
    if len(path) not in (1, 2):
        raise _bad_path("[dataset_id] or [dataset_id, version_or_tag]")
    if len(path) == 2:
        resource_names.check_id(path[1], "descriptor.path[1]", "version or tag id")
    return path[0], path[1] if len(path) == 2 else None


def _put_target(descriptor: flight.FlightDescriptor) -> tuple[str, int]:
    """[dataset_id] or [dataset_id, "overwrite"] (OVERWRITE), [dataset_id, "append"]."""
    shape = '[dataset_id], [dataset_id, "overwrite"] or [dataset_id, "append"]'
    path = _path(descriptor, shape)
    if len(path) not in (1, 2) or (len(path) == 2 and path[1] not in PUT_MODES):
        raise _bad_path(shape)
    return path[0], PUT_MODES[path[1] if len(path) == 2 else "overwrite"]


def _path(descriptor: flight.FlightDescriptor, shape: str) -> list[str]:
    if descriptor.descriptor_type != flight.DescriptorType.PATH:
        raise invalid_argument("INVALID_FIELD", "descriptor", f"must be a path descriptor, {shape}")
    path = [_utf8(part, f"descriptor.path[{i}]") for i, part in enumerate(descriptor.path)]
    if path:
        resource_names.check_id(path[0], "descriptor.path[0]", "dataset id")
    return path


def _utf8(data: bytes, field_path: str) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise invalid_argument("INVALID_FIELD", field_path, "must be UTF-8") from None


def _bad_path(shape: str) -> LeptonError:
    return invalid_argument("INVALID_FIELD", "descriptor.path", f"must be {shape}")


def _ticket_not_found(message: str) -> NotFound:
    return NotFound(reason="RESOURCE_NOT_FOUND", message=message)


def _stopping() -> Unavailable:
    return Unavailable(reason="SERVICE_UNAVAILABLE", message="the server is not serving")


def _flight_error(error: LeptonError) -> Exception:
    return _FLIGHT_ERRORS.get(error.code, flight.FlightServerError)(str(error))


@contextlib.contextmanager
def _flight_errors():
    """The one place a LeptonError becomes a Flight error."""
    try:
        yield
    except Exception as exc:
        error = as_lepton_error(exc)  # a LeptonError, or a full disk (GEN-009)
        if error is None:
            raise
        raise _flight_error(error) from None


__all__ = ["DatasetFlightServer", "FlightTickets", "Selection"]

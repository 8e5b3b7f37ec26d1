"""Arrow Flight cases of the `data-core` profile (spec/data.md §8.6, feature `data.flight`):
IssueFlightTicket answers and validates as ReadVersion does (DAT-061), Flight DoGet of an
issued ticket streams ReadVersion's rows (DAT-062), and an unknown ticket is NOT_FOUND
(DAT-063).

Every case skips unless the target lists `data.flight` on DatasetService. DoGet goes through a
plain pyarrow.flight client at each location the ticket names, with the run's TLS files and
bearer token, so that the Flight endpoint is reached the way any Flight client reaches it.
The error table reuses the ReadVersion rows of vectors/data.yaml whose request fields
IssueFlightTicket has too."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import json_format
from pyarrow import flight

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import TABLES
from lepton_conformance.suites.data.dataset_client import (
    SERVICE,
    DatasetClient,
    schema_of,
    unique_id,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()

FEATURE = "data.flight"
# The Flight URI that means "the address the client used for IssueFlightTicket" (proto).
REUSE_CONNECTION = "arrow-flight-reuse-connection:"
# The request fields IssueFlightTicket shares with ReadVersion.
TICKET_FIELDS = {"columns", "offset", "limit"}
ROW_COUNT = 12
# A projection (out of schema order), an offset and a limit inside the version.
SELECTION: dict[str, Any] = {"columns": ["c", "a", "tags"], "offset": 3, "limit": 6}


def _sample() -> pa.Table:
    """ROW_COUNT rows of several column types, with nulls."""
    table = rows(ROW_COUNT)
    count = range(ROW_COUNT)
    return table.append_column(
        "c", pa.array([None if i % 4 == 1 else i / 8 for i in count], pa.float64())
    ).append_column(
        "tags",
        pa.array([[i, None] if i % 3 else None for i in count], pa.list_(pa.int32())),
    )


def _require_flight(ctx: CaseContext) -> None:
    ctx.require_feature(SERVICE, FEATURE)


def _issue(client: DatasetClient, name: str, **selection: Any) -> pb.IssueFlightTicketResponse:
    request = pb.IssueFlightTicketRequest(name=name, **selection)
    return expect.succeeds(
        lambda: client.call("IssueFlightTicket", request), f"IssueFlightTicket({name})"
    )


# --- Flight client ----------------------------------------------------------------------------


def _location(ctx: CaseContext, location: str) -> str:
    """A returned location as a URI to connect to: the reuse-connection URI is the address
    the suite called the target at, over TLS when the run uses TLS."""
    if not location.startswith(REUSE_CONNECTION):
        return location
    options = ctx.options
    scheme = "grpc+tls" if options.tls or options.ca_file or options.cert_file else "grpc+tcp"
    return f"{scheme}://{options.address}"


@contextlib.contextmanager
def _flight_client(ctx: CaseContext, location: str) -> Iterator[flight.FlightClient]:
    """A Flight client of `location` with the run's TLS files, closed at the end."""
    options = ctx.options
    kwargs: dict[str, Any] = {}
    if options.ca_file is not None:
        kwargs["tls_root_certs"] = options.ca_file.read_bytes()
    if options.cert_file is not None and options.key_file is not None:
        kwargs["cert_chain"] = options.cert_file.read_bytes()
        kwargs["private_key"] = options.key_file.read_bytes()
    uri = _location(ctx, location)
    try:
        client = flight.FlightClient(uri, **kwargs)
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise Failed(
            f"location {location!r} to be a Flight URI a client connects to",
            f"{type(exc).__name__}: {exc}",
        ) from None
    try:
        yield client
    finally:
        client.close()


def _call_options(ctx: CaseContext) -> flight.FlightCallOptions:
    """The case's deadline, so that a hang fails, and the bearer token (GEN-010)."""
    headers = []
    if ctx.options.token is not None:
        headers.append((b"authorization", f"Bearer {ctx.options.token}".encode()))
    return flight.FlightCallOptions(timeout=ctx.timeout * 2, headers=headers)


def _do_get(ctx: CaseContext, location: str, ticket: bytes) -> pa.Table:
    """Every row of DoGet(ticket) at `location`, or Failed."""
    with _flight_client(ctx, location) as client:
        try:
            return client.do_get(flight.Ticket(ticket), _call_options(ctx)).read_all()
        except (pa.ArrowException, OSError) as exc:
            raise Failed(
                f"DoGet of the issued ticket at {location} to stream the rows",
                f"{type(exc).__name__}: {exc}",
            ) from None


# --- IssueFlightTicket ------------------------------------------------------------------------


@CASES.case(CORE, "flight.ticket-header-equals-the-read-version-header", "DAT-061")
def ticket_header(ctx: CaseContext) -> None:
    """IssueFlightTicket of a version or a tag, whole or with a projection, offset and limit:
    a ticket, a location, a future expiry and ReadVersion's header with batch_rows and
    batch_count 0."""
    _require_flight(ctx)
    client = DatasetClient(ctx)
    with client.scratch() as name:
        version = client.write(name, _sample())
        tag = f"{name}/tags/prod"
        expect.succeeds(
            lambda: client.call("SetTag", pb.SetTagRequest(name=tag, version=version.name)),
            f"SetTag({tag})",
        )
        for reference in (version.name, tag):
            for selection in ({}, SELECTION):
                what = f"IssueFlightTicket({reference}, {selection or 'every row'})"
                issued = _issue(client, reference, **selection)
                expect.holds(bool(issued.ticket), f"a non-empty ticket from {what}", "empty")
                expect.holds(
                    len(issued.locations) > 0 and all(issued.locations),
                    f"at least one location, none empty, from {what}",
                    f"locations {list(issued.locations)}",
                )
                # Unset means no expiry (proto); a set one lies ahead.
                if issued.HasField("expire_time"):
                    now = time.time_ns()
                    expect.holds(
                        issued.expire_time.ToNanoseconds() > now,
                        f"expire_time of {what} in the future",
                        f"{issued.expire_time.ToJsonString()} at {now} ns",
                    )
                expect.holds(issued.HasField("header"), f"a header from {what}", "none")
                read = client.read(reference, **selection)[0].header
                expect.equal(issued.header.version, version.name, f"header.version of {what}")
                # The schemas are compared as schemas: two encodings of one Arrow schema may
                # differ in their bytes (padding, flatbuffer layout).
                got = schema_of(issued.header.arrow_schema, f"header.arrow_schema of {what}")
                wanted = schema_of(read.arrow_schema, "ReadVersion's header.arrow_schema")
                expect.holds(
                    got.equals(wanted, check_metadata=True),
                    f"header.arrow_schema of {what} = ReadVersion's {wanted}",
                    str(got),
                )
                ticket_header, read_header = pb.ReadVersionHeader(), pb.ReadVersionHeader()
                ticket_header.CopyFrom(issued.header)
                read_header.CopyFrom(read)
                ticket_header.ClearField("arrow_schema")
                read_header.ClearField("arrow_schema")
                read_header.batch_rows = 0
                read_header.batch_count = 0
                expect.equal(
                    ticket_header,
                    read_header,
                    f"header of {what} (but arrow_schema) = ReadVersion's, batches 0",
                )


def _error_rows() -> list[tuple[str, dict[str, Any]]]:
    """The ReadVersion rows of the error tables whose request IssueFlightTicket can send, by
    case id: each with the code, reason, field and metadata ReadVersion must answer."""
    found: list[tuple[str, dict[str, Any]]] = []
    for row in TABLES["read_errors"]:
        if set(row["request"]) <= TICKET_FIELDS:
            found.append((row["id"], row))
    for row in TABLES["not_found"]:
        if row["rpc"] == "ReadVersion":
            found.append(
                _as_read_error(
                    row,
                    code="NOT_FOUND",
                    reason="RESOURCE_NOT_FOUND",
                    metadata={"resource_name": row["resource_name"]},
                    requirements=["DAT-003", *row.get("requirements", [])],
                )
            )
    for row in TABLES["names"]:
        if row["rpc"] == "ReadVersion":
            found.append(
                _as_read_error(
                    row,
                    code="INVALID_ARGUMENT",
                    reason="INVALID_NAME",
                    field=row["field"],
                    requirements=row.get("requirements", ["DAT-003"]),
                )
            )
    return found


def _as_read_error(row: dict[str, Any], **answer: Any) -> tuple[str, dict[str, Any]]:
    """A ReadVersion row of another error table as a row of read_errors: its case id and its
    request with the answer ReadVersion must give."""
    return row["id"].removeprefix("read-version-"), {"request": row["request"], **answer}


def _register_ticket_errors() -> None:
    for row_id, row in _error_rows():

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            _require_flight(ctx)
            client = DatasetClient(ctx)
            with client.scratch() as name:
                version = client.write(name, rows(10))
                names = {
                    "{d}": name.removeprefix("datasets/"),
                    "{v}": version.name,
                    "{missing}": unique_id("conf-missing"),
                }
                request = json_format.ParseDict(
                    vectors.filled(row["request"], names),
                    pb.IssueFlightTicketRequest(name=version.name),
                )
                expect.rejects(
                    lambda: client.call("IssueFlightTicket", request),
                    getattr(grpc.StatusCode, row["code"]),
                    row["reason"],
                    field=row.get("field"),
                    metadata=vectors.filled(row.get("metadata"), names),
                )

        title = row_id.replace("-", " ")
        body.__doc__ = f"IssueFlightTicket, {title}: {row['code']} [{row['reason']}] as ReadVersion"
        CASES.case(
            CORE, f"flight.ticket-error.{row_id}", "DAT-061", *row["requirements"], "DAT-002"
        )(body)


_register_ticket_errors()


# --- DoGet ------------------------------------------------------------------------------------


@CASES.case(CORE, "flight.do-get-returns-the-read-version-rows", "DAT-062")
def do_get_rows(ctx: CaseContext) -> None:
    """DoGet of an issued ticket at every location streams the rows ReadVersion returns for
    the same selection, whole or projected with an offset and a limit, with the header's
    schema."""
    _require_flight(ctx)
    client = DatasetClient(ctx)
    with client.scratch() as name:
        version = client.write(name, _sample())
        for selection in ({}, SELECTION):
            what = f"DoGet of {version.name}, {selection or 'every row'}"
            issued = _issue(client, version.name, **selection)
            wanted = client.read_table(version.name, **selection)
            header_schema = schema_of(issued.header.arrow_schema, "header.arrow_schema")
            expect.holds(bool(issued.locations), "at least one location", "none")
            for location in issued.locations:
                got = _do_get(ctx, location, issued.ticket)
                expect.holds(
                    got.schema.equals(header_schema, check_metadata=True),
                    f"the schema of {what} at {location} = the header's {header_schema}",
                    str(got.schema),
                )
                expect.holds(
                    got.equals(wanted),
                    f"{what} at {location} = ReadVersion's {wanted.num_rows} rows "
                    f"{wanted.to_pylist()}",
                    f"{got.num_rows} rows {got.to_pylist()}",
                )


@CASES.case(CORE, "flight.do-get-of-an-unknown-ticket-is-not-found", "DAT-063")
def unknown_ticket(ctx: CaseContext) -> None:
    """DoGet of a ticket the server never issued fails with the Flight status NOT_FOUND at
    every location."""
    _require_flight(ctx)
    client = DatasetClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(3))
        # A real ticket only for its locations: where the server serves DoGet.
        locations = _issue(client, version.name).locations
        expect.holds(bool(locations), "at least one location", "none")
        unknown = secrets.token_bytes(48)
        for location in locations:
            with _flight_client(ctx, location) as flight_client:
                try:
                    table = flight_client.do_get(
                        flight.Ticket(unknown), _call_options(ctx)
                    ).read_all()
                except pa.ArrowKeyError:
                    # pyarrow raises ArrowKeyError for the gRPC status NOT_FOUND and for no
                    # other status (it has no Flight error class of its own for NOT_FOUND):
                    # ALREADY_EXISTS is a bare ArrowException, the rest FlightError
                    # subclasses, ArrowInvalid or ArrowNotImplementedError.
                    continue
                except (pa.ArrowException, OSError) as exc:
                    raise Failed(
                        f"DoGet of an unknown ticket at {location} to fail with NOT_FOUND",
                        f"{type(exc).__name__}: {exc}",
                    ) from None
                raise Failed(
                    f"DoGet of an unknown ticket at {location} to fail with NOT_FOUND",
                    f"OK with {table.num_rows} rows",
                )

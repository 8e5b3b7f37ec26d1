"""Datasets over Arrow Flight (spec/data.md §8.6, feature `data.flight`): `lepton serve
--flight-address` on loopback, read and written with a plain pyarrow.flight client and checked
against the gRPC DatasetService."""

from __future__ import annotations

import signal
import subprocess
import time

import grpc
import pyarrow as pa
import pytest
from pyarrow import flight
from support.certificates import CertificateAuthority
from support.servers import SERVE
from support.status_details import error_info

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.discovery.v1 import discovery_service_pb2, discovery_service_pb2_grpc
from lepton_server.data.flight import FlightTickets, Selection
from lepton_server.runtime.errors import NotFound

SERVICE = "lepton.data.v1.DatasetService"
FLIGHT = ("--flight-address", "127.0.0.1:0")
ROWS = pa.table(
    {
        "id": pa.array(range(10), pa.int64()),
        "name": pa.array([f"row-{i}" for i in range(10)], pa.string()),
        "score": pa.array([i / 4 for i in range(10)], pa.float64()),
    }
)


@pytest.fixture
def served(server_factory):
    """A server with a Flight endpoint, its gRPC stub and a Flight client."""
    server = server_factory(*FLIGHT)
    stub = pb_grpc.DatasetServiceStub(grpc.insecure_channel(server.address))
    return server, stub, flight.connect(server.flight_location)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _write(stub, dataset_id: str, table: pa.Table, tags: tuple[str, ...] = ()):
    """WriteVersion of `table` (OVERWRITE) into a dataset created when new."""
    try:
        stub.CreateDataset(pb.CreateDatasetRequest(dataset_id=dataset_id), timeout=10)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    header = pb.WriteVersionHeader(
        parent=f"datasets/{dataset_id}", mode=resources.WRITE_MODE_OVERWRITE, tags=tags
    )
    messages = [
        pb.WriteVersionRequest(header=header),
        pb.WriteVersionRequest(arrow_data=_ipc(table)),
    ]
    return stub.WriteVersion(iter(messages), timeout=30).version


def _read(stub, request: pb.ReadVersionRequest) -> tuple[pb.ReadVersionHeader, pa.Table]:
    responses = list(stub.ReadVersion(request, timeout=30))
    schema = pa.ipc.read_schema(pa.py_buffer(responses[0].header.arrow_schema))
    batches = [
        pa.ipc.read_record_batch(pa.py_buffer(r.arrow_record_batch), schema) for r in responses
    ]
    return responses[0].header, pa.Table.from_batches(batches, schema=schema)


def _put(client, path: list[str], table: pa.Table, options=None) -> resources.DatasetVersion:
    descriptor = flight.FlightDescriptor.for_path(*path)
    writer, reader = client.do_put(descriptor, table.schema, options=options)
    writer.write_table(table)
    writer.done_writing()
    metadata = reader.read()
    writer.close()
    return pb.WriteVersionResponse.FromString(metadata.to_pybytes()).version


def _get(client, path: list[str]) -> pa.Table:
    info = client.get_flight_info(flight.FlightDescriptor.for_path(*path))
    return client.do_get(info.endpoints[0].ticket).read_all()


def _features(address: str) -> set[str]:
    with grpc.insecure_channel(address) as channel:
        info = discovery_service_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_service_pb2.GetServerInfoRequest(), timeout=10
        )
    return {f for s in info.services if s.name == SERVICE for f in s.features}


def _raw_do_get(address: str, ticket: bytes) -> grpc.RpcError:
    """DoGet through a plain gRPC channel, as a Flight client in another language sends it."""
    message = b"\x0a" + bytes([len(ticket)]) + ticket  # arrow.flight.protocol.Ticket
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_stream(
            "/arrow.flight.protocol.FlightService/DoGet",
            request_serializer=lambda data: data,
            response_deserializer=lambda data: data,
        )
        with pytest.raises(grpc.RpcError) as error:
            list(call(message, timeout=10))
    return error.value


# --- the endpoint ---------------------------------------------------------------------------


def test_flight_endpoint_is_announced_on_loopback(served):
    server, _, _ = served
    scheme, _, rest = server.flight_location.partition("://")
    host, _, port = rest.rpartition(":")
    assert (scheme, host) == ("grpc+tcp", "127.0.0.1")
    assert int(port) > 0
    assert server.flight_location != f"grpc+tcp://{server.address}"


def test_discovery_lists_data_flight_only_with_a_flight_endpoint(server_factory):
    assert "data.flight" in _features(server_factory(*FLIGHT).address)
    assert "data.flight" not in _features(server_factory().address)


def test_issue_flight_ticket_without_a_flight_endpoint_is_feature_not_supported(server):
    stub = pb_grpc.DatasetServiceStub(grpc.insecure_channel(server.address))
    _write(stub, "table", ROWS)
    with pytest.raises(grpc.RpcError) as error:
        stub.IssueFlightTicket(
            pb.IssueFlightTicketRequest(name="datasets/table/versions/v1"), timeout=10
        )
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    info = error_info(error.value)
    assert info.reason == "FEATURE_NOT_SUPPORTED"
    assert info.metadata["feature"] == "data.flight"


def test_flight_address_must_be_host_and_port(tmp_path):
    result = subprocess.run(
        [*SERVE, "serve", "--data-dir", str(tmp_path), "--flight-address", "localhost"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "--flight-address must be HOST:PORT" in result.stderr


def test_server_with_a_flight_endpoint_stops_cleanly(served):
    server, stub, client = served
    _write(stub, "table", ROWS)
    assert _get(client, ["table"]).num_rows == ROWS.num_rows
    assert server.stop(signal.SIGTERM) == 0


# --- listing and reading --------------------------------------------------------------------


def test_list_flights_lists_each_dataset_with_a_version_by_its_id(served):
    _, stub, client = served
    _write(stub, "first", ROWS)
    _write(stub, "second", ROWS.slice(0, 3))
    stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="empty"), timeout=10)
    flights = {tuple(f.descriptor.path): f for f in client.list_flights()}
    assert set(flights) == {(b"first",), (b"second",)}
    second = flights[(b"second",)]
    assert second.schema == ROWS.schema
    assert second.total_records == 3
    assert client.do_get(second.endpoints[0].ticket).read_all() == ROWS.slice(0, 3)


def test_list_flights_criteria_filter_datasets_like_list_datasets(served):
    _, stub, client = served
    _write(stub, "first", ROWS)
    _write(stub, "second", ROWS)
    stub.UpdateDataset(
        pb.UpdateDatasetRequest(
            dataset=resources.Dataset(name="datasets/second", labels={"team": "a"})
        ),
        timeout=10,
    )
    listed = [f.descriptor.path for f in client.list_flights(b'labels.team = "a"')]
    assert listed == [[b"second"]]


def test_get_flight_info_and_do_get_read_the_head_version(served):
    _, stub, client = served
    _write(stub, "table", ROWS.slice(0, 4))
    _write(stub, "table", ROWS)
    info = client.get_flight_info(flight.FlightDescriptor.for_path("table"))
    assert info.total_records == ROWS.num_rows
    assert info.schema == ROWS.schema
    assert client.do_get(info.endpoints[0].ticket).read_all() == ROWS


def test_get_flight_info_of_a_tag_or_a_version_id_reads_that_version(served):
    _, stub, client = served
    _write(stub, "table", ROWS.slice(0, 4), tags=("stable",))
    _write(stub, "table", ROWS)
    assert _get(client, ["table", "stable"]) == ROWS.slice(0, 4)
    assert _get(client, ["table", "v1"]) == ROWS.slice(0, 4)
    assert _get(client, ["table", "v2"]) == ROWS


def test_get_schema_is_the_version_schema(served):
    _, stub, client = served
    _write(stub, "table", ROWS)
    result = client.get_schema(flight.FlightDescriptor.for_path("table"))
    assert result.schema == ROWS.schema


@pytest.mark.parametrize("path", [["missing"], ["table", "no-such-tag"], ["empty"]])
def test_get_flight_info_of_something_unknown_is_not_found(served, path):
    _, stub, client = served
    _write(stub, "table", ROWS)
    stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="empty"), timeout=10)
    with pytest.raises(pa.ArrowKeyError, match="NOT_FOUND"):
        client.get_flight_info(flight.FlightDescriptor.for_path(*path))


def test_get_flight_info_of_a_malformed_path_is_invalid(served):
    _, _, client = served
    with pytest.raises(pa.ArrowInvalid, match="INVALID_NAME"):
        client.get_flight_info(flight.FlightDescriptor.for_path("Not An Id"))
    with pytest.raises(pa.ArrowInvalid, match="INVALID_FIELD"):
        client.get_flight_info(flight.FlightDescriptor.for_command(b"select 1"))


# --- IssueFlightTicket and DoGet (DAT-061..DAT-063) ----------------------------------------


def test_issued_ticket_reads_the_rows_read_version_returns(served):
    server, stub, client = served
    _write(stub, "table", ROWS)
    selection = {
        "name": "datasets/table/versions/v1",
        "columns": ["score", "id"],
        "offset": 2,
        "limit": 5,
    }
    issued = stub.IssueFlightTicket(pb.IssueFlightTicketRequest(**selection), timeout=10)
    read_header, read_rows = _read(stub, pb.ReadVersionRequest(**selection))
    assert issued.ticket
    assert list(issued.locations) == [server.flight_location]
    assert issued.expire_time.ToNanoseconds() > time.time_ns()
    expected_header = pb.ReadVersionHeader()
    expected_header.CopyFrom(read_header)
    expected_header.batch_rows = 0
    expected_header.batch_count = 0
    assert issued.header == expected_header
    rows = flight.connect(issued.locations[0]).do_get(flight.Ticket(issued.ticket)).read_all()
    assert rows.schema == pa.ipc.read_schema(pa.py_buffer(issued.header.arrow_schema))
    assert rows == read_rows
    assert rows.to_pydict() == {"score": [0.5, 0.75, 1.0, 1.25, 1.5], "id": [2, 3, 4, 5, 6]}
    assert client.do_get(flight.Ticket(issued.ticket)).read_all() == read_rows


def test_issued_ticket_of_an_empty_selection_reads_no_rows(served):
    _, stub, client = served
    _write(stub, "table", ROWS)
    issued = stub.IssueFlightTicket(
        pb.IssueFlightTicketRequest(name="datasets/table/versions/v1", offset=10), timeout=10
    )
    assert issued.header.total_row_count == 0
    rows = client.do_get(flight.Ticket(issued.ticket)).read_all()
    assert rows.num_rows == 0
    assert rows.schema == ROWS.schema


def test_issued_ticket_stays_on_the_version_a_tag_named(served):
    _, stub, client = served
    _write(stub, "table", ROWS.slice(0, 4), tags=("stable",))
    issued = stub.IssueFlightTicket(
        pb.IssueFlightTicketRequest(name="datasets/table/tags/stable"), timeout=10
    )
    assert issued.header.version == "datasets/table/versions/v1"
    _write(stub, "table", ROWS, tags=("stable",))
    assert client.do_get(flight.Ticket(issued.ticket)).read_all() == ROWS.slice(0, 4)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "datasets/table/versions/v9"},
        {"name": "datasets/table/tags/none"},
        {"name": "not-a-name"},
        {"name": "datasets/table/versions/v1", "columns": ["nope"]},
        {"name": "datasets/table/versions/v1", "columns": ["id", "id"]},
        {"name": "datasets/table/versions/v1", "offset": -1},
        {"name": "datasets/table/versions/v1", "limit": -1},
        {"name": "datasets/table/versions/v1", "offset": 11},
    ],
)
def test_issue_flight_ticket_fails_exactly_as_read_version_does(served, fields):
    _, stub, _ = served
    _write(stub, "table", ROWS)
    with pytest.raises(grpc.RpcError) as read_error:
        list(stub.ReadVersion(pb.ReadVersionRequest(**fields), timeout=10))
    with pytest.raises(grpc.RpcError) as issue_error:
        stub.IssueFlightTicket(pb.IssueFlightTicketRequest(**fields), timeout=10)
    assert issue_error.value.code() == read_error.value.code()
    assert error_info(issue_error.value) == error_info(read_error.value)


def test_unknown_ticket_is_not_found(served):
    server, _, client = served
    with pytest.raises(pa.ArrowKeyError):
        client.do_get(flight.Ticket(b"no such ticket")).read_all()
    error = _raw_do_get(server.flight_location.partition("://")[2], b"no such ticket")
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_ticket_of_a_deleted_dataset_is_not_found(served):
    _, stub, client = served
    _write(stub, "table", ROWS)
    issued = stub.IssueFlightTicket(
        pb.IssueFlightTicketRequest(name="datasets/table/versions/v1"), timeout=10
    )
    stub.DeleteDataset(pb.DeleteDatasetRequest(name="datasets/table", force=True), timeout=10)
    _write(stub, "table", ROWS)  # the same names again, other rows' identity
    with pytest.raises(pa.ArrowKeyError):
        client.do_get(flight.Ticket(issued.ticket)).read_all()


def test_expired_ticket_is_not_found():
    now = [1_000]
    tickets = FlightTickets(lifetime_ns=500, clock=lambda: now[0])
    ticket, expires = tickets.issue(Selection("datasets/t/versions/v1", "uid"))
    assert expires == 1_500
    now[0] = 1_499
    assert tickets.open(ticket) == Selection("datasets/t/versions/v1", "uid")
    now[0] = 1_500
    with pytest.raises(NotFound):
        tickets.open(ticket)


def test_altered_or_foreign_ticket_is_not_found():
    tickets = FlightTickets()
    ticket, _ = tickets.issue(Selection("datasets/t/versions/v1", "uid", ("a",), 1, 2))
    with pytest.raises(NotFound):
        tickets.open(ticket.replace(b"v1", b"v2"))
    with pytest.raises(NotFound):
        FlightTickets().open(ticket)


# --- writing --------------------------------------------------------------------------------


def test_do_put_creates_the_dataset_and_a_written_version(served):
    _, stub, client = served
    version = _put(client, ["fresh"], ROWS)
    assert version.name == "datasets/fresh/versions/v1"
    dataset = stub.GetDataset(pb.GetDatasetRequest(name="datasets/fresh"), timeout=10).dataset
    assert dataset.head_version == version.name
    stored = stub.GetVersion(pb.GetVersionRequest(name=version.name), timeout=10).version
    assert stored.lineage.origin == resources.VERSION_ORIGIN_WRITE
    assert stored.write_mode == resources.WRITE_MODE_OVERWRITE
    assert stored.row_count == ROWS.num_rows
    written = _write(stub, "by-grpc", ROWS)
    assert stored.content_digest == written.content_digest
    assert _read(stub, pb.ReadVersionRequest(name=version.name))[1] == ROWS


def test_do_put_overwrites_the_head_by_default(served):
    _, stub, client = served
    _write(stub, "table", ROWS)
    version = _put(client, ["table"], ROWS.slice(0, 2))
    assert version.write_mode == resources.WRITE_MODE_OVERWRITE
    assert _get(client, ["table"]) == ROWS.slice(0, 2)
    _put(client, ["table", "overwrite"], ROWS.slice(0, 3))
    assert _get(client, ["table"]) == ROWS.slice(0, 3)


def test_do_put_append_adds_the_rows_to_the_head(served):
    _, stub, client = served
    _write(stub, "table", ROWS.slice(0, 4))
    version = _put(client, ["table", "append"], ROWS.slice(4))
    assert version.write_mode == resources.WRITE_MODE_APPEND
    assert version.parent_version == "datasets/table/versions/v1"
    assert _get(client, ["table"]).combine_chunks() == ROWS


def test_do_put_of_an_unsupported_type_is_invalid_and_leaves_nothing(served):
    _, stub, client = served
    table = pa.table({"when": pa.array([(1, 2, 3)], pa.month_day_nano_interval())})
    with pytest.raises(pa.ArrowInvalid, match="UNSUPPORTED_ARROW_TYPE"):
        _put(client, ["fresh"], table)
    with pytest.raises(grpc.RpcError) as error:
        stub.GetDataset(pb.GetDatasetRequest(name="datasets/fresh"), timeout=10)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_do_put_with_an_unknown_mode_is_invalid(served):
    _, stub, client = served
    with pytest.raises(pa.ArrowInvalid, match=r"descriptor\.path"):
        _put(client, ["table", "merge"], ROWS)
    datasets = stub.ListDatasets(pb.ListDatasetsRequest(), timeout=10).datasets
    assert list(datasets) == []


# --- security -------------------------------------------------------------------------------


def test_flight_calls_need_a_bearer_token_when_the_server_has_tokens(server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("secret-token\n")
    server = server_factory(*FLIGHT, "--auth-tokens", str(tokens))
    client = flight.connect(server.flight_location)
    with pytest.raises(flight.FlightUnauthenticatedError, match="MISSING_CREDENTIALS"):
        list(client.list_flights())
    wrong = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer other")])
    with pytest.raises(flight.FlightUnauthenticatedError, match="INVALID_CREDENTIALS"):
        list(client.list_flights(options=wrong))
    basic = flight.FlightCallOptions(headers=[(b"authorization", b"Basic secret-token")])
    with pytest.raises(flight.FlightUnauthenticatedError, match="INVALID_CREDENTIALS"):
        list(client.list_flights(options=basic))
    right = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer secret-token")])
    _put(client, ["table"], ROWS, options=right)
    assert [f.descriptor.path for f in client.list_flights(options=right)] == [[b"table"]]


def test_flight_uses_tls_when_the_server_does(server_factory, tmp_path):
    ca = CertificateAuthority(tmp_path)
    issued = ca.issue("server", server=True)
    server = server_factory(*FLIGHT, "--tls-cert", str(issued.cert), "--tls-key", str(issued.key))
    assert server.flight_location.startswith("grpc+tls://127.0.0.1:")
    client = flight.connect(server.flight_location, tls_root_certs=ca.cert.read_bytes())
    _put(client, ["table"], ROWS)
    assert _get(client, ["table"]) == ROWS

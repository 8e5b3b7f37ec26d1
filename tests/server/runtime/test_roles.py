"""Roles (spec/general.md "Roles", GEN-015, GEN-016): every RPC of every layer called with a
reader's, a writer's and an admin's token, on a real `lepton serve`; and writes a role may not
make leave nothing behind, over gRPC and Arrow Flight alike."""

from __future__ import annotations

import importlib
import pkgutil
import re

import grpc
import pyarrow as pa
import pytest
from google.protobuf import descriptor_pool
from pyarrow import flight
from support.status_details import error_info

import lepton
from lepton.audit.v1 import audit_service_pb2 as audit_pb
from lepton.audit.v1 import audit_service_pb2_grpc as audit_grpc
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc
from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc

TOKENS = {"reader": "reader-token", "writer": "writer-token", "admin": "admin-token"}
# What the spec says each verb needs (GEN-016), written out here rather than read from the
# server, so a server that classifies a method wrongly fails.
READ_VERBS = ("Get", "List", "Watch", "Read", "Download", "Stream", "Compute", "Validate", "Stat")
READ_METHODS = {
    "ModelInfer",
    "ModelStreamInfer",
    "ModelMetadata",
    "ModelReady",
    "ModelStatistics",
    "ServerLive",
    "ServerReady",
    "ServerMetadata",
    "RepositoryIndex",
    "IssueFlightTicket",
}
ADMIN_METHODS = {
    "RepositoryModelLoad",
    "RepositoryModelUnload",
    "IssueBootstrapToken",
    "ApproveDevice",
    "RejectDevice",
    "DecommissionDevice",
    "ListAuditEvents",
}
# Services whose callers are not operators: devices, with credentials of their own (EDG-010),
# and what every client may call before it holds a token (GEN-011).
NOT_OPERATOR_SERVICES = {
    "lepton.edge.v1.DeviceAgentService",
    "lepton.discovery.v1.DiscoveryService",
}


def needed(method: str) -> str:
    if method in ADMIN_METHODS:
        return "admin"
    verb = re.match(r"[A-Z][a-z]*", method).group(0)
    return "reader" if method in READ_METHODS or verb in READ_VERBS else "writer"


GRANTS = {
    "reader": {"reader"},
    "writer": {"reader", "writer"},
    "admin": {"reader", "writer", "admin"},
}


@pytest.fixture(scope="module")
def roles_server(tmp_path_factory, model_repository):
    from support.servers import start_server  # noqa: PLC0415

    root = tmp_path_factory.mktemp("roles")
    tokens = root / "tokens"
    tokens.write_text(
        f"{TOKENS['reader']} rita roles=reader\n"
        f"{TOKENS['writer']} walt roles=writer\n"
        f"{TOKENS['admin']} ada\n"
    )
    server = start_server(
        [
            "--auth-tokens",
            str(tokens),
            "--model-repository",
            str(model_repository),
            "--flight-address",
            "127.0.0.1:0",
        ],
        root / "data",
    )
    yield server
    server.stop()


def _methods(address: str) -> list[tuple[str, object]]:
    """(service, method descriptor) of every operator method the server hosts."""
    with grpc.insecure_channel(address) as channel:
        info = discovery_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_pb.GetServerInfoRequest()
        )
    # Every generated module, so the pool holds every service's descriptor.
    for module in pkgutil.walk_packages(lepton.__path__, "lepton."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)
    pool = descriptor_pool.Default()
    found = []
    for service in info.services:
        if service.name in NOT_OPERATOR_SERVICES:
            continue
        # The Open Inference Protocol name serves the Lepton service's descriptor.
        name = service.name.replace(
            "inference.GRPCInferenceService", "lepton.inference.v1.InferenceService"
        )
        found.extend((service.name, m) for m in pool.FindServiceByName(name).methods)
    return found


def _outcome(channel: grpc.Channel, service: str, method, token: str) -> grpc.RpcError | None:
    """What an empty request to `method` with `token` ends in (None: it succeeded)."""
    path = f"/{service}/{method.name}"
    metadata = (("authorization", f"Bearer {token}"),)
    try:
        if method.client_streaming:
            call = (
                channel.stream_stream(path)
                if method.server_streaming
                else channel.stream_unary(path)
            )
            answer = call(iter(()), metadata=metadata, timeout=10)
        elif method.server_streaming:
            answer = channel.unary_stream(path)(b"", metadata=metadata, timeout=10)
        else:
            channel.unary_unary(path)(b"", metadata=metadata, timeout=10)
            return None
        if method.server_streaming:
            for _ in answer:
                break
    except grpc.RpcError as error:
        return error
    return None


def test_every_rpc_checks_its_role_before_anything_else(roles_server):
    """GEN-015, GEN-016: a token whose roles do not grant what a method needs gets
    PERMISSION_DENIED [PERMISSION_DENIED] naming the role; one whose roles do is never refused
    so. Roles x RPCs: zero escalations, zero wrong refusals."""
    methods = _methods(roles_server.address)
    assert len(methods) > 150  # every layer's services, OIP's name included
    escalations, wrong_refusals = [], []
    with grpc.insecure_channel(roles_server.address) as channel:
        for service, method in methods:
            wanted = needed(method.name)
            for role, token in TOKENS.items():
                error = _outcome(channel, service, method, token)
                refused = (
                    error is not None
                    and error.code() == grpc.StatusCode.PERMISSION_DENIED
                    and (info := error_info(error)) is not None
                    and info.reason == "PERMISSION_DENIED"
                )
                if wanted in GRANTS[role] and refused:
                    wrong_refusals.append(f"{role} {service}/{method.name}")
                if wanted not in GRANTS[role]:
                    if not refused:
                        escalations.append(f"{role} {service}/{method.name}: {error}")
                    else:
                        assert info.metadata["required_role"] == wanted
    assert escalations == []
    assert wrong_refusals == []


def test_a_refused_write_leaves_nothing_behind(roles_server):
    """GEN-004, GEN-015: a reader's CreateDataset and Flight DoPut are refused and create
    nothing; the writer's succeed; the reader reads what the writer wrote, over both."""

    def stub(role: str):
        channel = grpc.insecure_channel(roles_server.address)
        return channel, (("authorization", f"Bearer {TOKENS[role]}"),)

    channel, reader = stub("reader")
    with channel:
        datasets = data_grpc.DatasetServiceStub(channel)
        request = data_pb.CreateDatasetRequest(dataset_id="by-reader")
        with pytest.raises(grpc.RpcError) as refused:
            datasets.CreateDataset(request, metadata=reader)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_info(refused.value).metadata["required_role"] == "writer"
        with pytest.raises(grpc.RpcError) as missing:
            datasets.GetDataset(
                data_pb.GetDatasetRequest(name="datasets/by-reader"), metadata=reader
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    table = pa.table({"x": [1, 2, 3]})
    location = roles_server.flight_location

    def put(role: str, dataset: str) -> None:
        client = flight.FlightClient(location)
        options = flight.FlightCallOptions(
            headers=[(b"authorization", f"Bearer {TOKENS[role]}".encode())]
        )
        writer, _ = client.do_put(flight.FlightDescriptor.for_path(dataset), table.schema, options)
        writer.write_table(table)
        writer.close()

    with pytest.raises(flight.FlightUnauthorizedError, match="needs the role writer"):
        put("reader", "flight-by-reader")
    put("writer", "flight-by-writer")
    channel, reader = stub("reader")
    with channel:
        datasets = data_grpc.DatasetServiceStub(channel)
        names = {
            d.name
            for d in datasets.ListDatasets(data_pb.ListDatasetsRequest(), metadata=reader).datasets
        }
    assert "datasets/flight-by-writer" in names
    assert "datasets/flight-by-reader" not in names
    assert "datasets/by-reader" not in names
    client = flight.FlightClient(location)
    options = flight.FlightCallOptions(
        headers=[(b"authorization", f"Bearer {TOKENS['reader']}".encode())]
    )
    info = client.get_flight_info(flight.FlightDescriptor.for_path("flight-by-writer"), options)
    assert client.do_get(info.endpoints[0].ticket, options).read_all().equals(table)
    # Both DoPuts are in the audit log, with who made them and how they ended (GEN-017).
    with grpc.insecure_channel(roles_server.address) as channel:
        events = (
            audit_grpc.AuditServiceStub(channel)
            .ListAuditEvents(
                audit_pb.ListAuditEventsRequest(
                    filter='method = "/arrow.flight.protocol.FlightService/DoPut"', page_size=1000
                ),
                metadata=(("authorization", f"Bearer {TOKENS['admin']}"),),
            )
            .events
        )
    puts = [(e.principal, e.code, e.resource.split("/versions/")[0]) for e in events]
    assert ("rita", "PERMISSION_DENIED", "") in puts
    assert ("walt", "OK", "datasets/flight-by-writer") in puts


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tok roles=superuser", "unknown role 'superuser'"),
        ("tok roles=device", "device credentials are issued to devices"),
        ("tok tenant=Acme", "tenant 'Acme' is not lowercase"),
        ("tok tenant=", "tenant '' is not lowercase"),
        ("tok tenant=9lives", "tenant '9lives' is not lowercase"),
        ("tok roles=", "roles= names no role"),
    ],
)
def test_a_token_file_with_a_bad_role_or_tenant_stops_the_server(line, message, tmp_path):
    import subprocess  # noqa: PLC0415

    from support.servers import SERVE  # noqa: PLC0415

    tokens = tmp_path / "tokens"
    tokens.write_text(f"good-token\n{line}\n")
    result = subprocess.run(
        [
            *SERVE,
            "serve",
            "--data-dir",
            str(tmp_path),
            "--address",
            "127.0.0.1:0",
            "--auth-tokens",
            str(tokens),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "line 2" in result.stderr
    assert message in result.stderr


def test_the_servers_own_calls_use_an_admin_token():
    """Training's registration and inference's registry follower call as an admin, whatever
    order the tokens sort in (a reader's token first would make them fail)."""
    from lepton_server.config import ServerConfig  # noqa: PLC0415

    config = ServerConfig(
        auth_tokens=frozenset({"a-reader", "b-writer", "z-admin"}),
        roles={"a-reader": frozenset({"reader"}), "b-writer": frozenset({"writer"})},
    )
    assert config.own_token == "z-admin"
    assert ServerConfig().own_token is None
    without_admin = ServerConfig(
        auth_tokens=frozenset({"a-reader", "z-writer"}),
        roles={"a-reader": frozenset({"reader"}), "z-writer": frozenset({"writer"})},
    )
    assert without_admin.own_token == "z-writer"


def test_a_token_file_keeps_principals_with_spaces_and_reads_roles_last():
    from lepton_server.runtime.principals import load_token_file  # noqa: PLC0415

    grants = load_token_file(["t1 Jane Doe", "t2 Jane Doe roles=reader,writer", "t3"])
    assert grants["t1"].principal == "Jane Doe"
    assert grants["t1"].roles == frozenset({"admin"})
    assert (grants["t2"].principal, grants["t2"].roles) == ("Jane Doe", {"reader", "writer"})
    assert grants["t3"].principal.startswith("token:")

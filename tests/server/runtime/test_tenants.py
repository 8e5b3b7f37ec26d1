"""Tenants (spec/general.md "Tenants", GEN-019, GEN-024, GEN-025) on a real `lepton serve`
whose token file names two tenants: every RPC of every layer called with each role of the
second tenant, naming each of the first tenant's resources, reads none of them and changes
none of them; and the token file's tenants are read, checked and kept apart on disk."""

from __future__ import annotations

import uuid

import grpc
import pyarrow as pa
import pytest
from google.protobuf import message_factory
from pyarrow import flight
from support.servers import start_server
from support.status_details import error_info
from test_metrics import scrape, value
from test_roles import _methods

from lepton.audit.v1 import audit_service_pb2 as audit_pb
from lepton.audit.v1 import audit_service_pb2_grpc as audit_grpc
from lepton.data.v1 import dataset_pb2 as data_resources
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc
from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as registry_pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as registry_grpc
from lepton.type.v1 import job_pb2
from lepton_ai import DataManager, Trainer, TrainingClient
from lepton_server.runtime.principals import internal_token, load_token_file

FIRST = {"admin": "admin-first", "reader": "reader-first"}
SECOND = {"admin": "admin-second", "writer": "writer-second", "reader": "reader-second"}
MARK = f"first-tenant-{uuid.uuid4().hex}"  # in every resource of the first tenant
# Request fields that never name a resource.
NOT_NAMES = {"filter", "order_by", "page_token", "request_id", "etag", "view"}


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture(scope="module")
def tenants_server(tmp_path_factory, model_repository):
    root = tmp_path_factory.mktemp("tenants")
    tokens = root / "tokens"
    tokens.write_text(
        f"{FIRST['admin']} ada\n"
        f"{FIRST['reader']} rita roles=reader\n"
        f"{SECOND['admin']} bob tenant=globex\n"
        f"{SECOND['writer']} walt roles=reader,writer tenant=globex\n"
        f"{SECOND['reader']} ruth roles=reader tenant=globex\n"
    )
    server = start_server(
        [
            "--auth-tokens",
            str(tokens),
            "--model-repository",
            str(model_repository),
            "--flight-address",
            "127.0.0.1:0",
            "--metrics-address",
            "127.0.0.1:0",
        ],
        root / "data",
    )
    yield server, root / "data"
    server.stop()


def _first_tenants_resources(channel: grpc.Channel) -> list[str]:
    """A dataset with a version and a tag, and a model, all of the first tenant and all
    carrying MARK; the second tenant gets a dataset of the same ID. Their names."""
    first, second = _bearer(FIRST["admin"]), _bearer(SECOND["admin"])
    data = data_grpc.DatasetServiceStub(channel)
    data.CreateDataset(
        data_pb.CreateDatasetRequest(
            dataset_id="shared", dataset=data_resources.Dataset(description=MARK)
        ),
        metadata=first,
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, pa.schema([("text", pa.string())])) as writer:
        writer.write_table(pa.table({"text": [MARK] * 10}))
    header = data_pb.WriteVersionHeader(
        parent="datasets/shared", mode=data_resources.WRITE_MODE_OVERWRITE
    )
    version = data.WriteVersion(
        iter(
            [
                data_pb.WriteVersionRequest(header=header),
                data_pb.WriteVersionRequest(arrow_data=sink.getvalue().to_pybytes()),
            ]
        ),
        metadata=first,
    ).version
    data.SetTag(
        data_pb.SetTagRequest(name="datasets/shared/tags/kept", version=version.name),
        metadata=first,
    )
    registry = registry_grpc.ModelRegistryServiceStub(channel)
    registry.CreateModel(
        registry_pb.CreateModelRequest(model_id="shared", model=model_pb2.Model(description=MARK)),
        metadata=first,
    )
    data.CreateDataset(
        data_pb.CreateDatasetRequest(
            dataset_id="shared", dataset=data_resources.Dataset(description="second tenant's")
        ),
        metadata=second,
    )
    return ["datasets/shared", version.name, "datasets/shared/tags/kept", "models/shared"]


def _snapshot(channel: grpc.Channel) -> bytes:
    """Everything the first tenant holds, as it reads it."""
    first = _bearer(FIRST["admin"])
    data = data_grpc.DatasetServiceStub(channel)
    registry = registry_grpc.ModelRegistryServiceStub(channel)
    parts = [
        data.GetDataset(data_pb.GetDatasetRequest(name="datasets/shared"), metadata=first),
        data.ListVersions(data_pb.ListVersionsRequest(parent="datasets/shared"), metadata=first),
        data.ListTags(data_pb.ListTagsRequest(parent="datasets/shared"), metadata=first),
        *data.ReadVersion(
            data_pb.ReadVersionRequest(name="datasets/shared/tags/kept"), metadata=first
        ),
        registry.GetModel(registry_pb.GetModelRequest(name="models/shared"), metadata=first),
    ]
    return b"".join(part.SerializeToString() for part in parts)


def _request(method, name: str) -> bytes:
    """`method`'s request with every top-level string field that may name a resource set to
    `name`."""
    message = message_factory.GetMessageClass(method.input_type)()
    for field in message.DESCRIPTOR.fields:
        if (
            field.type == field.TYPE_STRING
            and not field.is_repeated
            and field.name not in NOT_NAMES
        ):
            setattr(message, field.name, name)
    return message.SerializeToString()


def _answers(channel: grpc.Channel, service: str, method, request: bytes, token: str) -> bytes:
    """Every byte the call brought back: responses, or the error's message and details."""
    path = f"/{service}/{method.name}"
    metadata = _bearer(token)
    # Long enough to answer; short enough for a Watch to end by its deadline.
    timeout = 2 if method.server_streaming else 10
    got: list[bytes] = []
    try:
        if method.client_streaming:
            factory = channel.stream_stream if method.server_streaming else channel.stream_unary
            answer = factory(path)(iter([request]), metadata=metadata, timeout=timeout)
        elif method.server_streaming:
            answer = channel.unary_stream(path)(request, metadata=metadata, timeout=timeout)
        else:
            got.append(channel.unary_unary(path)(request, metadata=metadata, timeout=timeout))
            return got[0]
        if method.server_streaming:
            for response in answer:
                got.append(response)
                if len(got) >= 3:
                    break
        else:
            got.append(answer)
    except grpc.RpcError as error:
        got.append((error.details() or "").encode())
        got += [v for _, v in error.trailing_metadata() or () if isinstance(v, bytes)]
    return b"".join(part if isinstance(part, bytes) else part.SerializeToString() for part in got)


@pytest.mark.timeout(600)
def test_no_rpc_of_the_second_tenant_reads_or_changes_the_firsts(tenants_server):
    """Roles x RPCs x tenants: with each role of the second tenant, every RPC of every layer,
    its name fields set to each resource of the first tenant, brings back none of the first
    tenant's bytes; afterwards the first tenant's resources read back byte for byte as
    before; and its reader never wrote either."""
    server, _ = tenants_server
    methods = _methods(server.address)
    assert len(methods) > 150
    leaks: list[str] = []
    calls = 0
    with grpc.insecure_channel(server.address) as channel:
        names = _first_tenants_resources(channel)
        before = _snapshot(channel)
        assert MARK.encode() in before
        for service, method in methods:
            for role, token in SECOND.items():
                for name in names:
                    calls += 1
                    answer = _answers(channel, service, method, _request(method, name), token)
                    if MARK.encode() in answer:
                        leaks.append(f"{role} {service}/{method.name}({name})")
        assert leaks == []
        assert _snapshot(channel) == before
    assert calls > 150 * len(SECOND) * len(names)


def test_the_first_tenants_admin_sees_its_own_audit_events_only(tenants_server):
    server, _ = tenants_server
    with grpc.insecure_channel(server.address) as channel:
        data = data_grpc.DatasetServiceStub(channel)
        mine = f"audit-{uuid.uuid4().hex[:8]}"
        theirs = f"audit-{uuid.uuid4().hex[:8]}"
        data.CreateDataset(
            data_pb.CreateDatasetRequest(dataset_id=mine), metadata=_bearer(FIRST["admin"])
        )
        data.CreateDataset(
            data_pb.CreateDatasetRequest(dataset_id=theirs), metadata=_bearer(SECOND["admin"])
        )
        audit = audit_grpc.AuditServiceStub(channel)

        def recorded(token: str, dataset_id: str) -> bool:
            request = audit_pb.ListAuditEventsRequest(filter=f'resource = "datasets/{dataset_id}"')
            return bool(audit.ListAuditEvents(request, metadata=_bearer(token)).events)

        assert recorded(FIRST["admin"], mine) and not recorded(FIRST["admin"], theirs)
        assert recorded(SECOND["admin"], theirs) and not recorded(SECOND["admin"], mine)


def test_each_tenant_is_stored_apart_and_edge_and_flight_are_the_defaults(tenants_server):
    server, data_dir = tenants_server
    assert (data_dir / "tenants" / "globex" / "data" / "catalog.sqlite").is_file()
    with grpc.insecure_channel(server.address) as channel:
        from lepton.edge.v1 import edge_service_pb2, edge_service_pb2_grpc  # noqa: PLC0415

        edge = edge_service_pb2_grpc.EdgeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            edge.ListDevices(
                edge_service_pb2.ListDevicesRequest(), metadata=_bearer(SECOND["admin"])
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_info(refused.value).reason == "TENANT_NOT_SERVED"
        edge.ListDevices(edge_service_pb2.ListDevicesRequest(), metadata=_bearer(FIRST["admin"]))
    client = flight.connect(server.flight_location)
    second = flight.FlightCallOptions(
        headers=[(b"authorization", f"Bearer {SECOND['admin']}".encode())]
    )
    with pytest.raises(flight.FlightError, match="TENANT_NOT_SERVED"):
        client.get_flight_info(flight.FlightDescriptor.for_path("shared"), second)


def test_job_counts_are_kept_per_tenant(tenants_server):
    """GEN-103 with tenants: `lepton_jobs` carries each tenant's jobs under its `tenant` label
    (the default tenant's under none), one series per layer, kind, state and tenant."""
    server, _ = tenants_server
    with DataManager.connect(server.address, token=SECOND["writer"], progress=False) as data:
        data.load_data(pa.table({"x": [1.0, 2.0], "y": [0, 1]}), "counted")
    with TrainingClient.connect(server.address, token=SECOND["writer"], progress=False) as client:
        job = client.fit("counted", Trainer("lepton.conformance", steps=1, step_seconds=0)).wait()
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED
    samples = scrape(server.metrics_url)["lepton_jobs"]
    series = [tuple(sorted(s.labels.items())) for s in samples]
    assert len(series) == len(set(series))
    tenants = {s.labels.get("tenant", "") for s in samples}
    assert tenants == {"", "globex"}
    succeeded = {"layer": "training", "kind": "trainingJobs", "state": "SUCCEEDED"}
    assert value({"lepton_jobs": samples}, "lepton_jobs", **succeeded, tenant="globex") == 1
    assert value({"lepton_jobs": samples}, "lepton_jobs", **succeeded, tenant="") == 0


def test_a_token_file_reads_tenants_and_roles_in_either_order():
    grants = load_token_file(
        ["t1 Jane Doe tenant=acme roles=reader", "t2 roles=writer tenant=acme", "t3 Jo"]
    )
    assert (grants["t1"].principal, grants["t1"].tenant) == ("Jane Doe", "acme")
    assert grants["t1"].roles == frozenset({"reader"})
    assert (grants["t2"].tenant, grants["t2"].roles) == ("acme", frozenset({"writer"}))
    assert grants["t3"].tenant == ""
    # Every process of a server derives the same internal token; another file, another one.
    assert internal_token(b"file", "acme") == internal_token(b"file", "acme")
    assert internal_token(b"file", "acme") != internal_token(b"other", "acme")
    assert internal_token(b"file", "acme") != internal_token(b"file", "globex")


def test_registry_models_are_served_to_the_default_tenant_only():
    """Inference follows the default tenant's registry; another tenant's call neither finds
    nor lists those models (its own registry's are not served: spec/general.md GEN-025)."""
    import contextvars  # noqa: PLC0415

    from lepton_server.inference.model_repository import ModelRepository  # noqa: PLC0415
    from lepton_server.runtime.errors import NotFound  # noqa: PLC0415
    from lepton_server.runtime.principals import set_tenant  # noqa: PLC0415

    class Followed:  # what RegistryModels answers for one followed model
        def has(self, name: str) -> bool:
            return name == "churn"

        def get(self, name: str, version: str) -> str:
            return f"{name}:{version or 'latest'}"

        def loaded_versions(self, name: str | None = None) -> list[str]:
            return ["churn:1"]

    repository = ModelRepository(None)
    repository.registry = Followed()

    def as_tenant(tenant: str, call):
        def run():
            set_tenant(tenant)
            return call()

        return contextvars.copy_context().run(run)

    assert as_tenant("", lambda: repository.get("churn", "")) == "churn:latest"
    assert as_tenant("", repository.loaded_versions) == ["churn:1"]
    with pytest.raises(NotFound):
        as_tenant("globex", lambda: repository.get("churn", ""))
    assert as_tenant("globex", repository.loaded_versions) == []

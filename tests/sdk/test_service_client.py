"""The SDK's client base (lepton_ai.ServiceClient) against a real `lepton serve` on loopback:
bearer tokens, mutual TLS with a private CA, typed errors of unary calls, lazy pagers over
List RPCs, and job watching."""

from __future__ import annotations

import grpc
import pyarrow.csv as pa_csv
import pytest
from support.broken_streams import BreakFirstStream
from support.certificates import CertificateAuthority
from support.sdk_samples import PEOPLE, unique

from lepton.data.v1 import dataset_pb2 as pb_resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.data.v1 import file_format_pb2, import_job_pb2
from lepton.type.v1 import job_pb2
from lepton_ai import (
    DataManager,
    JobFailedError,
    NotFoundError,
    ServiceClient,
    UnauthenticatedError,
)
from lepton_ai.client import JobMethods

DATASET_SERVICE = "lepton.data.v1.DatasetService"


class DatasetClient(ServiceClient):
    """The smallest layer client: the base plus one stub, as a new layer's client starts."""

    def _create_stubs(self, channel: grpc.Channel) -> None:
        super()._create_stubs(channel)
        self.datasets = pb_grpc.DatasetServiceStub(channel)
        self.import_jobs = JobMethods(
            self.datasets.CreateImportJob,
            self.datasets.WatchImportJob,
            pb.WatchImportJobRequest,
            "import_job",
        )


class RecordCalls(grpc.UnaryUnaryClientInterceptor):
    """Records the request of every unary call."""

    def __init__(self) -> None:
        self.requests: list[object] = []

    def intercept_unary_unary(self, continuation, details, request):
        self.requests.append(request)
        return continuation(details, request)


# ------------------------------------------------------------------------------- channels


def test_token_is_sent_as_a_bearer_header(server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("s3cret\n")
    server = server_factory("--auth-tokens", str(tokens))
    with DataManager.connect(server.address) as anonymous:
        with pytest.raises(UnauthenticatedError) as raised:
            anonymous.list_datasets()
        assert raised.value.reason == "MISSING_CREDENTIALS"
    with DataManager.connect(server.address, token="s3cret", progress=False) as data:
        data.load_data(PEOPLE, "authed")
        assert data.read("authed").equals(PEOPLE)


def test_mutual_tls_with_a_private_ca(server_factory, tmp_path):
    authority = CertificateAuthority(tmp_path)
    issued = authority.issue("server", server=True)
    server = server_factory(
        "--tls-cert",
        str(issued.cert),
        "--tls-key",
        str(issued.key),
        "--tls-client-ca",
        str(authority.cert),
    )
    client = authority.issue("client", server=False)
    with DataManager.connect(
        server.address,
        ca=authority.cert,
        client_cert=client.cert,
        client_key=client.key.read_bytes(),
        progress=False,
    ) as data:
        data.load_data(PEOPLE, "secure")
        assert data.read("secure").equals(PEOPLE)


def test_connect_returns_the_subclass_and_closing_closes_the_channel(shared):
    with DatasetClient.connect(shared[0], progress=False) as client:
        assert type(client) is DatasetClient
        assert client.features(DATASET_SERVICE) is not None
        assert client.features("lepton.nothing.v1.NoService") is None
    with pytest.raises(ValueError, match="closed channel"):
        client.server_info()


def test_token_reaches_the_server_on_unary_and_streaming_calls(server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("s3cret\n")
    server = server_factory("--auth-tokens", str(tokens))
    read = pb.ReadVersionRequest(name="datasets/none/versions/none")
    with DatasetClient.connect(server.address) as anonymous:
        with pytest.raises(UnauthenticatedError):
            anonymous.call(anonymous.datasets.GetDataset, pb.GetDatasetRequest(name="datasets/x"))
        with pytest.raises(grpc.RpcError) as raised:
            list(anonymous.datasets.ReadVersion(read))
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with DatasetClient.connect(server.address, token="s3cret") as client:
        created = client.call(
            client.datasets.CreateDataset, pb.CreateDatasetRequest(dataset_id="x")
        )
        assert created.dataset.name == "datasets/x"
        with pytest.raises(grpc.RpcError) as raised:
            list(client.datasets.ReadVersion(read))  # a server stream: past auth, to the lookup
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_call_raises_the_typed_error_with_its_reason(shared):
    with DatasetClient.connect(shared[0]) as client, pytest.raises(NotFoundError) as raised:
        client.call(client.datasets.GetDataset, pb.GetDatasetRequest(name="datasets/gone"))
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert raised.value.reason == "RESOURCE_NOT_FOUND"


# -------------------------------------------------------------------------------- pagers


def _create_group(client: DatasetClient, count: int) -> tuple[set[str], str]:
    """`count` new datasets sharing a fresh label; their names and the filter that lists
    exactly them."""
    group = unique("group")
    names = set()
    for _ in range(count):
        dataset = pb_resources.Dataset(labels={"group": group})
        request = pb.CreateDatasetRequest(dataset_id=unique("page"), dataset=dataset)
        names.add(client.call(client.datasets.CreateDataset, request).dataset.name)
    return names, f'labels.group = "{group}"'


def test_pager_follows_page_tokens_lazily_over_several_pages(shared):
    recorder = RecordCalls()
    channel = grpc.intercept_channel(grpc.insecure_channel(shared[0]), recorder)
    with DatasetClient(channel) as client:
        names, group = _create_group(client, 5)
        recorder.requests.clear()
        request = pb.ListDatasetsRequest(page_size=2, filter=group)
        pager = client.paginate(client.datasets.ListDatasets, request, "datasets")
        assert recorder.requests == []  # nothing is sent before the first item is asked for
        first = next(pager)
        assert len(recorder.requests) == 1
        listed = [first.name, *(dataset.name for dataset in pager)]
    assert sorted(listed) == sorted(names)
    tokens = [page.page_token for page in recorder.requests]
    assert len(tokens) == 3 and tokens[0] == "" and all(tokens[1:])
    assert {(page.page_size, page.filter) for page in recorder.requests} == {(2, group)}


def test_pager_copies_its_request(shared):
    with DatasetClient.connect(shared[0]) as client:
        names, group = _create_group(client, 3)
        request = pb.ListDatasetsRequest(page_size=1, filter=group)
        pager = client.paginate(client.datasets.ListDatasets, request, "datasets")
        request.filter = ""
        request.page_token = "not-a-token"
        assert {dataset.name for dataset in pager} == names
    assert request.page_token == "not-a-token"


# ---------------------------------------------------------------------------- job watching


def _import_request(files, name: str) -> pb.CreateImportJobRequest:
    job = import_job_pb2.ImportJob(
        source_uris=[(files / name).as_uri()],
        format=file_format_pb2.FormatSpec(format=file_format_pb2.FILE_FORMAT_CSV),
        mode=pb_resources.WRITE_MODE_OVERWRITE,
    )
    dataset = unique("job")
    return pb.CreateImportJobRequest(parent=f"datasets/{dataset}", import_job=job)


def _with_dataset(client: DatasetClient, request: pb.CreateImportJobRequest) -> None:
    dataset_id = request.parent.split("/")[1]
    client.call(client.datasets.CreateDataset, pb.CreateDatasetRequest(dataset_id=dataset_id))


def test_run_job_follows_the_job_to_its_end(shared, files):
    pa_csv.write_csv(PEOPLE, files / "people.csv")
    with DatasetClient.connect(shared[0], progress=False) as client:
        request = _import_request(files, "people.csv")
        _with_dataset(client, request)
        job = client.run_job(client.import_jobs, request, description="Importing", unit="bytes")
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED
    assert job.output_version.startswith(f"{request.parent}/versions/")


def test_watch_job_raises_job_failed_error_for_a_failed_job(shared, files):
    with DatasetClient.connect(shared[0], progress=False) as client:
        request = _import_request(files, "missing.csv")
        _with_dataset(client, request)
        created = client.call(client.datasets.CreateImportJob, request).import_job
        with pytest.raises(JobFailedError) as raised:
            client.watch_job(created, client.import_jobs, description="Importing", unit="bytes")
    assert raised.value.reason == "STORAGE_OBJECT_NOT_FOUND"
    assert raised.value.job == created.name


def test_watch_job_reopens_a_broken_watch_stream(shared, files):
    pa_csv.write_csv(PEOPLE, files / "people.csv")
    breaker = BreakFirstStream("WatchImportJob", after=0)
    channel = grpc.intercept_channel(grpc.insecure_channel(shared[0]), breaker)
    with DatasetClient(channel, progress=False) as client:
        request = _import_request(files, "people.csv")
        _with_dataset(client, request)
        job = client.run_job(client.import_jobs, request, description="Importing", unit="bytes")
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED
    assert [watch.name for watch in breaker.requests] == [job.name, job.name]

"""`ServiceClient`: the base every layer's client subclasses (`DataManager` for the data layer;
registry, training, annotation and edge clients later).

It holds what a client of any Lepton service needs and nothing of any layer:
- the channel: plaintext or TLS (optionally mutual), with an optional bearer token sent as
  `authorization: Bearer <token>` on every call (GEN-010), and message-size limits large
  enough for any reasonable server;
- unary calls with a deadline, failures raised as `LeptonAIError` subclasses (errors.py);
- lazy pagers over any List RPC (page_token/next_page_token, GEN-041, GEN-043);
- job watching: a long-running job (its RPCs named by a `JobMethods`) created and followed
  through its Watch method (GEN-061) to a terminal state, with a progress bar (job_watch.py,
  progress.py);
- discovery: the server's services and their optional features.

A layer's client adds its stubs in `_create_stubs` and its methods on top:

    class ModelRegistry(ServiceClient):
        def _create_stubs(self, channel: grpc.Channel) -> None:
            super()._create_stubs(channel)
            self._models = model_service_pb2_grpc.ModelServiceStub(channel)

        def models(self) -> Iterator[Model]:
            request = ListModelsRequest(page_size=100)
            return self.paginate(self._models.ListModels, request, "models")

    with ModelRegistry.connect("localhost:50051", token="...") as registry: ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

import grpc
from google.protobuf import message

from lepton.discovery.v1 import discovery_service_pb2 as discovery
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton_ai.errors import from_rpc_error
from lepton_ai.job_watch import follow, is_terminal
from lepton_ai.progress import ProgressBar, progress_enabled

# Arrow batches a server chooses fit gRPC's 4 MiB default (spec/data.md §4.6), but a caller
# may ask for larger batches; accept what any reasonable server sends.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]
DEFAULT_TIMEOUT = 30.0

PemSource = str | Path | bytes
Response = TypeVar("Response")
Job = TypeVar("Job")
Message = TypeVar("Message", bound=message.Message)
Client = TypeVar("Client", bound="ServiceClient")


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


class _ClientCallDetails(_CallDetails, grpc.ClientCallDetails):
    pass


class BearerTokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <token>` to every call. Works on plaintext channels too,
    unlike gRPC's call credentials, so a loopback server with tokens is reachable."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _continue_with_token(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        """Any kind of call: `request` is a message or, for a client stream, an iterator."""
        metadata = [*(details.metadata or ()), self._header]
        with_token = _ClientCallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )
        return continuation(with_token, request)

    intercept_unary_unary = _continue_with_token
    intercept_unary_stream = _continue_with_token
    intercept_stream_unary = _continue_with_token
    intercept_stream_stream = _continue_with_token


class JobMethods(NamedTuple):
    """The RPCs of one kind of long-running job (an import, a pipeline run, ...): its unary
    Create method, its server-streaming Watch method and the Watch request type (GEN-061),
    and the field holding the job in the responses of both."""

    create: Callable[..., Any]
    watch: Callable[..., Iterable[Any]]
    watch_request: Callable[..., Any]
    field: str


def _copy(message: Message) -> Message:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def _pem(source: PemSource | None) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


class ServiceClient:
    """One gRPC channel to a Lepton server and the calls every layer's client makes on it.
    Create it with `connect(address)` or around an existing channel; close it (or use it as a
    context manager) to close the channel.

    `progress`: draw progress bars for long transfers and jobs (None: when standard error is
    a terminal). `timeout`: deadline in seconds of each unary call; streams (uploads,
    downloads, job watches) have none.
    """

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        progress: bool | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        self.channel = channel
        self.progress = progress
        self.timeout = timeout
        self._create_stubs(channel)

    def _create_stubs(self, channel: grpc.Channel) -> None:
        """Create the service stubs this client calls; a layer's client extends it."""
        self._discovery = discovery_grpc.DiscoveryServiceStub(channel)

    @classmethod
    def connect(
        cls: type[Client],
        address: str,
        *,
        token: str | None = None,
        tls: bool = False,
        ca: PemSource | None = None,
        client_cert: PemSource | None = None,
        client_key: PemSource | None = None,
        progress: bool | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> Client:
        """Connect to a server at "host:port": plaintext unless `tls` (or a PEM) is given;
        `ca` is the trusted root (PEM path or bytes; default the system roots),
        `client_cert`/`client_key` a mutual-TLS identity, `token` a bearer token."""
        if tls or ca is not None or client_cert is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_pem(ca),
                private_key=_pem(client_key),
                certificate_chain=_pem(client_cert),
            )
            channel = grpc.secure_channel(address, credentials, options=CHANNEL_OPTIONS)
        else:
            channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        if token:
            channel = grpc.intercept_channel(channel, BearerTokenInterceptor(token))
        return cls(channel, progress=progress, timeout=timeout)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def __enter__(self: Client) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------------------ calls

    def call(self, method: Callable[..., Response], request: Any) -> Response:
        """One unary call with this client's deadline; a failure raises the LeptonAIError
        subclass of its status code."""
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def paginate(self, method: Callable[..., Any], request: Any, field: str) -> Iterator[Any]:
        """The items of a List RPC, page after page: `request` (with its page_size, filter,
        ...) is sent with each page's token until a response has no next_page_token, and the
        repeated `field` of each response is yielded. Lazy: a page is fetched when the items
        before it have been consumed, and nothing is sent before the first is asked for.
        `request` is copied at once, so the caller may reuse it."""
        return self._pages(method, _copy(request), field)

    def _pages(self, method: Callable[..., Any], page: Any, field: str) -> Iterator[Any]:
        while True:
            response = self.call(method, page)
            yield from getattr(response, field)
            if not response.next_page_token:
                return
            page = _copy(page)  # a new message per page: the sent ones stay as they were
            page.page_token = response.next_page_token

    def progress_bar(
        self, description: str, total: int | None, unit: str
    ) -> contextlib.closing[ProgressBar]:
        """A progress bar, shown if this client draws them; closed when the `with` ends."""
        return contextlib.closing(
            ProgressBar(description, total, unit, progress_enabled(self.progress))
        )

    def run_job(self, methods: JobMethods, request: Any, *, description: str, unit: str) -> Any:
        """Create a long-running job with `methods.create(request)` and follow it to its end
        (see `watch_job`)."""
        job = getattr(self.call(methods.create, request), methods.field)
        return self.watch_job(job, methods, description=description, unit=unit)

    def watch_job(self, job: Job, methods: JobMethods, *, description: str, unit: str) -> Job:
        """Follow a long-running job to its end through its Watch method and return it in its
        terminal state; raise JobFailedError unless it SUCCEEDED. A broken stream is
        reopened. The progress the job reports is drawn as a bar (`description`, counted in
        `unit`)."""
        if is_terminal(job):
            return follow(job, lambda: ())
        request = methods.watch_request(name=job.name)  # type: ignore[attr-defined]
        with self.progress_bar(description, None, unit) as bar:
            return follow(
                job, lambda: (getattr(m, methods.field) for m in methods.watch(request)), bar
            )

    # ---------------------------------------------------------------------------- discovery

    def server_info(self) -> discovery.GetServerInfoResponse:
        """What the server hosts: its services and their optional features."""
        return self.call(self._discovery.GetServerInfo, discovery.GetServerInfoRequest())

    def features(self, service: str) -> frozenset[str] | None:
        """The optional features the server lists for `service` (a full service name such as
        "lepton.data.v1.DatasetService"), or None if it does not host it."""
        for info in self.server_info().services:
            if info.name == service:
                return frozenset(info.features)
        return None

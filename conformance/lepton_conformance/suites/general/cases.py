"""The `general` profile: rules every Lepton server follows, whatever layers it hosts
(spec/general.md): health, reflection, discovery, errors, auth, pagination, deadlines and
message sizes."""

from __future__ import annotations

import contextlib
import time
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lepton.data.v1 import annotation_service_pb2 as annotation_pb
from lepton.data.v1 import dataset_service_pb2 as dataset_pb
from lepton.data.v1 import processing_service_pb2 as processing_pb
from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton.edge.v1 import edge_service_pb2 as edge_pb
from lepton.inference.v1 import inference_service_pb2 as inference_pb
from lepton.registry.v1 import model_registry_service_pb2 as registry_pb
from lepton.training.v1 import training_service_pb2 as training_pb
from lepton_conformance.harness import expect, reflection
from lepton_conformance.harness.case import Failed, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.harness.target import DISCOVERY_SERVICE, HEALTH_SERVICE
from lepton_conformance.suites.general.profile import GENERAL

CASES = CaseList()


UNKNOWN_SERVICE = "lepton.conformance.v1.NoSuchService"
SERVING = health_pb2.HealthCheckResponse.SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
GET_SERVER_INFO = f"/{DISCOVERY_SERVICE}/GetServerInfo"
NOT_PROTOBUF = b"\xff\xff\xff\xff"  # a truncated varint tag: never a valid message


@dataclass(frozen=True)
class Method:
    """A unary RPC the suite can call generically: its path and message classes."""

    service: str
    name: str
    request: type[Message]
    response: type[Message]

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    def call(self, channel: grpc.Channel, request: Message, **kwargs: Any) -> Message:
        method = channel.unary_unary(
            self.path,
            request_serializer=self.request.SerializeToString,
            response_deserializer=self.response.FromString,
        )
        return method(request, **kwargs)


def _method(module: Any, service: str, name: str) -> Method:
    descriptor = module.DESCRIPTOR.services_by_name[service].methods_by_name[name]
    return Method(
        descriptor.containing_service.full_name,
        name,
        getattr(module, descriptor.input_type.name),
        getattr(module, descriptor.output_type.name),
    )


# Cheap read-only calls of each layer that need no existing resource: the suite probes auth
# with the first one the target hosts.
PROTECTED_PROBES = [
    _method(inference_pb, "InferenceService", "ServerLive"),
    Method(
        "inference.GRPCInferenceService",
        "ServerLive",
        inference_pb.ServerLiveRequest,
        inference_pb.ServerLiveResponse,
    ),
    _method(dataset_pb, "DatasetService", "ListDatasets"),
    _method(registry_pb, "ModelRegistryService", "ListModels"),
    _method(training_pb, "TrainingService", "ListTrainingJobs"),
    _method(edge_pb, "EdgeService", "ListDevices"),
]

# Top-level collections: List RPCs whose request needs no parent.
TOP_LEVEL_LISTS = [
    _method(dataset_pb, "DatasetService", "ListDatasets"),
    _method(processing_pb, "ProcessingService", "ListPipelineRuns"),
    _method(annotation_pb, "AnnotationService", "ListAnnotationProjects"),
    _method(registry_pb, "ModelRegistryService", "ListModels"),
    _method(training_pb, "TrainingService", "ListTrainingJobs"),
    _method(edge_pb, "EdgeService", "ListDevices"),
    _method(edge_pb, "EdgeService", "ListDeployments"),
]


def _health(ctx: CaseContext) -> health_pb2_grpc.HealthStub:
    return health_pb2_grpc.HealthStub(ctx.channel)


def _lepton_services(ctx: CaseContext) -> list[str]:
    """Every non-grpc service the target reports through reflection or discovery."""
    names = set(ctx.info.features) | {s for s in ctx.info.services if not s.startswith("grpc.")}
    if not names:
        raise Failed(
            "reflection or discovery to report the hosted services",
            ctx.info.reflection_error or ctx.info.discovery_error or "nothing reported",
        )
    return sorted(names)


# --- health -------------------------------------------------------------------------------


@CASES.case(GENERAL, "health.check-overall", "GEN-020")
def health_check_overall(ctx: CaseContext) -> None:
    """Health Check for the whole server ("") answers SERVING."""
    response = expect.succeeds(
        lambda: _health(ctx).Check(health_pb2.HealthCheckRequest(service=""), timeout=ctx.timeout)
    )
    expect.equal(
        health_pb2.HealthCheckResponse.ServingStatus.Name(response.status),
        "SERVING",
        "status of service ''",
    )


@CASES.case(GENERAL, "health.check-each-service", "GEN-020")
def health_check_each_service(ctx: CaseContext) -> None:
    """Health Check answers SERVING for every hosted Lepton service."""
    for name in _lepton_services(ctx):
        response = expect.succeeds(
            lambda name=name: _health(ctx).Check(
                health_pb2.HealthCheckRequest(service=name), timeout=ctx.timeout
            ),
            f"Check({name!r}) to succeed",
        )
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        expect.equal(status, "SERVING", f"status of {name}")


@CASES.case(GENERAL, "health.check-unknown-service", "GEN-021")
def health_check_unknown_service(ctx: CaseContext) -> None:
    """Health Check for a service the server does not host fails with NOT_FOUND."""
    request = health_pb2.HealthCheckRequest(service=UNKNOWN_SERVICE)
    expect.fails_with(
        lambda: _health(ctx).Check(request, timeout=ctx.timeout), grpc.StatusCode.NOT_FOUND
    )


@CASES.case(GENERAL, "health.watch-sends-current-status", "GEN-022")
def health_watch_sends_current_status(ctx: CaseContext) -> None:
    """Health Watch sends the current status (SERVING) at once."""
    stream = _health(ctx).Watch(health_pb2.HealthCheckRequest(service=""), timeout=ctx.timeout)
    try:
        first = expect.succeeds(lambda: next(stream), "a first Watch message")
    except StopIteration:
        raise Failed("a first Watch message", "the stream ended without one") from None
    finally:
        stream.cancel()
    expect.equal(
        health_pb2.HealthCheckResponse.ServingStatus.Name(first.status),
        "SERVING",
        "first Watch status",
    )


@CASES.case(GENERAL, "health.watch-unknown-service-stays-open", "GEN-022", "GEN-070")
def health_watch_unknown_service(ctx: CaseContext) -> None:
    """Watch of an unknown service sends SERVICE_UNKNOWN, stays open, and ends with
    DEADLINE_EXCEEDED when the client's deadline expires, not later."""
    deadline_s = 1.5
    started = time.monotonic()
    stream = _health(ctx).Watch(
        health_pb2.HealthCheckRequest(service=UNKNOWN_SERVICE), timeout=deadline_s
    )
    statuses: list[str] = []
    try:
        for message in stream:
            statuses.append(health_pb2.HealthCheckResponse.ServingStatus.Name(message.status))
    except grpc.RpcError as error:
        ended = f"{error.code().name} after {time.monotonic() - started:.1f} s"
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise Failed("the stream to stay open until DEADLINE_EXCEEDED", ended) from None
    else:
        raise Failed("the stream to stay open until DEADLINE_EXCEEDED", "it ended with OK")
    expect.holds(
        statuses[:1] == ["SERVICE_UNKNOWN"],
        "first message SERVICE_UNKNOWN",
        f"messages {statuses}",
    )
    elapsed = time.monotonic() - started
    expect.holds(elapsed < deadline_s + 3, "the call to end at its deadline", f"{elapsed:.1f} s")


# --- reflection and discovery -------------------------------------------------------------


@CASES.case(GENERAL, "reflection.lists-hosted-services", "GEN-030")
def reflection_lists_services(ctx: CaseContext) -> None:
    """Reflection v1 lists health, reflection and every service discovery reports."""
    listed = set(
        expect.succeeds(
            lambda: reflection.list_services(ctx.channel, ctx.timeout),
            "grpc.reflection.v1 list_services to succeed",
        )
    )
    wanted = {HEALTH_SERVICE, reflection.V1, *ctx.info.features}
    missing = sorted(wanted - listed)
    expect.holds(not missing, f"list_services to include {sorted(wanted)}", f"missing {missing}")


@CASES.case(GENERAL, "reflection.describes-hosted-services", "GEN-030")
def reflection_describes_services(ctx: CaseContext) -> None:
    """Reflection returns the descriptor of every hosted Lepton service."""
    for name in _lepton_services(ctx):
        files = expect.succeeds(
            lambda name=name: reflection.file_containing_symbol(ctx.channel, name, ctx.timeout),
            f"file_containing_symbol({name!r})",
        )
        package, _, service = name.rpartition(".")
        declared = {
            f"{f.package}.{s.name}" for f in files for s in f.service if f.package == package
        }
        expect.holds(
            name in declared, f"a file declaring {service}", f"files {[f.name for f in files]}"
        )


@CASES.case(GENERAL, "reflection.v1alpha-lists-the-same-services", "GEN-031")
def reflection_v1alpha(ctx: CaseContext) -> None:
    """Reflection v1alpha, which older tools use, lists health and the same services as v1."""
    older = set(
        expect.succeeds(
            lambda: reflection.list_services(ctx.channel, ctx.timeout, reflection.V1ALPHA),
            "grpc.reflection.v1alpha list_services to succeed",
        )
    )
    expect.holds(HEALTH_SERVICE in older, f"{HEALTH_SERVICE} listed", f"services {sorted(older)}")
    newer = set(reflection.list_services(ctx.channel, ctx.timeout))
    expect.equal(
        sorted(older - {reflection.V1ALPHA}),
        sorted(newer - {reflection.V1ALPHA}),
        "services listed by v1alpha",
    )


@CASES.case(GENERAL, "discovery.describes-the-server", "GEN-032")
def discovery_describes_server(ctx: CaseContext) -> None:
    """DiscoveryService names spec version 1.x and exactly the Lepton services reflection lists."""
    info = expect.succeeds(
        lambda: discovery_grpc.DiscoveryServiceStub(ctx.channel).GetServerInfo(
            discovery_pb.GetServerInfoRequest(), timeout=ctx.timeout
        ),
        "GetServerInfo to succeed",
    )
    expect.holds(
        info.spec_version.split(".")[0] == "1", "spec_version 1.x", repr(info.spec_version)
    )
    described = {s.name for s in info.services}
    expect.holds(
        DISCOVERY_SERVICE in described,
        "DiscoveryService to describe itself",
        f"services {sorted(described)}",
    )
    reflected = {s for s in ctx.info.services if not s.startswith("grpc.")}
    if ctx.info.services:
        expect.equal(sorted(described), sorted(reflected), "services described by discovery")


# --- errors -------------------------------------------------------------------------------


def _raw_call(ctx: CaseContext, path: str, payload: bytes, **kwargs: Any) -> bytes:
    return ctx.channel.unary_unary(path)(payload, timeout=ctx.timeout, **kwargs)


@CASES.case(GENERAL, "errors.unknown-method-is-unimplemented", "GEN-034")
def unknown_method(ctx: CaseContext) -> None:
    """A method the server does not know, of a known or an unknown service, is UNIMPLEMENTED."""
    for path in (f"/{DISCOVERY_SERVICE}/NoSuchMethod", f"/{UNKNOWN_SERVICE}/Call"):
        expect.fails_with(
            lambda path=path: _raw_call(ctx, path, b"", metadata=ctx.metadata),
            grpc.StatusCode.UNIMPLEMENTED,
        )


@CASES.case(
    GENERAL,
    "errors.malformed-request-is-invalid-argument",
    "GEN-008",
    "GEN-001",
    "GEN-003",
    "GEN-005",
)
def malformed_request(ctx: CaseContext) -> None:
    """Bytes that are not a protobuf message get INVALID_ARGUMENT [MALFORMED_REQUEST] with a
    well-formed ErrorInfo, never UNKNOWN or INTERNAL."""
    expect.fails_with(
        lambda: _raw_call(ctx, GET_SERVER_INFO, NOT_PROTOBUF, metadata=ctx.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
    )


@CASES.case(GENERAL, "errors.server-keeps-serving-after-bad-requests", "GEN-007")
def keeps_serving(ctx: CaseContext) -> None:
    """After a burst of concurrent malformed requests, the server still answers correctly."""

    def bad() -> None:
        with contextlib.suppress(grpc.RpcError):
            _raw_call(ctx, GET_SERVER_INFO, NOT_PROTOBUF, metadata=ctx.metadata)

    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: bad(), range(32)))
    info = expect.succeeds(
        lambda: discovery_grpc.DiscoveryServiceStub(ctx.channel).GetServerInfo(
            discovery_pb.GetServerInfoRequest(), timeout=ctx.timeout
        ),
        "GetServerInfo to succeed after the bad requests",
    )
    expect.holds(bool(info.spec_version), "a complete answer", "an empty spec_version")


@CASES.case(GENERAL, "compatibility.unknown-fields-are-ignored", "GEN-091")
def unknown_fields_ignored(ctx: CaseContext) -> None:
    """A request carrying a field the server does not know is answered as if it were absent."""
    # Field 1999, varint 7: what a newer client's request could carry.
    unknown = b"\xf8\x7c\x07"
    raw = expect.succeeds(
        lambda: _raw_call(ctx, GET_SERVER_INFO, unknown, metadata=ctx.metadata),
        "GetServerInfo with an unknown field to succeed",
    )
    info = discovery_pb.GetServerInfoResponse.FromString(raw)
    expect.holds(bool(info.spec_version), "a complete answer", "an empty spec_version")


# --- authentication -----------------------------------------------------------------------


def _protected_probe(ctx: CaseContext) -> Method:
    if ctx.options.token is None:
        raise Skipped("no --token given: the target is not under auth test")
    for method in PROTECTED_PROBES:
        if ctx.info.serves(method.service):
            return method
    raise Skipped("the target hosts no layer with a protected method to probe")


def _probe(ctx: CaseContext, method: Method, metadata: tuple[tuple[str, str], ...]) -> Message:
    return method.call(ctx.channel, method.request(), metadata=metadata, timeout=ctx.timeout)


@CASES.case(GENERAL, "auth.missing-token-is-unauthenticated", "GEN-010")
def auth_missing_token(ctx: CaseContext) -> None:
    """A protected method called without credentials is UNAUTHENTICATED [MISSING_CREDENTIALS]."""
    method = _protected_probe(ctx)
    expect.fails_with(
        lambda: _probe(ctx, method, ()),
        grpc.StatusCode.UNAUTHENTICATED,
        "MISSING_CREDENTIALS",
    )


@CASES.case(GENERAL, "auth.invalid-token-is-unauthenticated", "GEN-010", "GEN-013")
def auth_invalid_token(ctx: CaseContext) -> None:
    """A wrong bearer token is UNAUTHENTICATED [INVALID_CREDENTIALS] and is not echoed back."""
    method = _protected_probe(ctx)
    wrong = "lepton-conformance-wrong-token-4242"
    error = expect.fails_with(
        lambda: _probe(ctx, method, (("authorization", f"Bearer {wrong}"),)),
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIALS",
    )
    expect.holds(
        wrong not in (error.details() or ""),
        "the token not echoed",
        "the status message repeats the token",
    )


@CASES.case(GENERAL, "auth.valid-token-is-accepted", "GEN-010")
def auth_valid_token(ctx: CaseContext) -> None:
    """The given bearer token opens a protected method."""
    method = _protected_probe(ctx)
    expect.succeeds(lambda: _probe(ctx, method, ctx.metadata), f"{method.path} to succeed")


@CASES.case(GENERAL, "auth.discovery-needs-no-token", "GEN-011")
def auth_discovery_open(ctx: CaseContext) -> None:
    """Health, reflection and discovery answer without credentials."""
    if ctx.options.token is None:
        raise Skipped("no --token given: the target is not under auth test")
    expect.succeeds(
        lambda: _health(ctx).Check(health_pb2.HealthCheckRequest(), timeout=ctx.timeout),
        "health Check without a token",
    )
    expect.succeeds(
        lambda: reflection.list_services(ctx.channel, ctx.timeout), "reflection without a token"
    )
    expect.succeeds(
        lambda: discovery_grpc.DiscoveryServiceStub(ctx.channel).GetServerInfo(
            discovery_pb.GetServerInfoRequest(), timeout=ctx.timeout
        ),
        "GetServerInfo without a token",
    )


# --- pagination ---------------------------------------------------------------------------


def _hosted_lists(ctx: CaseContext) -> list[Method]:
    hosted = [m for m in TOP_LEVEL_LISTS if ctx.info.serves(m.service)]
    if not hosted:
        raise Skipped("the target hosts no top-level List RPC")
    return hosted


def _list(ctx: CaseContext, method: Method, **fields: Any) -> Message:
    return method.call(
        ctx.channel, method.request(**fields), metadata=ctx.metadata, timeout=ctx.timeout
    )


@CASES.case(GENERAL, "pagination.negative-page-size-is-invalid", "GEN-040", "GEN-002")
def negative_page_size(ctx: CaseContext) -> None:
    """page_size -1 is INVALID_ARGUMENT [INVALID_FIELD] with a violation on page_size."""
    for method in _hosted_lists(ctx):
        expect.fails_with(
            lambda method=method: _list(ctx, method, page_size=-1),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
            field="page_size",
        )


@CASES.case(GENERAL, "pagination.foreign-token-is-invalid", "GEN-042")
def foreign_page_token(ctx: CaseContext) -> None:
    """A page token the server never issued is INVALID_ARGUMENT [INVALID_PAGE_TOKEN]."""
    for method in _hosted_lists(ctx):
        for token in ("not-a-token", "AAAA", "\u00e9\u00e9"):
            expect.fails_with(
                lambda method=method, token=token: _list(ctx, method, page_token=token),
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_PAGE_TOKEN",
            )


MAX_PAGE_SIZE = 1000


def _walk(ctx: CaseContext, method: Method, size: int, limit: int) -> list[bytes]:
    """Every item of a listing with page_size `size`, following tokens for at most `limit`
    pages; each item serialized deterministically."""
    walked: list[bytes] = []
    token, pages, seen_tokens = "", 0, set()
    while True:
        page = expect.succeeds(
            lambda token=token: _list(ctx, method, page_size=size, page_token=token),
            f"{method.name} page {pages + 1}",
        )
        items = _items(page)
        expect.holds(len(items) <= size, f"at most {size} items per page", f"{len(items)} items")
        walked += [i.SerializeToString(deterministic=True) for i in items]
        token, pages = page.next_page_token, pages + 1
        if not token:
            return walked
        expect.holds(token not in seen_tokens, "a new token on every page", "a token repeated")
        seen_tokens.add(token)
        expect.holds(pages <= limit, "the listing to end", f"{pages} pages and counting")


@CASES.case(GENERAL, "pagination.walk-returns-each-item-once-and-ends", "GEN-041", "GEN-040")
def pagination_walk(ctx: CaseContext) -> None:
    """Following next_page_token with page_size 1 ends with an empty token and yields every
    item of a full listing exactly once."""
    for method in _hosted_lists(ctx):
        full = _walk(ctx, method, MAX_PAGE_SIZE, limit=100)
        walked = _walk(ctx, method, 1, limit=len(full) + 1)
        expect.holds(len(set(walked)) == len(walked), "each item once", "an item repeated")
        expect.equal(sorted(walked), sorted(full), f"items of {method.name} walked one by one")


def _items(page: Message) -> list[Message]:
    repeated = [f for f in page.DESCRIPTOR.fields if f.is_repeated and f.message_type]
    if len(repeated) != 1:
        raise RuntimeError(f"{page.DESCRIPTOR.full_name} has no single repeated resource field")
    return list(getattr(page, repeated[0].name))


# --- message sizes ------------------------------------------------------------------------


def _padded(size: int) -> bytes:
    """An empty message padded with `size` bytes of unknown field 15 (ignored by parsers)."""
    length, encoded = size, bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return b"\x7a" + bytes(encoded) + b"\0" * size


@CASES.case(GENERAL, "limits.accepts-64-mib-messages", "GEN-073")
def accepts_large_messages(ctx: CaseContext) -> None:
    """A 64 MiB request message is accepted."""
    payload = _padded(64 * 1024 * 1024)
    expect.succeeds(
        lambda: _raw_call(ctx, GET_SERVER_INFO, payload, metadata=ctx.metadata),
        "a 64 MiB request to be accepted",
    )


@CASES.case(GENERAL, "limits.oversized-message-is-resource-exhausted", "GEN-072")
def oversized_message(ctx: CaseContext) -> None:
    """A request over the server's limit is RESOURCE_EXHAUSTED, and the server keeps serving."""
    limit = ctx.options.message_limit
    if limit is None:
        raise Skipped("the target's message limit is unknown (pass --message-limit BYTES)")
    payload = _padded(limit + 1024)
    expect.fails_with(
        lambda: _raw_call(ctx, GET_SERVER_INFO, payload, metadata=ctx.metadata),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    )
    expect.succeeds(
        lambda: _health(ctx).Check(health_pb2.HealthCheckRequest(), timeout=ctx.timeout),
        "the server to keep serving",
    )

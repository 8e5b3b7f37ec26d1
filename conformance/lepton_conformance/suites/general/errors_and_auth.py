"""general cases of errors (unknown methods, malformed requests, unknown fields) and of
bearer-token authentication (spec/general.md)."""

from __future__ import annotations

import contextlib
from concurrent import futures

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton_conformance.harness import expect, reflection
from lepton_conformance.harness.case import NotApplicable, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.harness.target import DISCOVERY_SERVICE
from lepton_conformance.suites.general.probes import (
    GET_SERVER_INFO,
    NOT_PROTOBUF,
    PROTECTED_PROBES,
    UNKNOWN_SERVICE,
    Method,
    health_stub,
    raw_call,
)
from lepton_conformance.suites.general.profile import GENERAL

CASES = CaseList()


# --- errors -------------------------------------------------------------------------------


@CASES.case(GENERAL, "errors.unknown-method-is-unimplemented", "GEN-034")
def unknown_method(ctx: CaseContext) -> None:
    """A method the server does not know, of a known or an unknown service, is UNIMPLEMENTED."""
    for path in (f"/{DISCOVERY_SERVICE}/NoSuchMethod", f"/{UNKNOWN_SERVICE}/Call"):
        expect.fails_with(
            lambda path=path: raw_call(ctx, path, b"", metadata=ctx.metadata),
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
        lambda: raw_call(ctx, GET_SERVER_INFO, NOT_PROTOBUF, metadata=ctx.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
    )


@CASES.case(GENERAL, "errors.server-keeps-serving-after-bad-requests", "GEN-007")
def keeps_serving(ctx: CaseContext) -> None:
    """After a burst of concurrent malformed requests, the server still answers correctly."""

    def bad() -> None:
        with contextlib.suppress(grpc.RpcError):
            raw_call(ctx, GET_SERVER_INFO, NOT_PROTOBUF, metadata=ctx.metadata)

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
        lambda: raw_call(ctx, GET_SERVER_INFO, unknown, metadata=ctx.metadata),
        "GetServerInfo with an unknown field to succeed",
    )
    info = discovery_pb.GetServerInfoResponse.FromString(raw)
    expect.holds(bool(info.spec_version), "a complete answer", "an empty spec_version")


# --- authentication -----------------------------------------------------------------------


def _protected_probe(ctx: CaseContext) -> Method:
    if ctx.options.token is None:
        raise Skipped("no --token given: the target is not under auth test", needs="--token")
    for method in PROTECTED_PROBES:
        if ctx.info.serves(method.service):
            return method
    raise NotApplicable(
        "the target hosts no layer with a protected method to probe", "a protected method"
    )


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
        raise Skipped("no --token given: the target is not under auth test", needs="--token")
    expect.succeeds(
        lambda: health_stub(ctx).Check(health_pb2.HealthCheckRequest(), timeout=ctx.timeout),
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

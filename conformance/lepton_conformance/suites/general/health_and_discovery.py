"""general cases of health checking, server reflection and discovery (spec/general.md)."""

from __future__ import annotations

import time

import grpc
from grpc_health.v1 import health_pb2

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton_conformance.harness import expect, reflection
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.harness.target import DISCOVERY_SERVICE, HEALTH_SERVICE
from lepton_conformance.suites.general.probes import UNKNOWN_SERVICE, health_stub, lepton_services
from lepton_conformance.suites.general.profile import GENERAL

CASES = CaseList()


# --- health -------------------------------------------------------------------------------


@CASES.case(GENERAL, "health.check-overall", "GEN-020")
def health_check_overall(ctx: CaseContext) -> None:
    """Health Check for the whole server ("") answers SERVING."""
    response = expect.succeeds(
        lambda: health_stub(ctx).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=ctx.timeout
        )
    )
    expect.equal(
        health_pb2.HealthCheckResponse.ServingStatus.Name(response.status),
        "SERVING",
        "status of service ''",
    )


@CASES.case(GENERAL, "health.check-each-service", "GEN-020")
def health_check_each_service(ctx: CaseContext) -> None:
    """Health Check answers SERVING for every hosted Lepton service."""
    for name in lepton_services(ctx):
        response = expect.succeeds(
            lambda name=name: health_stub(ctx).Check(
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
        lambda: health_stub(ctx).Check(request, timeout=ctx.timeout), grpc.StatusCode.NOT_FOUND
    )


@CASES.case(GENERAL, "health.watch-sends-current-status", "GEN-022")
def health_watch_sends_current_status(ctx: CaseContext) -> None:
    """Health Watch sends the current status (SERVING) at once."""
    stream = health_stub(ctx).Watch(health_pb2.HealthCheckRequest(service=""), timeout=ctx.timeout)
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
    stream = health_stub(ctx).Watch(
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
    for name in lepton_services(ctx):
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

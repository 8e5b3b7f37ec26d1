"""How the suite learns what a target serves, needing nothing optional: reflection and
DiscoveryService when the target has them, the services the vendor states, and a cheap probe
call for every service a suite needs that nothing else found; then each suite probes its
optional features. Everything found is recorded with how it was found."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton_conformance.harness import reflection
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import Suite
from lepton_conformance.harness.target import (
    DISCOVERY,
    PROBE,
    REFLECTION,
    STATED,
    TargetInfo,
    TargetOptions,
)
from lepton_conformance.suites import all_suites

# A probe that ends with one of these did not reach the method: the service is not there
# (UNIMPLEMENTED) or the target could not be reached at all (UNAVAILABLE).
NOT_REACHED = frozenset({grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAVAILABLE})


def answer_of(call: Callable[[], object]) -> grpc.StatusCode:
    """The status `call` ends with: OK, or the code of the error it raised."""
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def discover(
    channel: grpc.Channel, options: TargetOptions, suites: Sequence[Suite] | None = None
) -> TargetInfo:
    """What the target serves: reflection (v1, then v1alpha) and DiscoveryService when they
    answer, the services `options` states, a probe call for every service of `suites` (all
    when None) found no other way; then each suite's optional features."""
    suites = all_suites() if suites is None else suites
    info = TargetInfo()
    _reflect(channel, options, info)
    _ask_discovery(channel, options, info)
    for service in options.services:
        info.record(service, STATED)
    for suite in suites:
        for probe in suite.probes:
            if info.serves(probe.service) or probe.service in info.probes:
                continue
            code = answer_of(
                lambda probe=probe: probe.call(
                    channel, metadata=options.metadata, timeout=options.timeout_s
                )
            )
            info.probes[probe.service] = f"{probe.method}: {code.name}"
            if code not in NOT_REACHED:
                info.record(probe.service, PROBE)
    ctx = CaseContext(options, info, channel)
    for suite in suites:
        if suite.probe_features is not None:
            suite.probe_features(ctx)
    return info


def _reflect(channel: grpc.Channel, options: TargetOptions, info: TargetInfo) -> None:
    # v1 first; v1alpha (same messages) for servers that only have the older name.
    for service in (reflection.V1, reflection.V1ALPHA):
        try:
            info.services = frozenset(reflection.list_services(channel, options.timeout_s, service))
            info.reflection_error = ""
            break
        except grpc.RpcError as error:
            info.reflection_error = f"{service}: {error.code().name}: {error.details()}"
    for name in sorted(info.services):
        info.record(name, REFLECTION)


def _ask_discovery(channel: grpc.Channel, options: TargetOptions, info: TargetInfo) -> None:
    try:
        stub = discovery_grpc.DiscoveryServiceStub(channel)
        info.server_info = stub.GetServerInfo(
            discovery_pb.GetServerInfoRequest(), timeout=options.timeout_s
        )
    except grpc.RpcError as error:
        info.discovery_error = f"{error.code().name}: {error.details()}"
        return
    info.features = {s.name: frozenset(s.features) for s in info.server_info.services}
    for name in info.features:
        info.record(name, DISCOVERY)

"""The general suite: rules every server of the standard follows (spec/general.md)."""

from __future__ import annotations

from grpc_health.v1 import health_pb2

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton_conformance.harness.suite import ServiceProbe, Suite
from lepton_conformance.harness.target import DISCOVERY_SERVICE, HEALTH_SERVICE
from lepton_conformance.suites.general import (
    encrypted_storage,
    errors_and_auth,
    health_and_discovery,
    metrics,
    pagination_and_limits,
    roles,
    tenants,
)
from lepton_conformance.suites.general.profile import GENERAL

SUITE = Suite(
    "general",
    profiles=(
        GENERAL,
        metrics.METRICS,
        roles.ROLES,
        tenants.TENANTS,
        encrypted_storage.ENCRYPTED_STORAGE,
    ),
    case_lists=(
        health_and_discovery.CASES,
        errors_and_auth.CASES,
        pagination_and_limits.CASES,
        metrics.CASES,
        roles.CASES,
        tenants.CASES,
        encrypted_storage.CASES,
    ),
    probes=(
        ServiceProbe(
            DISCOVERY_SERVICE,
            "GetServerInfo",
            discovery_pb.GetServerInfoRequest(),
            discovery_pb.GetServerInfoResponse,
        ),
        ServiceProbe(
            HEALTH_SERVICE,
            "Check",
            health_pb2.HealthCheckRequest(),
            health_pb2.HealthCheckResponse,
        ),
    ),
)

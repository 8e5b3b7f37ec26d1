"""Mutants of the general rules: auth, pagination, health, reflection, discovery, errors."""

from __future__ import annotations

import asyncio
import dataclasses
import struct
from collections.abc import Callable
from typing import Any

import grpc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2

from lepton_server.aip import ordering, pagination
from lepton_server.runtime import (
    audit_log,
    auth,
    discovery,
    encryption,
    error_mapping,
    errors,
    host,
    metrics,
    principals,
    roles,
    tenancy,
)
from mutants.case_sets import (
    REASON_CHECKS,
)
from mutants.mutation import Mutant, after_start, replace, set_attribute, set_item

DISCOVERY_SERVICE = "lepton.discovery.v1.DiscoveryService"
HealthServicer = health.aio.HealthServicer


def _health_class(cls: type) -> Callable[[], None]:
    def apply() -> None:
        health.aio.HealthServicer = cls

    return apply


class _LyingHealth(HealthServicer):
    async def Check(self, request, context):
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class _SilentWatchHealth(HealthServicer):
    async def Watch(self, request, context):
        await asyncio.Event().wait()


class _ClosingWatchHealth(HealthServicer):
    async def Watch(self, request, context):
        if request.service not in self._server_status:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        await super().Watch(request, context)


def _reflection_without(names: set[str], v1: bool = True) -> Callable[[], None]:
    def apply() -> None:
        from grpc_reflection.v1alpha import reflection  # noqa: PLC0415

        original = host.enable_reflection

        def enable(server, service_names, mirrors=None):
            kept = [n for n in service_names if n not in names]
            if v1:
                original(server, kept, mirrors)
            else:
                reflection.enable_server_reflection([*kept, reflection.SERVICE_NAME], server)

        host.enable_reflection = enable

    return apply


def _catch_all_unknown_methods() -> None:
    original = host.enable_reflection

    class CatchAll(grpc.GenericRpcHandler):
        def service(self, handler_call_details):
            async def answer(request, context):
                return b""

            return grpc.unary_unary_rpc_method_handler(answer)

    def enable(server, service_names, mirrors=None):
        original(server, service_names, mirrors)
        server.add_generic_rpc_handlers((CatchAll(),))

    host.enable_reflection = enable


def _discovery_describes_nothing() -> None:
    original = discovery.DiscoveryServicer.__init__

    def init(self, services):
        original(self, [])

    discovery.DiscoveryServicer.__init__ = init


def _no_reflection_or_discovery() -> None:
    """Neither reflection nor DiscoveryService is mounted, as on a plain OIP server."""
    original = host.discovery_service

    def unmounted(others):
        return dataclasses.replace(original(others), register=lambda server: None)

    host.enable_reflection = lambda server, service_names, mirrors=None: None
    host.discovery_service = unmounted


def _strict_deserializer(deserializer):
    if deserializer is None:
        return None

    def deserialize(data: bytes):
        try:
            message = deserializer(data)
        except DecodeError:
            message = None
        # Inference requests arrive wrapped with their raw contents (wire.InferRequest).
        parsed = getattr(message, "message", message)
        if message is None or len(unknown_fields.UnknownFieldSet(parsed)):
            return error_mapping._Undecodable(
                errors.InvalidArgument(reason="MALFORMED_REQUEST", message="unknown fields")
            )
        return message

    return deserialize


def _status_without_details(self: errors.LeptonError):
    from google.rpc import code_pb2, status_pb2  # noqa: PLC0415

    return status_pb2.Status(code=getattr(code_pb2, self.code.name), message=self.message)


def _tokens_never_end(paginate):
    """The last page still gets a token: the last item's position, the one it came from, or
    (for an empty list) a position before every item."""

    def mutated(items, order, getter, size, after, *, field_path="page_token"):
        page, last = paginate(items, order, getter, size, after, field_path=field_path)
        if last is None and page:
            last = ordering.sort_values(order, getter(page[-1]))
        elif last is None:
            last = after if after is not None else [None] * len(order)
        return page, last

    return mutated


def _foreign_tokens_accepted(original):
    def mutated(self, token, binding, field_path="page_token"):
        try:
            return original(self, token, binding, field_path)
        except errors.InvalidArgument:
            return None

    return mutated


def _negative_page_size_accepted(original):
    return lambda value, default, maximum=1000, field_path="page_size": original(
        max(value, 0), default, maximum, field_path
    )


NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


def _refusals_unrecorded(ended: Callable) -> Callable:
    def record(self, start, code, *call):
        if code not in audit_log.REFUSALS:
            ended(self, start, code, *call)

    return record


def _every_call_ok(ended: Callable) -> Callable:
    def counted(self, start, _code, _reason, *call):
        ended(self, start, grpc.StatusCode.OK, "", *call)

    return counted


def _chunks_unauthenticated(original: Callable) -> Callable:
    """SealedReader decrypting each chunk as AES-GCM's counter mode does, its tag unchecked:
    a changed byte is read as another byte."""

    def init(self, *args, **options) -> None:
        original(self, *args, **options)
        read_at, _, data_key = args[:3]

        def decrypt(index: int, into: memoryview) -> None:
            start = encryption.HEADER_BYTES + index * (self._chunk + encryption.TAG_BYTES)
            sealed = read_at(start, len(into) + encryption.TAG_BYTES)
            # GCM's first counter block for the payload: the nonce, then 2.
            counter = self._prefix + struct.pack(">I", index) + b"\0\0\0\2"
            decryptor = Cipher(algorithms.AES(data_key), modes.CTR(counter)).decryptor()
            into[:] = decryptor.update(sealed[: len(into)]) + decryptor.finalize()

        self._decrypt = decrypt

    return init


def _lists_of_the_default_tenant(original: Callable) -> Callable:
    """Tenant dispatch that sends every List to the default tenant's instance."""

    def dispatching(method: str, per_tenant: dict) -> Any:
        if method.rsplit("/", 1)[1].startswith("List"):
            per_tenant = dict.fromkeys(per_tenant, per_tenant[principals.DEFAULT_TENANT])
        return original(method, per_tenant)

    return dispatching


MUTANTS: dict[str, Mutant] = {
    "cross-tenant-list": Mutant(
        "GEN-019: a List answers with the default tenant's resources, whoever calls",
        replace(tenancy, "_dispatching", _lists_of_the_default_tenant),
        frozenset({"tenants.datasets-are-isolated", "tenants.models-are-isolated"}),
    ),
    "tampered-segment-served-silently": Mutant(
        "GEN-112: stored chunks are decrypted without checking their tags",
        replace(encryption.SealedReader, "__init__", _chunks_unauthenticated),
        frozenset({"encrypted-storage.tampered-data-is-not-served"}),
    ),
    "audit-log-misses-refusals": Mutant(
        "GEN-017: calls refused for their credentials or roles are not recorded",
        replace(audit_log._MethodAudit, "ended", _refusals_unrecorded),
        frozenset({"roles.audit-log-records-writes-and-refusals"}),
    ),
    "reader-can-write": Mutant(
        "GEN-015: a reader's credential may call what a writer may",
        set_item(roles.GRANTS, roles.READER, lambda granted: granted | {roles.WRITER}),
        frozenset(
            {
                "roles.audit-log-records-writes-and-refusals",
                "roles.reader-reads-and-may-not-write",
                "roles.refused-write-leaves-nothing",
            }
        ),
    ),
    "metrics-count-failures-as-successes": Mutant(
        "GEN-101: every call is counted under grpc_code OK, failed or not",
        replace(metrics.CallRecorder, "ended", _every_call_ok),
        frozenset({"metrics.calls-counted-by-status"}),
    ),
    "auth-lets-anyone-in": Mutant(
        "GEN-010: calls without a valid token are served",
        set_attribute(auth.BearerTokenCheck, "_rejection", lambda self, metadata: None),
        frozenset(
            {
                "general.auth.missing-token-is-unauthenticated",
                "general.auth.invalid-token-is-unauthenticated",
            }
        ),
    ),
    "page-token-never-ends": Mutant(
        "GEN-041: next_page_token is never empty",
        replace(pagination, "paginate", _tokens_never_end),
        frozenset(
            {
                "data-core.datasets.list-default-order-and-pages",
                "data-core.datasets.list-filters",
                "data-core.datasets.list-order-by",
                "data-core.jobs.list-order-pages-and-filters",
                "data-core.tags.list-in-id-order",
                "data-core.versions.list-order-and-pages",
                "data-processing.runs.list-order-and-filters",
                "general.pagination.walk-returns-each-item-once-and-ends",
            }
        ),
    ),
    "foreign-page-token-accepted": Mutant(
        "GEN-042: a page token the server never issued starts the list over",
        replace(pagination.PageTokens, "read", _foreign_tokens_accepted),
        frozenset(
            {
                "data-core.jobs.list-errors.foreign-page-token",
                "data-core.pagination.foreign-token-is-invalid",
                "data-core.pagination.token-bound-to-its-request",
                "general.pagination.foreign-token-is-invalid",
            }
        ),
    ),
    "negative-page-size-accepted": Mutant(
        "GEN-040: a negative page_size is treated as the default",
        replace(pagination, "page_size", _negative_page_size_accepted),
        frozenset(
            {
                "general.pagination.negative-page-size-is-invalid",
                "data-core.jobs.list-errors.negative-page-size",
                "data-core.pagination.negative-page-size-is-invalid",
            }
        ),
    ),
    "health-overall-not-serving": Mutant(
        "GEN-020: the whole server reports NOT_SERVING while it serves",
        after_start(lambda r: r.health.set("", NOT_SERVING)),
        frozenset({"general.health.check-overall", "general.health.watch-sends-current-status"}),
    ),
    "health-forgets-a-service": Mutant(
        "GEN-020: a hosted service has no SERVING health entry",
        after_start(lambda r: r.health.set(DISCOVERY_SERVICE, SERVICE_UNKNOWN)),
        frozenset({"general.health.check-each-service"}),
    ),
    "health-lies-about-unknown-services": Mutant(
        "GEN-021: Check says SERVING for a service the server does not host",
        _health_class(_LyingHealth),
        frozenset({"general.health.check-unknown-service"}),
    ),
    "health-watch-sends-nothing": Mutant(
        "GEN-022: Watch never sends the current status",
        _health_class(_SilentWatchHealth),
        frozenset(
            {
                "general.health.watch-sends-current-status",
                "general.health.watch-unknown-service-stays-open",
            }
        ),
    ),
    "health-watch-closes-on-unknown-service": Mutant(
        "GEN-022: Watch of an unknown service ends at once with NOT_FOUND",
        _health_class(_ClosingWatchHealth),
        frozenset({"general.health.watch-unknown-service-stays-open"}),
    ),
    "reflection-v1-missing": Mutant(
        "GEN-030: only grpc.reflection.v1alpha is served",
        _reflection_without(set(), v1=False),
        frozenset(
            {
                "general.auth.discovery-needs-no-token",
                "general.reflection.lists-hosted-services",
                "general.reflection.describes-hosted-services",
                "general.reflection.v1alpha-lists-the-same-services",
            }
        ),
    ),
    "reflection-hides-a-service": Mutant(
        "GEN-030: reflection does not list a hosted service",
        _reflection_without({DISCOVERY_SERVICE}),
        frozenset(
            {
                "general.reflection.lists-hosted-services",
                "general.reflection.describes-hosted-services",
                "general.discovery.describes-the-server",
            }
        ),
    ),
    "discovery-describes-nothing": Mutant(
        "GEN-032: GetServerInfo lists no services",
        _discovery_describes_nothing,
        frozenset(
            {
                "data-core.discovery.features-are-exactly-the-implemented-ones",
                "data-core.discovery.processing-service-lists-data-processing",
                "general.discovery.describes-the-server",
            }
        ),
    ),
    "unknown-methods-answer-ok": Mutant(
        "GEN-034: a method the server does not know answers OK",
        _catch_all_unknown_methods,
        frozenset({"general.errors.unknown-method-is-unimplemented"}),
    ),
    "malformed-request-is-unknown": Mutant(
        "GEN-008: undecodable request bytes get gRPC's default UNKNOWN",
        set_attribute(error_mapping, "_tolerant", lambda deserializer: deserializer),
        frozenset({"general.errors.malformed-request-is-invalid-argument"}),
    ),
    "errors-without-error-info": Mutant(
        "GEN-001: error statuses carry no ErrorInfo",
        set_attribute(errors.LeptonError, "to_status_proto", _status_without_details),
        REASON_CHECKS,
    ),
    "error-info-in-another-domain": Mutant(
        "GEN-001: ErrorInfo.domain is not lepton.ai",
        set_attribute(errors, "ERROR_DOMAIN", "example.com"),
        REASON_CHECKS,
    ),
    "unknown-fields-rejected": Mutant(
        "GEN-091: a request with a field the server does not know is rejected",
        set_attribute(error_mapping, "_tolerant", _strict_deserializer),
        frozenset(
            {
                "general.compatibility.unknown-fields-are-ignored",
                "general.limits.accepts-64-mib-messages",
            }
        ),
    ),
    "reflection-and-discovery-absent": Mutant(
        "GEN-030, GEN-032: neither reflection nor DiscoveryService is served",
        _no_reflection_or_discovery,
        frozenset(
            {
                "general.auth.discovery-needs-no-token",
                "general.compatibility.unknown-fields-are-ignored",
                "general.discovery.describes-the-server",
                "general.errors.malformed-request-is-invalid-argument",
                "general.errors.server-keeps-serving-after-bad-requests",
                "general.health.check-each-service",
                "general.limits.accepts-64-mib-messages",
                "general.limits.oversized-message-is-resource-exhausted",
                "general.reflection.describes-hosted-services",
                "general.reflection.lists-hosted-services",
                "general.reflection.v1alpha-lists-the-same-services",
            }
        ),
    ),
}

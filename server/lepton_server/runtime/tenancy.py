"""Tenants (spec/general.md, "Tenants"): a caller's tenant is its credential's, and resource
names are unchanged, so each tenant sees a namespace of its own. The reference server keeps
tenants apart by construction: every tenant-scoped layer is built once per tenant, over a
data directory of the tenant's own (`<data-dir>/tenants/<tenant>/`, the default tenant's
being `<data-dir>` itself), and each method of such a service is mounted once, dispatching
each call to the instance of the caller's tenant. No code path of a layer can reach another
tenant's store, because it holds none.

How a layer takes part is its `Layer.tenancy`:
- PER_TENANT: an instance per tenant (data, registry, training, annotation);
- SHARED: one instance every tenant uses (inference: the deployment's models, as in Triton);
- DEFAULT_ONLY: served to the default tenant only (edge: a device's own credentials name no
  tenant yet); another tenant's call is PERMISSION_DENIED [TENANT_NOT_SERVED]."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import grpc
from grpc import aio

from lepton_server.runtime.error_mapping import handler_kind, replace_behavior
from lepton_server.runtime.errors import PermissionDenied
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import PER_TENANT, SHARED
from lepton_server.runtime.metrics import MetricSource
from lepton_server.runtime.principals import DEFAULT_TENANT, current_tenant


class _Collector:
    """Stands in for the server while one tenant's instance of a service registers: keeps its
    method handlers by method name."""

    def __init__(self) -> None:
        self.methods: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        self._generic = 0

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        # The generated `add_*_to_server` also registers the same methods by name, below;
        # those are what dispatch needs (a generic handler lists no methods).
        self._generic += len(tuple(handlers))

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        self.methods[service] = dict(handlers)

    def handlers(self, service: str) -> dict[str, grpc.RpcMethodHandler]:
        if service not in self.methods:
            raise TypeError(f"{service} registers no method handlers by name: it cannot be split")
        return self.methods[service]


def _not_served(method: str) -> PermissionDenied:
    return PermissionDenied(
        reason="TENANT_NOT_SERVED",
        message=f"{method} serves the deployment's default tenant only, and the credential "
        f"belongs to tenant {current_tenant()!r}",
    )


def _dispatching(
    method: str, per_tenant: Mapping[str, grpc.RpcMethodHandler]
) -> grpc.RpcMethodHandler:
    """One handler for `method` that runs the behaviour of the caller's tenant's handler."""
    default = per_tenant[DEFAULT_TENANT]
    kind = handler_kind(default)
    behaviors = {tenant: getattr(h, kind) for tenant, h in per_tenant.items()}

    def chosen() -> Any:
        found = behaviors.get(current_tenant())
        if found is None:
            raise _not_served(method)
        return found

    def route(_behavior: Any, _streams: bool) -> Any:
        if kind.endswith("_stream"):

            async def streamed(request: Any, context: aio.ServicerContext) -> Any:
                responses = chosen()(request, context)
                if inspect.isawaitable(responses):
                    responses = await responses
                async for response in responses:
                    yield response

            return streamed

        async def answered(request: Any, context: aio.ServicerContext) -> Any:
            result = chosen()(request, context)
            return await result if inspect.isawaitable(result) else result

        return answered

    return replace_behavior(default, route)


@dataclass(frozen=True)
class TenantInstances:
    """One service's instances: the default tenant's and the other tenants' (None for the
    tenants it does not serve)."""

    default: HostedService
    others: Mapping[str, HostedService]

    def mounted(self) -> HostedService:
        """The service as the host mounts it: each method dispatches by tenant."""
        instances = {DEFAULT_TENANT: self.default, **self.others}

        def register(server: aio.Server) -> None:
            collected = {}
            for tenant, instance in instances.items():
                collector = _Collector()
                instance.register(collector)
                collected[tenant] = collector.handlers(self.default.name)
            methods = collected[DEFAULT_TENANT]
            handlers = {
                name: _dispatching(
                    f"/{self.default.name}/{name}",
                    {tenant: found[name] for tenant, found in collected.items()},
                )
                for name in methods
            }
            server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(self.default.name, handlers),)
            )
            server.add_registered_method_handlers(self.default.name, handlers)

        return replace(
            self.default,
            register=register,
            close=_each(instances.values(), "close"),
            stopping=_each(instances.values(), "stopping"),
            start=_start_each(instances.values()),
            metrics=_metrics_of_each(instances.values()),
        )


def _each(services: Iterable[HostedService], hook: str) -> Callable[[], None] | None:
    hooks = [getattr(s, hook) for s in services if getattr(s, hook) is not None]
    if not hooks:
        return None

    def run() -> None:
        for each in hooks:
            each()

    return run


def _metrics_of_each(services: Iterable[HostedService]) -> MetricSource | None:
    """Every instance's metrics (each labelled with its tenant by the layer that makes them);
    families of one name are merged at the scrape."""
    sources = [s.metrics for s in services if s.metrics is not None]
    if not sources:
        return None
    return lambda: (family for source in sources for family in source())


def _start_each(
    services: Iterable[HostedService],
) -> Callable[[asyncio.AbstractEventLoop, str], None] | None:
    hooks = [s.start for s in services if s.start is not None]
    if not hooks:
        return None

    def start(loop: asyncio.AbstractEventLoop, address: str) -> None:
        for each in hooks:
            each(loop, address)

    return start


def mount_tenants(
    default: Sequence[HostedService],
    others: Mapping[str, Sequence[HostedService]],
    tenancy: Mapping[str, str],
) -> list[HostedService]:
    """The services the host mounts: `default` (the default tenant's, every layer's), each
    split by tenant as its layer's tenancy (by service name in `tenancy`) says, with the
    instances of `others` (tenant -> that tenant's services of PER_TENANT layers)."""
    mounted = []
    for service in default:
        kind = tenancy.get(service.name, SHARED)
        if kind == SHARED:
            mounted.append(service)
            continue
        instances = {}
        if kind == PER_TENANT:
            instances = {
                tenant: next(s for s in services if s.name == service.name)
                for tenant, services in others.items()
            }
        mounted.append(TenantInstances(service, instances).mounted())
    return mounted

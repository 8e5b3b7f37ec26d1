"""Credentials a hosted service checks itself (HostedService.authenticate and .refuse): for
a service whose callers are not operators (devices and their access tokens), and for
credentials a service must refuse whatever the server's own settings (EDG-010, EDG-026)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import grpc
from grpc import aio

from lepton_server.runtime.auth import rejecting
from lepton_server.runtime.error_mapping import replace_behavior
from lepton_server.runtime.errors import LeptonError
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.principals import set_principal


def authorization_value(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    """The call's `authorization` metadata value, or None when it has none."""
    for key, value in metadata:
        if key == "authorization":
            return value.decode(errors="replace") if isinstance(value, bytes) else value
    return None


class ServiceCredentialsInterceptor(aio.ServerInterceptor):
    """Runs each service's own checks on the calls to it. Installed before the host's
    operator-token interceptor, so a refusal here is the answer the caller sees."""

    def __init__(self, services: Sequence[HostedService]) -> None:
        self._services = {
            f"/{s.name}/": s for s in services if s.authenticate is not None or s.refuse is not None
        }

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        service = self._services.get(method[: method.rfind("/") + 1])
        if handler is None or service is None:
            return handler
        authorization = authorization_value(handler_call_details.invocation_metadata or ())
        try:
            if service.refuse is not None:
                service.refuse(authorization)
            if service.authenticate is not None:
                # The interceptor runs in the call's own task: the handler sees the principal.
                set_principal(service.authenticate(method, authorization))
        except LeptonError as error:
            refusal = rejecting(error)
            return replace_behavior(handler, lambda _behavior, _streams: refusal)
        return handler

"""Credentials a hosted service checks itself (HostedService.authenticate and .refuse): for
a service whose callers are not operators (devices and their access tokens), and for
credentials a service must refuse whatever the server's own settings (EDG-010, EDG-026)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lepton_server.runtime.error_mapping import Metadata, MethodCheck
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.principals import set_principal


def authorization_value(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    """The call's `authorization` metadata value, or None when it has none."""
    for key, value in metadata:
        if key == "authorization":
            return value.decode(errors="replace") if isinstance(value, bytes) else value
    return None


class ServiceCredentialsCheck:
    """Runs each service's own checks on the calls to it; a CallCheck (runtime/
    error_mapping.py) the host runs before the operator-token check, so a refusal here is the
    answer the caller sees."""

    def __init__(self, services: Sequence[HostedService]) -> None:
        self._services = {
            f"/{s.name}/": s for s in services if s.authenticate is not None or s.refuse is not None
        }

    def for_method(self, method: str) -> MethodCheck | None:
        service = self._services.get(method[: method.rfind("/") + 1])
        if service is None:
            return None

        def check(metadata: Metadata) -> None:
            authorization = authorization_value(metadata)
            if service.refuse is not None:
                service.refuse(authorization)
            if service.authenticate is not None:
                set_principal(service.authenticate(method, authorization))

        return check

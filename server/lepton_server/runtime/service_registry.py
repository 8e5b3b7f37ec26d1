"""The layers a server can host, and what hosting one means."""

from __future__ import annotations

from collections.abc import Callable

from lepton_server import data, inference
from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.startup_errors import StartupError

# Layer name -> builder of the services that layer hosts. A layer that is absent here is
# rejected by `lepton serve --services` with a clear message.
LayerBuilder = Callable[[ServerConfig], list[HostedService]]
LAYERS: dict[str, LayerBuilder] = {"data": data.build, "inference": inference.build}


class UnknownLayerError(StartupError):
    """A --services entry names a layer this server does not implement."""


def build_services(config: ServerConfig) -> list[HostedService]:
    """The services of every selected layer, in the order selected."""
    selected = config.services if config.services is not None else tuple(LAYERS)
    unknown = [name for name in selected if name not in LAYERS]
    if unknown:
        available = ", ".join(sorted(LAYERS)) or "none yet"
        raise UnknownLayerError(
            f"unknown or unimplemented layer(s): {', '.join(unknown)} (available: {available})"
        )
    return [service for name in selected for service in LAYERS[name](config)]

"""The layers a server can host, and what a layer gives the host.

Each layer package has a `layer` module declaring one `Layer`: the command-line flags the
layer owns, the config it builds from them, and how it builds its services. The registry
names those declarations as "module:attribute" strings and imports one only when it is
needed, so a layer nobody selects is never loaded: `lepton serve --services inference`
imports no data-layer module (no Arrow Flight, no SQLite). A `layer` module imports only
what declaring its flags needs; its `build` imports the rest."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.startup_errors import StartupError

# Layer name -> where its Layer is declared. A name absent here is rejected by
# `lepton serve --services` with a clear message.
LAYERS: dict[str, str] = {
    "data": "lepton_server.data.layer:LAYER",
    "annotation": "lepton_server.annotation.layer:LAYER",
    "edge": "lepton_server.edge.layer:LAYER",
    "inference": "lepton_server.inference.layer:LAYER",
    "registry": "lepton_server.registry.layer:LAYER",
    "training": "lepton_server.training.layer:LAYER",
}

ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class Layer(Generic[ConfigT]):
    """What one layer gives the host."""

    # The layer's own config: a frozen dataclass whose defaults are its flags' defaults. A
    # ServerConfig that carries no config for the layer runs it with `config_type()`.
    config_type: type[ConfigT]
    # Declares the layer's flags in the argument group `lepton serve` gives it.
    add_arguments: Callable[[argparse._ArgumentGroup], None]
    # The layer's config from parsed options; StartupError when a value is unusable.
    configure: Callable[[argparse.Namespace], ConfigT]
    # The layer's services, for the host-wide config and the layer's own config.
    build: Callable[[ServerConfig, ConfigT], list[HostedService]]


class UnknownLayerError(StartupError):
    """A --services entry names a layer this server does not implement."""


def selected_layers(config: ServerConfig) -> tuple[str, ...]:
    """The layers `config` hosts, in order: those it names, or every layer."""
    return config.services if config.services is not None else tuple(LAYERS)


def check_known(names: Iterable[str]) -> None:
    """UnknownLayerError naming every one of `names` that is not a layer of this server."""
    unknown = [name for name in names if name not in LAYERS]
    if unknown:
        available = ", ".join(sorted(LAYERS)) or "none yet"
        raise UnknownLayerError(
            f"unknown or unimplemented layer(s): {', '.join(unknown)} (available: {available})"
        )


def load_layer(name: str) -> Layer[Any]:
    """Import the declaration of layer `name` (its `layer` module only)."""
    check_known([name])
    module, _, attribute = LAYERS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def build_services(config: ServerConfig) -> list[HostedService]:
    """The services of every selected layer, in the order selected."""
    selected = selected_layers(config)
    check_known(selected)
    services: list[HostedService] = []
    for name in selected:
        layer = load_layer(name)
        own = config.layers.get(name)
        services += layer.build(config, layer.config_type() if own is None else own)
    return services

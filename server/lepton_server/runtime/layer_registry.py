"""The layers a server can host, and what a layer gives the host.

Each layer package has a `layer` module declaring one `Layer`: the command-line flags the
layer owns, the config it builds from them, and how it builds its services. The registry
names those declarations as "module:attribute" strings and imports one only when it is
needed, so a layer nobody selects is never loaded: `lepton serve --services inference`
imports no data-layer module (no Arrow Flight, no SQLite). A `layer` module imports only
what declaring its flags needs; its `build` imports the rest."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlparse, urlunparse

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

# How a layer's services take part in tenancy (runtime/tenancy.py).
PER_TENANT, SHARED, DEFAULT_ONLY = "per-tenant", "shared", "default-only"


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
    # How its services take part in tenancy (runtime/tenancy.py): an instance per tenant,
    # one shared, or the default tenant's only.
    tenancy: str = PER_TENANT
    # The layer's own config for another tenant than the default (a storage location of the
    # tenant's own); None keeps it as it is.
    for_tenant: Callable[[ConfigT, str], ConfigT] | None = None


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
    """The services of every selected layer, in the order selected; with tenants besides the
    default one, each layer's instances for them mounted beside the default's
    (runtime/tenancy.py)."""
    selected = selected_layers(config)
    check_known(selected)
    layers = {name: load_layer(name) for name in selected}
    services: list[HostedService] = []
    tenancy: dict[str, str] = {}
    for name, layer in layers.items():
        built = layer.build(config, _own_config(config, name, layer))
        services += built
        tenancy.update(dict.fromkeys((s.name for s in built), layer.tenancy))
    if not config.other_tenants:
        return services
    # Imported here: a server without tenants never loads it.
    from lepton_server.runtime.tenancy import mount_tenants  # noqa: PLC0415

    others = {}
    for tenant in config.other_tenants:
        tenant_config = _tenant_config(config, tenant, layers)
        others[tenant] = [
            service
            for name, layer in layers.items()
            if layer.tenancy == PER_TENANT
            for service in layer.build(tenant_config, _own_config(tenant_config, name, layer))
        ]
    return mount_tenants(services, others, tenancy)


def tenant_location(location: str | None, tenant: str) -> str | None:
    """A storage location (a path or a URI, query kept) for `tenant` below `location`."""
    if location is None:
        return None
    parsed = urlparse(location)
    if not parsed.scheme:
        return str(Path(location) / "tenants" / tenant)
    return urlunparse(parsed._replace(path=f"{parsed.path.rstrip('/')}/tenants/{tenant}"))


def tenant_roots(roots: tuple[Path, ...], tenant: str) -> tuple[Path, ...]:
    """Each file root's directory for `tenant`."""
    return tuple(root / "tenants" / tenant for root in roots)


def _own_config(config: ServerConfig, name: str, layer: Layer[Any]) -> Any:
    own = config.layers.get(name)
    return layer.config_type() if own is None else own


def _tenant_config(
    config: ServerConfig, tenant: str, layers: dict[str, Layer[Any]]
) -> ServerConfig:
    """`config` for `tenant`'s instances: a data directory, and storage, of its own."""
    own = {}
    for name, layer in layers.items():
        layer_config = _own_config(config, name, layer)
        own[name] = (
            layer_config if layer.for_tenant is None else layer.for_tenant(layer_config, tenant)
        )
    return dataclasses.replace(
        config, data_dir=config.data_dir / "tenants" / tenant, tenant=tenant, layers=own
    )

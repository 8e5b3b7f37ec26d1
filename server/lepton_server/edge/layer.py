"""The edge layer as the host sees it: the flags it owns, its config, and how it is built.
Importing this module declares flags only; the fleet server loads when `build` runs
(services.py)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import DEFAULT_ONLY, Layer
from lepton_server.runtime.startup_errors import StartupError

# EDG-027: access tokens expire at most 24 hours after issue.
MAX_ACCESS_TOKEN_TTL_SECONDS = 24 * 3600.0
# EDG-027: retry_after for a PENDING device is between 10 seconds and 1 hour.
MIN_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS = 10.0, 3600.0


@dataclass(frozen=True)
class EdgeConfig:
    """Settings of the edge layer."""

    # How long a device access token from Register stays valid.
    access_token_ttl_seconds: float = 3600.0
    # How long a PENDING device waits before it calls Register again (RegisterResponse).
    pending_retry_after_seconds: float = 30.0
    # How long a registration challenge stays valid (EDG-106: at least 60 seconds).
    challenge_ttl_seconds: float = 300.0
    # The registry whose model versions releases name (HOST:PORT); None: the registry this
    # server hosts, if it hosts one (registry_releases.py).
    registry_address: str | None = None


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The edge layer's flags of `lepton serve`."""
    group.add_argument(
        "--edge-access-token-ttl",
        type=float,
        default=EdgeConfig.access_token_ttl_seconds,
        metavar="SECONDS",
        help="how long a device access token stays valid (default 3600, at most 86400)",
    )
    group.add_argument(
        "--edge-pending-retry-after",
        type=float,
        default=EdgeConfig.pending_retry_after_seconds,
        metavar="SECONDS",
        help="how long a device awaiting approval waits before registering again (10 to 3600)",
    )
    group.add_argument(
        "--edge-registry-address",
        metavar="HOST:PORT",
        help="the model registry whose versions releases name, when this server hosts none "
        "(default: its own registry, if it hosts one)",
    )


def configure(options: argparse.Namespace) -> EdgeConfig:
    """The edge layer's config from parsed options."""
    ttl = options.edge_access_token_ttl
    if not 0 < ttl <= MAX_ACCESS_TOKEN_TTL_SECONDS:
        raise StartupError("--edge-access-token-ttl must be positive and at most 86400 seconds")
    retry = options.edge_pending_retry_after
    if not MIN_RETRY_AFTER_SECONDS <= retry <= MAX_RETRY_AFTER_SECONDS:
        raise StartupError("--edge-pending-retry-after must be between 10 and 3600 seconds")
    return EdgeConfig(
        access_token_ttl_seconds=ttl,
        pending_retry_after_seconds=retry,
        registry_address=options.edge_registry_address,
    )


def build(server: ServerConfig, config: EdgeConfig) -> list[HostedService]:
    """The edge layer's services (services.build)."""
    from lepton_server.edge import services  # noqa: PLC0415  (heavy: loaded when hosted)

    return services.build(server, config)


# A device's credentials name no tenant yet: fleets are the default tenant's.
LAYER = Layer(EdgeConfig, add_arguments, configure, build, tenancy=DEFAULT_ONLY)

"""The profile of the edge suite's fleet side and when it applies to a target."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.edge.edge_client import AGENT_SERVICE, SERVICE


def _serves_fleet(info: TargetInfo) -> str | None:
    missing = [s for s in (SERVICE, AGENT_SERVICE) if not info.serves(s)]
    return f"the target does not serve {' and '.join(missing)}" if missing else None


FLEET = Profile(
    "edge-fleet",
    "Edge fleet: devices and approval, registration, the Sync twin, deployments and "
    "WatchDevices, of a server hosting EdgeService and DeviceAgentService",
    applies=_serves_fleet,
)

"""The profiles of the edge suite: the fleet side and when it applies to a target, and the
device agent, which the agent harness starts itself."""

from __future__ import annotations

from lepton_conformance.harness.suite import Profile
from lepton_conformance.harness.target import TargetInfo
from lepton_conformance.suites.edge.edge_client import AGENT_SERVICE, SERVICE


def _serves_fleet(info: TargetInfo) -> str | None:
    missing = [s for s in (SERVICE, AGENT_SERVICE) if not info.serves(s)]
    return f"the target does not serve {' and '.join(missing)}" if missing else None


FLEET = Profile(
    "edge-fleet",
    "Edge fleet: devices and approval, registration, the Sync twin, deployments, "
    "WatchDevices, rollouts and their release checks, artifacts and telemetry, of a server "
    "hosting EdgeService and DeviceAgentService",
    applies=_serves_fleet,
)


AGENT = Profile(
    "edge-agent",
    "Edge agent: registration, the Sync twin, signed and verified updates with golden-vector "
    "health checks and rollback, resumable downloads, the offline outbox and local inference, "
    "of a device agent driven by the agent harness",
    applies=lambda _info: None,
    agent=True,
)

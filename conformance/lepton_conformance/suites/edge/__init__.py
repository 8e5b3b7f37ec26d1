"""The edge suite: the edge-fleet profile, which certifies a fleet server hosting
lepton.edge.v1 EdgeService and DeviceAgentService (spec/edge.md sections 5.1 to 5.9): the
device registry and approval, registration and device authentication, the Sync twin,
deployments, WatchDevices, rollouts with their release checks, artifacts and telemetry, with
its clients (devices the suite plays itself, each registering with an Ed25519 device key and
driving a Sync stream); and the edge-agent profile, which certifies a device
agent (section 5.10) with the agent harness (agent_rig.py): a fake fleet server and the
agent's process, started from the run's --agent-command."""

from __future__ import annotations

from lepton_conformance.harness.suite import Suite
from lepton_conformance.suites.edge import (
    agent_reregistration,
    agent_sync,
    agent_telemetry,
    agent_updates,
    artifacts,
    commands,
    deployments,
    device_watch,
    devices,
    discovery,
    feature_probes,
    registration,
    releases,
    rollout_gates,
    rollout_pacing,
    rollout_targets,
    rollouts,
    sync,
    telemetry,
)
from lepton_conformance.suites.edge.profiles import AGENT, FLEET

SUITE = Suite(
    "edge",
    profiles=(FLEET, AGENT),
    case_lists=(
        discovery.CASES,
        devices.CASES,
        registration.CASES,
        sync.CASES,
        commands.CASES,
        deployments.CASES,
        device_watch.CASES,
        releases.CASES,
        rollouts.CASES,
        rollout_pacing.CASES,
        rollout_gates.CASES,
        rollout_targets.CASES,
        telemetry.CASES,
        artifacts.CASES,
        agent_sync.CASES,
        agent_updates.CASES,
        agent_telemetry.CASES,
        agent_reregistration.CASES,
    ),
    probes=feature_probes.SERVICE_PROBES,
    probe_features=feature_probes.probe_features,
)

"""The edge layer (spec/edge.md): the fleet server of devices, deployments, rollouts, their
artifacts and telemetry (lepton.edge.v1)."""

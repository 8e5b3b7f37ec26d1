"""The edge layer (lepton.edge.v1): the fleet server behind EdgeService and
DeviceAgentService."""

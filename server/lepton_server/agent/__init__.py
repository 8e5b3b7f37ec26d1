"""The device agent, `lepton agent`: registers a device with a fleet server, installs the
releases its desired state names, serves them over the Open Inference Protocol, and keeps
telemetry in a persistent outbox until the fleet acknowledges it (spec/edge.md, 5.10)."""

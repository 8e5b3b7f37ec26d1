"""The edge layer (spec/edge.md): the fleet server of lepton.edge.v1."""

"""The edge layer (spec/edge.md)."""

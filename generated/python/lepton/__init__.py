"""Generated bindings of the Lepton AI Infrastructure Standard."""

# The version of the standard these contracts belong to (spec/general.md).
SPEC_VERSION = "1.0.0-draft"

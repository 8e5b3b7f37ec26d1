"""Conformance suite of the Lepton AI Infrastructure Standard.

A pure gRPC client: it imports the generated bindings and never the reference server, so a
vendor can certify an implementation written in any language.
"""

SUITE_VERSION = "0.1.0"
# The version of the standard these cases check (spec/general.md).
SPEC_VERSION = "1.0.0-draft"

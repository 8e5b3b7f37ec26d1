"""Conformance suite of the Lepton AI Infrastructure Standard.

A pure gRPC client: it imports the generated bindings and never the reference server, so a
vendor can certify an implementation written in any language.
"""

from importlib import metadata

from lepton import SPEC_VERSION  # the version of the standard these cases check

SUITE_VERSION = metadata.version("lepton-conformance")

__all__ = ["SPEC_VERSION", "SUITE_VERSION"]

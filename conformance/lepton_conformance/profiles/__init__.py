"""The conformance profiles. Importing this package registers every profile and case."""

from lepton_conformance.profiles import general, inference  # noqa: F401

"""The conformance profiles. Importing this package registers every profile and case."""

from lepton_conformance.profiles import general  # noqa: F401

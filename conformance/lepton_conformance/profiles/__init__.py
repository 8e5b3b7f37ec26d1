"""The conformance profiles. Importing this package registers every profile and case, in the
order the runner runs them: the general profile first, then each layer's."""

from lepton_conformance.profiles import general, inference, data, data_jobs, data_flight, processing  # noqa: F401, I001

"""Python SDK of the Lepton AI Infrastructure Standard."""

from lepton_ai.errors import LeptonAIError, from_rpc_error

__all__ = ["LeptonAIError", "from_rpc_error"]
__version__ = "0.1.0"

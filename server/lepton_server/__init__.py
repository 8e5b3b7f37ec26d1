"""Reference servers of the Lepton AI Infrastructure Standard."""

from importlib import metadata

__version__ = metadata.version("lepton-server")
SERVER_NAME = "lepton-reference-server"

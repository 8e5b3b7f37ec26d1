"""Reference servers of the Lepton AI Infrastructure Standard."""

__version__ = "0.1.0"
SERVER_NAME = "lepton-reference-server"
SPEC_VERSION = "1.0.0-draft"

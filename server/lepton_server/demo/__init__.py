"""`lepton demo`: a server on loopback, the end-to-end flow as far as it exists, and the
conformance verdicts."""

from lepton_server.demo.walkthrough import run_demo

__all__ = ["run_demo"]

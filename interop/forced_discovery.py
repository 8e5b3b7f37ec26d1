"""`lepton-conformance` with the OIP service forced into discovery, for "before" numbers only.

    python interop/forced_discovery.py run --target 127.0.0.1:PORT ...

Until the suite discovers services without gRPC reflection (issue 9), a server such as Triton or
MLServer skips every inference case. This shim adds `inference.GRPCInferenceService` to what
discovery found, so the inference cases run and the counts show how the server fares on them.
It patches the suite's runner by attribute and stops working when discovery moves.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from lepton_conformance import cli
from lepton_conformance.harness import runner
from lepton_conformance.harness.target import TargetInfo

OIP_SERVICE = "inference.GRPCInferenceService"
_discover = runner.discover


def _forced(channel, timeout_s: float) -> TargetInfo:
    info = _discover(channel, timeout_s)
    return replace(info, services=info.services | {OIP_SERVICE})


if __name__ == "__main__":
    runner.discover = _forced
    sys.exit(cli.main(sys.argv[1:]))

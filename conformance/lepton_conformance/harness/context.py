"""What a case body gets: the target's channel, its discovered facts and call settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc

from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.target import TargetInfo, TargetOptions


@dataclass
class CaseContext:
    """Shared by the cases of one run. Cases must not close `channel`."""

    options: TargetOptions
    info: TargetInfo
    channel: grpc.Channel
    # Facts a profile learns once per run (e.g. the inference extensions).
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def timeout(self) -> float:
        return self.options.timeout_s

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the bearer token, when one was given."""
        return self.options.metadata

    def require_service(self, service: str) -> None:
        """Skip the case unless the target serves `service`."""
        if not self.info.serves(service):
            raise Skipped(f"the target does not serve {service}")

    def require_feature(self, service: str, feature: str) -> None:
        """Skip the case unless the target claims `feature` on `service` (GEN-032)."""
        self.require_service(service)
        if not self.info.has_feature(service, feature):
            raise Skipped(f"the target does not claim feature {feature!r} of {service}")

"""What a case body gets: the target's channel, its discovered facts and call settings."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc

from lepton_conformance.harness.case import NotApplicable
from lepton_conformance.harness.target import TargetInfo, TargetOptions


@dataclass
class CaseContext:
    """Shared by the cases of one run. Cases must not close `channel`."""

    options: TargetOptions
    info: TargetInfo
    channel: grpc.Channel
    # Facts a profile learns once per run (e.g. the inference extensions).
    cache: dict[str, Any] = field(default_factory=dict)
    # The optional features the running case needed and found; the runner clears it before
    # each case and records it in the case's result (what a certificate covers).
    features_used: set[str] = field(default_factory=set)
    # What cases start for the whole run (an agent process, a fake fleet server); the runner
    # closes it after the last case.
    closing: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def uses_feature(self, feature: str) -> None:
        """Record that the running case checks optional feature `feature`."""
        self.features_used.add(feature)

    @property
    def timeout(self) -> float:
        return self.options.timeout_s

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the bearer token, when one was given."""
        return self.options.metadata

    def require_service(self, service: str) -> None:
        """The case does not apply unless the target serves `service`."""
        if not self.info.serves(service):
            raise NotApplicable(f"the target does not serve {service}", service)

    def require_feature(self, service: str, feature: str) -> None:
        """The case does not apply unless the target claims `feature` on `service` (GEN-032)."""
        self.require_service(service)
        if not self.info.has_feature(service, feature):
            raise NotApplicable(
                f"the target does not claim feature {feature!r} of {service}", feature
            )
        self.uses_feature(feature)

    @contextlib.contextmanager
    def on_connections(self, count: int) -> Iterator[list[CaseContext]]:
        """`count` contexts like this one, each on a new connection of its own to the target,
        closed on exit: for what must hold on every connection to one address, whichever of
        several processes behind it a connection lands on."""
        with contextlib.ExitStack() as opened:
            channels = [
                opened.enter_context(
                    self.options.open_channel([("grpc.use_local_subchannel_pool", 1)])
                )
                for _ in range(count)
            ]
            yield [dataclasses.replace(self, channel=channel) for channel in channels]

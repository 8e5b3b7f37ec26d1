"""The annotation layer as the host sees it: the flags it owns, its config, and how it is
built. Importing this module declares flags only; the service loads when `build` runs
(services.py)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import Layer


@dataclass(frozen=True)
class AnnotationConfig:
    """Settings of the annotation layer."""

    # The data layer whose versions projects label (HOST:PORT); None: this server's own.
    data_address: str | None = None
    # The inference service prediction jobs call (HOST:PORT); None: this server's own, when
    # it hosts one (else prediction jobs are not offered).
    inference_address: str | None = None


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The annotation layer's flags of `lepton serve`."""
    group.add_argument(
        "--annotation-data-address",
        metavar="HOST:PORT",
        help="the data layer whose dataset versions projects label, when this server hosts "
        "none (default: its own)",
    )
    group.add_argument(
        "--annotation-inference-address",
        metavar="HOST:PORT",
        help="the inference service prediction jobs call (default: this server's, when it "
        "hosts the inference layer)",
    )


def configure(options: argparse.Namespace) -> AnnotationConfig:
    """The annotation layer's config from parsed options."""
    return AnnotationConfig(
        data_address=options.annotation_data_address,
        inference_address=options.annotation_inference_address,
    )


def build(server: ServerConfig, config: AnnotationConfig) -> list[HostedService]:
    """The annotation layer's services (services.build)."""
    from lepton_server.annotation import services  # noqa: PLC0415  (heavy: loaded when hosted)

    return services.build(server, config)


LAYER = Layer(AnnotationConfig, add_arguments, configure, build)

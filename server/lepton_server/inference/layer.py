"""The inference layer as the host sees it: the flags it owns, its config, and how it is
built. Importing this module declares flags only; onnxruntime and the engine load when
`build` runs (services.py)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import Layer


@dataclass(frozen=True)
class InferenceConfig:
    """Settings of the inference layer."""

    # The model repository (Triton's layout); None serves no model.
    model_repository: Path | None = None


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The inference layer's flags of `lepton serve`."""
    group.add_argument("--model-repository", type=Path, help="directory of models to serve")


def configure(options: argparse.Namespace) -> InferenceConfig:
    """The inference layer's config from parsed options."""
    return InferenceConfig(model_repository=options.model_repository)


def build(server: ServerConfig, config: InferenceConfig) -> list[HostedService]:
    """The inference layer's services (services.build)."""
    from lepton_server.inference import services  # noqa: PLC0415  (heavy: loaded when hosted)

    return services.build(server, config)


LAYER = Layer(InferenceConfig, add_arguments, configure, build)

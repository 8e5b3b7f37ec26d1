"""The inference layer as the host sees it: the flags it owns, its config, and how it is
built. Importing this module declares flags only; onnxruntime and the engine load when
`build` runs (services.py)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from lepton_server.config import ServerConfig
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import SHARED, Layer
from lepton_server.runtime.startup_errors import StartupError


@dataclass(frozen=True)
class InferenceConfig:
    """Settings of the inference layer."""

    # The model repository (Triton's layout); None serves no model.
    model_repository: Path | None = None
    # HOST:PORT of a model registry whose READY ONNX versions this server also serves
    # (spec/inference.md §12); None with the registry layer hosted here serves its models.
    model_registry: str | None = None


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The inference layer's flags of `lepton serve`."""
    group.add_argument("--model-repository", type=Path, help="directory of models to serve")
    group.add_argument(
        "--model-registry",
        metavar="HOST:PORT",
        help="a model registry whose READY ONNX versions to serve, by number or alias "
        "(default: this server's own registry, when it hosts one)",
    )


def configure(options: argparse.Namespace) -> InferenceConfig:
    """The inference layer's config from parsed options."""
    if options.model_registry is not None:
        _, colon, port = options.model_registry.rpartition(":")
        if not colon or not port.isdigit():
            raise StartupError("--model-registry must be HOST:PORT")
    return InferenceConfig(
        model_repository=options.model_repository, model_registry=options.model_registry
    )


def build(server: ServerConfig, config: InferenceConfig) -> list[HostedService]:
    """The inference layer's services (services.build)."""
    from lepton_server.inference import services  # noqa: PLC0415  (heavy: loaded when hosted)

    return services.build(server, config)


# The deployment's models, one engine for every tenant (as Triton's are).
LAYER = Layer(InferenceConfig, add_arguments, configure, build, tenancy=SHARED)

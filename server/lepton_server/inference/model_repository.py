"""The model repository: `<root>/<model>/<version>/model.onnx` plus an optional
`<root>/<model>/config.json`, and which versions are loaded (extension `model_repository`).

config.json takes Triton's names for the same ideas:

    {"max_batch_size": 8,
     "dynamic_batching": {"max_queue_delay_microseconds": 100},
     "version_policy": {"latest": {"num_versions": 1}} | {"all": {}}
                       | {"specific": {"versions": [1, 3]}},
     "intra_op_threads": 1}
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_server.inference.batcher import ExecutionCost
from lepton_server.inference.onnx_model import OnnxModel, UnsupportedModelError
from lepton_server.inference.statistics import ModelStatistics
from lepton_server.inference.wire import ResponseHeaders
from lepton_server.runtime.errors import FailedPrecondition, NotFound, Unavailable
from lepton_server.runtime.principals import DEFAULT_TENANT, current_tenant

if TYPE_CHECKING:
    from lepton_server.inference.registry_models import RegistryModels

log = logging.getLogger(__name__)
MODEL_FILE = "model.onnx"
CONFIG_FILE = "config.json"


class ConfigError(ValueError):
    """config.json is malformed."""


@dataclass(frozen=True)
class ModelConfig:
    """Per-model settings from config.json."""

    max_batch_size: int = 0
    dynamic_batching: bool = False
    max_queue_delay_s: float = 0.0
    policy: str = "latest"  # latest | all | specific
    num_versions: int = 1
    versions: tuple[int, ...] = ()
    intra_op_threads: int = 1

    @classmethod
    def read(cls, path: Path) -> ModelConfig:
        if not path.exists():
            return cls()
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
            batching = raw.get("dynamic_batching")
            policy = raw.get("version_policy", {"latest": {"num_versions": 1}})
            ((kind, settings),) = policy.items()
            config = cls(
                max_batch_size=int(raw.get("max_batch_size", 0)),
                dynamic_batching=batching is not None,
                max_queue_delay_s=int((batching or {}).get("max_queue_delay_microseconds", 0))
                / 1e6,
                policy=kind,
                num_versions=int(settings.get("num_versions", 1)) if kind == "latest" else 0,
                versions=tuple(int(v) for v in settings.get("versions", ()))
                if kind == "specific"
                else (),
                intra_op_threads=int(raw.get("intra_op_threads", 1)),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if config.policy not in ("latest", "all", "specific") or config.max_batch_size < 0:
            raise ConfigError(f"{path}: unsupported version_policy or max_batch_size")
        return config

    def selects(self, available: list[int]) -> list[int]:
        """The versions this policy loads, ascending."""
        if self.policy == "all":
            return sorted(available)
        if self.policy == "specific":
            return sorted(v for v in available if v in self.versions)
        return sorted(available)[-self.num_versions :] if self.num_versions > 0 else []


@dataclass
class LoadedVersion:
    """One version ready to serve: its runtime model, config and statistics."""

    name: str
    version: str
    model: OnnxModel
    config: ModelConfig
    statistics: ModelStatistics
    # Set by the engine: the dynamic batcher for this version, when the config asks for one.
    batcher: Any = None
    # Serialized response headers of this version's recent output shapes.
    headers: ResponseHeaders = field(init=False)
    # Request layouts (names, datatypes, shapes, outputs) that passed validation before.
    layouts: dict[tuple, tuple] = field(default_factory=dict)
    # How long executions take: cheap ones run on the event loop (inference/batcher.py).
    cost: ExecutionCost = field(default_factory=ExecutionCost)

    def __post_init__(self) -> None:
        self.headers = ResponseHeaders(self.name, self.version)


@dataclass
class ModelEntry:
    """A model directory: its loaded versions and the state of every version it has."""

    loaded: dict[str, LoadedVersion] = field(default_factory=dict)
    states: dict[str, tuple[str, str]] = field(default_factory=dict)  # version -> (state, why)


def _versions_on_disk(model_dir: Path) -> list[int]:
    return sorted(
        int(p.name)
        for p in model_dir.iterdir()
        if p.is_dir()
        and p.name.isdigit()
        and not p.name.startswith("0")
        and (p / MODEL_FILE).exists()
    )


class ModelRepository:
    """Models found under one root directory and the versions loaded from them."""

    def __init__(self, root: Path | None, name: str = "") -> None:
        self.root = root
        self.name = name or (root.name if root else "")
        self._models: dict[str, ModelEntry] = {}
        self._lock = threading.Lock()
        # The models of a registry served beside the directory's (registry_models.py); a
        # directory model of the same name comes first.
        self.registry: RegistryModels | None = None

    def model_names(self) -> list[str]:
        """Model directories in the repository, sorted."""
        if self.root is None or not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def load_all(self) -> None:
        """Load every model at start; a model that fails is logged and left UNAVAILABLE."""
        for name in self.model_names():
            try:
                self.load(name)
            except FailedPrecondition as exc:
                log.warning("model %s did not load: %s", name, exc.message)

    def load(self, name: str) -> list[LoadedVersion]:
        """(Re)load `name` per its version policy. Blocking: run it off the event loop.

        On failure the versions loaded before keep serving (INF-071)."""
        if name not in self.model_names():
            raise NotFound(
                reason="MODEL_NOT_FOUND",
                message=f"the repository has no model {name!r}",
                metadata={"model": name},
            )
        model_dir = self.root / name
        try:
            config = ModelConfig.read(model_dir / CONFIG_FILE)
            selected = config.selects(_versions_on_disk(model_dir))
            if not selected:
                raise UnsupportedModelError("no version directory with a model.onnx")
            loaded = {
                str(v): LoadedVersion(
                    name,
                    str(v),
                    OnnxModel(model_dir / str(v) / MODEL_FILE, config.intra_op_threads),
                    config,
                    ModelStatistics(name, str(v)),
                )
                for v in selected
            }
        except (ConfigError, UnsupportedModelError, OSError) as exc:
            with self._lock:
                entry = self._models.setdefault(name, ModelEntry())
                if not entry.loaded:
                    entry.states = {"": ("UNAVAILABLE", str(exc))}
            raise FailedPrecondition(
                reason="MODEL_LOAD_FAILED",
                message=f"model {name!r} did not load: {exc}",
                metadata={"model": name},
            ) from exc
        with self._lock:
            entry = ModelEntry(loaded=loaded)
            entry.states = {
                v: ("UNAVAILABLE", "not selected by the version policy")
                for v in map(str, _versions_on_disk(model_dir))
            }
            entry.states.update({v: ("READY", "") for v in loaded})
            self._models[name] = entry
        return list(loaded.values())

    def unload(self, name: str) -> list[LoadedVersion]:
        """Stop serving every version of `name`; returns what was unloaded."""
        if name not in self.model_names() and name not in self._models:
            raise NotFound(
                reason="MODEL_NOT_FOUND",
                message=f"the repository has no model {name!r}",
                metadata={"model": name},
            )
        with self._lock:
            entry = self._models.get(name)
            if entry is None:
                return []
            unloaded = list(entry.loaded.values())
            entry.loaded = {}
            entry.states = {v: ("UNAVAILABLE", "unloaded") for v in entry.states if v}
            return unloaded

    def get(self, name: str, version: str) -> LoadedVersion:
        """The version to run: `version`, or the highest loaded one when empty (INF-010/011);
        for a registry model, `version` may also be an alias (spec/inference.md §12)."""
        entry = self._models.get(name)
        if entry is None:
            if name in self.model_names():
                raise _not_ready(name, version)
            registry = self._followed()
            if registry is not None and registry.has(name):
                return registry.get(name, version)
            raise NotFound(
                reason="MODEL_NOT_FOUND",
                message=f"unknown model {name!r}",
                metadata={"model": name},
            )
        if not version:
            if not entry.loaded:
                raise _not_ready(name, version)
            return entry.loaded[max(entry.loaded, key=int)]
        found = entry.loaded.get(version)
        if found is not None:
            return found
        if version in entry.states:
            raise _not_ready(name, version)
        raise NotFound(
            reason="MODEL_VERSION_NOT_FOUND",
            message=f"model {name!r} has no version {version!r}",
            metadata={"model": name, "version": version},
        )

    def loaded_versions(self, name: str | None = None) -> list[LoadedVersion]:
        """Every loaded version (of `name`, when given), by name then version."""
        with self._lock:
            entries = sorted(self._models.items())
        loaded = [
            entry.loaded[v]
            for model, entry in entries
            if name is None or model == name
            for v in sorted(entry.loaded, key=int)
        ]
        registry = self._followed()
        if registry is not None and (name is None or name not in self._models):
            loaded += registry.loaded_versions(name)
        return loaded

    def _followed(self) -> RegistryModels | None:
        """The registry's models, to a call of the default tenant only: the registry followed
        is that tenant's, whose models no other tenant may see (spec/general.md GEN-019)."""
        return self.registry if current_tenant() == DEFAULT_TENANT else None

    def index(self) -> list[tuple[str, str, str, str]]:
        """(name, version, state, reason) of every model and version, sorted (INF-070)."""
        rows: list[tuple[str, str, str, str]] = []
        with self._lock:
            models = dict(self._models)
        for name in sorted(set(self.model_names()) | set(models)):
            entry = models.get(name)
            if entry is None or not entry.states:
                rows.append((name, "", "", ""))
                continue
            for version in sorted(entry.states, key=lambda v: int(v) if v else 0):
                state, reason = entry.states[version]
                rows.append((name, version, state, reason))
        return rows


def _not_ready(name: str, version: str) -> Unavailable:
    what = f"model {name!r}" + (f" version {version!r}" if version else "")
    return Unavailable(
        reason="MODEL_NOT_READY",
        message=f"{what} is not loaded",
        metadata={"model": name, **({"version": version} if version else {})},
    )

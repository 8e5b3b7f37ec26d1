"""Models served from a model registry (spec/inference.md §12, spec/registry.md "Serving
registry models"): every READY ONNX version of every registered model, under the model ID,
by version number or alias.

The registry is reached over gRPC, on another server (`--model-registry HOST:PORT`) or on this
one, so an inference replica keeps no state of its own and scales out. A background thread
follows the registry's event stream (replayed from the start, resumed from the last sequence
after a break, resynchronised in full when retention has dropped events): on each event it
resynchronises the model concerned, downloading and loading new READY ONNX versions *before*
it swaps in the model's new alias map. Requests read that map without a lock or a network
call, so an alias move switches traffic without failing a request (INF-090, REG-056)."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from lepton.registry.v1 import model_registry_service_pb2 as reg
from lepton.registry.v1 import model_registry_service_pb2_grpc as reg_grpc
from lepton.registry.v1.model_version_pb2 import ModelVersion
from lepton_server.inference.model_repository import LoadedVersion, ModelConfig
from lepton_server.inference.onnx_model import OnnxModel, UnsupportedModelError
from lepton_server.inference.statistics import ModelStatistics
from lepton_server.runtime.errors import NotFound

log = logging.getLogger(__name__)

SERVED = "state = READY AND artifact.format = ONNX"
RETRY_SECONDS = 1.0
CHUNK = 3 * 1024 * 1024


def served_version(label: str) -> tuple[bool, str]:
    """(is an alias, ID) of an OIP `model_version`: digits name a version, anything else an
    alias, and "" the alias `latest`."""
    if label.isdigit():
        return False, label
    return True, label or "latest"


@dataclass(frozen=True)
class RegistryModel:
    """One model as served: its loaded versions (number -> LoadedVersion) and where each
    alias points (alias ID -> number; `latest` included when it is served)."""

    versions: dict[str, LoadedVersion]
    aliases: dict[str, str]


@dataclass
class RegistryModels:
    """The served READY ONNX versions of one registry, kept current by its event stream."""

    cache_dir: Path
    token: str | None = None
    # Whether ServerReady waits for the first read of the registry (a replica serving only
    # a remote registry); a server with models of its own is ready without it.
    gates_readiness: bool = False
    _models: dict[str, RegistryModel] = field(default_factory=dict)
    # Digests of artifacts that failed to load: not tried again.
    _unservable: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    synced: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _channel: grpc.Channel | None = None

    # --- requests (event loop; no lock, no network) -----------------------------------------

    def has(self, name: str) -> bool:
        return name in self._models

    def get(self, name: str, label: str) -> LoadedVersion:
        """The version a request names: a number, an alias, or "" for `latest`."""
        model = self._models[name]
        is_alias, ident = served_version(label)
        number = model.aliases.get(ident) if is_alias else ident
        loaded = model.versions.get(number) if number is not None else None
        if loaded is None:
            what = f"alias {ident!r}" if is_alias else f"version {ident!r}"
            raise NotFound(
                reason="MODEL_VERSION_NOT_FOUND",
                message=f"model {name!r} serves no {what} (READY ONNX versions only)",
                metadata={"model": name, "version": label},
            )
        return loaded

    def loaded_versions(self, name: str | None = None) -> list[LoadedVersion]:
        models = dict(self._models)
        return [
            models[m].versions[v]
            for m in sorted(models)
            if name is None or m == name
            for v in sorted(models[m].versions, key=int)
        ]

    # --- following the registry (its own thread) ------------------------------------------

    def start(self, address: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        """Connect to the registry at `address` (over TLS with `credentials`) and follow it
        until `close`."""
        options = [("grpc.max_receive_message_length", 2 * CHUNK)]
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self._stub = reg_grpc.ModelRegistryServiceStub(self._channel)
        self._thread = threading.Thread(target=self._follow, name="lepton-registry-models")
        self._thread.daemon = True
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._channel is not None:
            self._channel.close()

    @property
    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def _follow(self) -> None:
        next_sequence = 0
        while not self._stop.is_set():
            try:
                next_sequence = self._watch(next_sequence)
            except grpc.RpcError as error:
                if self._stop.is_set():
                    return
                log.warning("registry stream broke (%s); resuming", error.code().name)
            except Exception as exc:  # keep following whatever goes wrong
                log.warning("registry models: resynchronising failed: %s", exc)
            self._stop.wait(RETRY_SECONDS)

    def _watch(self, start: int) -> int:
        """Replay from `start` (0: everything retained) and follow live; returns where to
        resume. A full resynchronisation comes first, and again when events were dropped."""
        if start == 0:
            self._sync_all()
        request = reg.WatchModelEventsRequest(start_sequence=start)
        for response in self._stub.WatchModelEvents(request, metadata=self._metadata):
            if response.start_truncated:
                self._sync_all()
            for model in dict.fromkeys(e.model for e in response.events):
                self._sync(model.removeprefix("models/"))
            if response.events:
                start = response.events[-1].sequence + 1
            self.synced.set()
            if self._stop.is_set():
                break
        return start

    def _sync_all(self) -> None:
        names: list[str] = []
        token = ""
        while True:
            page = self._stub.ListModels(
                reg.ListModelsRequest(page_size=1000, page_token=token), metadata=self._metadata
            )
            names += [m.name.removeprefix("models/") for m in page.models]
            token = page.next_page_token
            if not token:
                break
        for gone in set(self._models) - set(names):
            self._models.pop(gone, None)
        for name in names:
            self._sync(name)
        self.synced.set()

    def _sync(self, model_id: str) -> None:
        """Load the model's new READY ONNX versions, then swap in its versions and aliases."""
        try:
            model = self._stub.GetModel(
                reg.GetModelRequest(name=f"models/{model_id}"), metadata=self._metadata
            ).model
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                self._models.pop(model_id, None)
                return
            raise
        listed = self._stub.ListModelVersions(
            reg.ListModelVersionsRequest(parent=model.name, filter=SERVED, page_size=1000),
            metadata=self._metadata,
        ).model_versions
        current = self._models.get(model_id)
        versions: dict[str, LoadedVersion] = {}
        for version in listed:
            number = version.name.rsplit("/", 1)[1]
            digest = version.artifact.descriptor.digest.hex
            if current is not None and number in current.versions:
                versions[number] = current.versions[number]
            elif digest not in self._unservable:
                try:
                    versions[number] = load_version(model_id, number, self._fetch(version))
                except (UnsupportedModelError, OSError, ValueError) as exc:
                    # Registered as ONNX but not a model onnxruntime runs: skip it (once).
                    self._unservable.add(digest)
                    log.warning("%s is not served: %s", version.name, exc)
        aliases = {
            alias: target.rsplit("/", 1)[1]
            for alias, target in [*model.aliases.items(), ("latest", model.latest_version)]
            if target and target.rsplit("/", 1)[1] in versions
        }
        self._models[model_id] = RegistryModel(versions, aliases)

    def _fetch(self, version: ModelVersion) -> Path:
        """The version's ONNX file in the cache, downloaded once per digest and verified."""
        digest = version.artifact.descriptor.digest.hex
        path = self.cache_dir / f"{digest}.onnx"
        if path.exists():
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        hasher = hashlib.sha256()
        request = reg.DownloadModelVersionArtifactRequest(name=version.name)
        with partial.open("wb") as sink:
            for message in self._stub.DownloadModelVersionArtifact(
                request, metadata=self._metadata
            ):
                if message.WhichOneof("payload") == "chunk":
                    data = message.chunk.data  # upb copies bytes at every access
                    sink.write(data)
                    hasher.update(data)
        if hasher.hexdigest() != digest:
            partial.unlink(missing_ok=True)
            raise ValueError(f"{version.name}: downloaded bytes do not match sha256 {digest}")
        partial.replace(path)
        return path


def load_version(model: str, number: str, path: Path) -> LoadedVersion:
    """A registry version as the engine serves it (no batching: a registry version carries
    no serving configuration)."""
    return LoadedVersion(
        model, number, OnnxModel(path), ModelConfig(), ModelStatistics(model, number)
    )

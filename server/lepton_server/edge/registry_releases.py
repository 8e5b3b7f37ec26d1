"""Releases of registry model versions (spec/edge.md §2.6, EDG-123): on a fleet server with
a registry (hosted beside it, or at `--edge-registry-address`), CreateRollout resolves the
release's `model_version`, a version or an alias, to its concrete version, fills an unset
artifact, entry path and format from it, and brings the version's artifact into the fleet's
artifact store, so devices download from the fleet what the registry holds. Signatures are
checked afterwards, over the filled release: a publisher signs what the server stores.

The registry is called over gRPC through the SDK (runtime/layer_calls.py), in a thread."""

from __future__ import annotations

import asyncio
import shutil
import tempfile

from lepton.edge.v1 import release_pb2
from lepton.registry.v1 import model_version_pb2
from lepton.type.v1 import model_format_pb2
from lepton_ai.errors import LeptonAIError
from lepton_ai.registry import ModelRegistry
from lepton_server.config import ServerConfig
from lepton_server.edge.artifact_store import ArtifactStore
from lepton_server.registry.model_names import parse_version
from lepton_server.runtime.errors import FailedPrecondition, LeptonError
from lepton_server.runtime.layer_calls import as_lepton_error, client_options

READY = model_version_pb2.MODEL_VERSION_STATE_READY


class RegistryReleases:
    """The model versions of one registry as releases take them."""

    def __init__(self, server: ServerConfig, artifacts: ArtifactStore, address: str | None):
        self._server = server
        self._artifacts = artifacts
        # None: the registry this server hosts, reached at its own address once it listens.
        self._address = address
        self._registry: ModelRegistry | None = None

    def connect(self, own_address: str) -> None:
        address = self._address or own_address
        options = client_options(self._server, address == own_address)
        self._registry = ModelRegistry.connect(address, **options)

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()

    async def fill(
        self, release: release_pb2.ModelRelease, field: str = "rollout.release"
    ) -> release_pb2.ModelRelease:
        """`release` as CreateRollout checks it. One naming an alias or without an artifact
        is resolved: a copy naming the concrete version, its unset artifact, entry path and
        format filled from it; INVALID_NAME for a malformed name, the registry's NOT_FOUND
        for a version or alias it lacks, FAILED_PRECONDITION/VERSION_NOT_READY for a version
        whose artifact is not there yet. A complete release is returned as it is: it may
        name a version of another registry."""
        reference = parse_version(
            release.model_version, f"{field}.model_version", alias_allowed=True
        )
        if reference.alias is None and release.HasField("artifact"):
            await self._bring_artifact(release)
            return release
        version = await asyncio.to_thread(self._version, release.model_version)
        if version.state != READY:
            raise FailedPrecondition(
                reason="VERSION_NOT_READY",
                message=f"{version.name} is not READY: its artifact is not available",
                metadata={"resource_name": version.name},
            )
        filled = release_pb2.ModelRelease()
        filled.CopyFrom(release)
        filled.model_version = version.name
        if not filled.HasField("artifact"):
            filled.artifact.CopyFrom(version.artifact.descriptor)
            filled.entry_path = version.artifact.entry_path
        if filled.format == model_format_pb2.ModelFormat.MODEL_FORMAT_UNSPECIFIED:
            filled.format = version.artifact.format
        await self._bring_artifact(filled, version)
        return filled

    async def _bring_artifact(
        self,
        release: release_pb2.ModelRelease,
        version: model_version_pb2.ModelVersion | None = None,
    ) -> None:
        """Copy the release's artifact from the registry into the fleet's store when the
        store lacks it and the registry's version holds exactly it; otherwise leave it to
        CreateRollout's ARTIFACT_NOT_AVAILABLE check."""
        sha256 = release.artifact.digest.hex
        if self._artifacts.stored(sha256) is not None:
            return
        if version is None:
            try:
                version = await asyncio.to_thread(self._version, release.model_version)
            except LeptonError:
                return  # not this registry's version: the store's check decides
        if version.state == READY and version.artifact.descriptor.digest.hex == sha256:
            await asyncio.to_thread(self._import_artifact, version)

    def _version(self, name: str) -> model_version_pb2.ModelVersion:
        assert self._registry is not None, "connect() runs when the server starts"
        try:
            return self._registry.version(name)
        except LeptonAIError as error:
            raise as_lepton_error(error) from None

    def _import_artifact(self, version: model_version_pb2.ModelVersion) -> None:
        """Copy the version's artifact into the fleet's store: downloaded (and verified
        against its SHA-256 by the SDK) next to the store, then moved in."""
        assert self._registry is not None
        imports = self._artifacts.root / "imports"
        imports.mkdir(parents=True, exist_ok=True)
        directory = tempfile.mkdtemp(dir=imports)
        try:
            path = self._registry.download(version.name, f"{directory}/artifact")
            self._artifacts.adopt_file(path, version.artifact.descriptor)
        except LeptonAIError as error:
            raise as_lepton_error(error) from None
        finally:
            shutil.rmtree(directory, ignore_errors=True)

"""`ModelRegistry`: a server's model registry (lepton.registry.v1.ModelRegistryService) as
Python calls on models, files and fitted estimators.

    with ModelRegistry.connect("localhost:50051") as registry:
        version = registry.register(estimator, "churn", metrics={"auc": 0.91}, alias="candidate")
        onnx = registry.convert(version.name)                  # a new ONNX version, verified
        registry.set_alias("churn", "prod", onnx.output_model_version)
        session = registry.load("models/churn/aliases/prod")   # an onnxruntime session

Uploads and downloads resume after a broken connection and show a progress bar on a
terminal. Failed calls raise `lepton_ai.errors.LeptonAIError` subclasses; a failed job
raises `JobFailedError`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.registry.v1 import conversion_job_pb2, model_pb2, model_version_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.type.v1 import (
    artifact_pb2,
    attestation_pb2,
    model_artifact_pb2,
    model_signature_pb2,
)
from lepton.type.v1 import model_format_pb2 as formats
from lepton_ai.client import JobMethods, ServiceClient
from lepton_ai.errors import AlreadyExistsError, FailedPreconditionError, InvalidArgumentError
from lepton_ai.registry import artifact_transfer, dsse_envelopes
from lepton_ai.registry.model_packaging import estimator_signature, package


def model_name(model: str) -> str:
    """`models/{model}` for a model ID or name."""
    return model if model.startswith("models/") else f"models/{model}"


class ModelRegistry(ServiceClient):
    """Registered models, versions, aliases, transfers and conversions over one channel."""

    def _create_stubs(self, channel: grpc.Channel) -> None:
        super()._create_stubs(channel)
        self._registry = pb_grpc.ModelRegistryServiceStub(channel)
        self._conversions = JobMethods(
            self._registry.CreateConversionJob,
            self._registry.WatchConversionJob,
            pb.WatchConversionJobRequest,
            "conversion_job",
        )

    # --- models ---------------------------------------------------------------------------

    def create_model(
        self,
        model: str,
        *,
        display_name: str = "",
        description: str = "",
        labels: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> model_pb2.Model:
        """Create the model `model` (an ID or `models/{id}`); with `exist_ok`, return the
        existing one instead of raising AlreadyExistsError."""
        name = model_name(model)
        request = pb.CreateModelRequest(
            model_id=name.removeprefix("models/"),
            model=model_pb2.Model(
                display_name=display_name, description=description, labels=labels or {}
            ),
        )
        try:
            return self.call(self._registry.CreateModel, request).model
        except AlreadyExistsError:
            if not exist_ok:
                raise
            return self.model(name)

    def model(self, model: str) -> model_pb2.Model:
        """The model, with its aliases and latest READY version."""
        return self.call(self._registry.GetModel, pb.GetModelRequest(name=model_name(model))).model

    def models(self, filter: str = "", order_by: str = "") -> Iterator[model_pb2.Model]:
        """Every model matching `filter`, lazily, page by page."""
        request = pb.ListModelsRequest(page_size=100, filter=filter, order_by=order_by)
        return self.paginate(self._registry.ListModels, request, "models")

    # --- versions ---------------------------------------------------------------------------

    def register(
        self,
        source: Any,
        model: str,
        *,
        format: int | None = None,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        signature: model_signature_pb2.ModelSignature | None = None,
        alias: str | None = None,
    ) -> model_version_pb2.ModelVersion:
        """Register `source` (a path to a file or directory, or a fitted estimator) as the next
        version of `model` (created when missing), upload it, and point `alias` at it. A
        scikit-learn estimator gets its signature from what it was fitted on unless one is
        given. The version is READY when this returns; content the registry already holds is
        not sent again."""
        packed = package(source, format)
        name = self.create_model(model, exist_ok=True).name
        descriptor = artifact_transfer.descriptor_of(packed)
        version = model_version_pb2.ModelVersion(
            description=description,
            labels=labels or {},
            metrics=metrics or {},
            artifact=model_artifact_pb2.ModelArtifact(
                descriptor=descriptor, format=packed.format, entry_path=packed.entry_path
            ),
            framework=packed.framework,
            framework_version=packed.framework_version,
        )
        signature = signature or estimator_signature(source)
        if signature is not None:
            version.signature.CopyFrom(signature)
        request = pb.CreateModelVersionRequest(parent=name, model_version=version)
        created = self.call(self._registry.CreateModelVersion, request).model_version
        with self.progress_bar(f"uploading {created.name}", descriptor.size_bytes, "bytes") as bar:
            ready = artifact_transfer.upload(
                self._registry, created.name, packed, descriptor, bar, timeout=self.timeout
            )
        if alias:
            self.set_alias(name, alias, ready.name)
            ready = self.version(ready.name)
        return ready

    def version(self, name: str) -> model_version_pb2.ModelVersion:
        """A version by name or through an alias (`models/m/aliases/prod`)."""
        request = pb.GetModelVersionRequest(name=name)
        return self.call(self._registry.GetModelVersion, request).model_version

    def versions(
        self,
        model: str,
        filter: str = "",
        order_by: str = "",
    ) -> Iterator[model_version_pb2.ModelVersion]:
        """The versions of `model` (`-` for every model) matching `filter`, newest first
        unless `order_by` says otherwise."""
        request = pb.ListModelVersionsRequest(
            parent=model_name(model), page_size=100, filter=filter, order_by=order_by
        )
        return self.paginate(self._registry.ListModelVersions, request, "model_versions")

    # --- aliases ----------------------------------------------------------------------------

    def set_alias(self, model: str, alias: str, version: str, etag: str = "") -> model_pb2.Model:
        """Point `alias` of `model` at `version` (a version or alias name); with `etag`, only
        if the model has not changed since it was read."""
        request = pb.SetModelAliasRequest(
            name=f"{model_name(model)}/aliases/{alias}", model_version=version, etag=etag
        )
        return self.call(self._registry.SetModelAlias, request).model

    def delete_alias(self, model: str, alias: str, etag: str = "") -> model_pb2.Model:
        """Remove `alias` of `model`; its version stays."""
        request = pb.DeleteModelAliasRequest(name=f"{model_name(model)}/aliases/{alias}", etag=etag)
        return self.call(self._registry.DeleteModelAlias, request).model

    # --- bytes ------------------------------------------------------------------------------

    def download(self, version: str, destination: str | Path, *, file: str = "") -> Path:
        """The artifact of `version` (a version or alias name) in `destination` (a file, or
        a directory to hold `<model>-<version>`), resumed if an earlier call was cut, and
        verified against its SHA-256. With `file`, only that file of an archive version (a
        path of its `files`; a directory then holds it under its base name)."""
        concrete = self.version(version)
        path = Path(destination)
        descriptor = concrete.artifact.descriptor
        if file:
            listed = next((f for f in concrete.files if f.path == file), None)
            if listed is None:
                raise InvalidArgumentError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "INVALID_FIELD",
                    f"{concrete.name} holds no file {file!r}",
                    field_violations=[("file_path", "not a path of the version's files")],
                )
            descriptor = artifact_pb2.ArtifactDescriptor(
                size_bytes=listed.size_bytes, digest=listed.digest
            )
        if path.is_dir():
            model_id, number = concrete.name.split("/")[1], concrete.name.rsplit("/", 1)[1]
            path = path / (file.rsplit("/", 1)[-1] if file else f"{model_id}-{number}")
        shown = f"{concrete.name} {file}".rstrip()
        with self.progress_bar(f"downloading {shown}", descriptor.size_bytes, "bytes") as bar:
            return artifact_transfer.download(
                self._registry, concrete.name, descriptor, path, bar, file_path=file
            )

    def load(self, version: str, *, trusted: bool = False) -> Any:
        """`version` ready to use: an onnxruntime InferenceSession for ONNX, the booster for
        XGBoost and LightGBM, the estimator for skops (and, with `trusted`, for a pickle,
        whose loading runs code from the file)."""
        concrete = self.version(version)
        model_format = concrete.artifact.format
        with tempfile.TemporaryDirectory(prefix="lepton-model-") as scratch:
            path = self.download(concrete.name, Path(scratch) / "artifact")
            return _load(path, model_format, trusted)

    # --- attestations -----------------------------------------------------------------------

    def attest(
        self, version: str, private_key: Ed25519PrivateKey, key_id: str
    ) -> model_version_pb2.ModelVersion:
        """Sign the release of `version` (a version or alias name, resolved now) with an
        Ed25519 key and attach the attestation; the version with it appended. Devices that
        trust `key_id` can then check the artifact offline (`verify_release`)."""
        concrete = self.version(version)
        attestation = dsse_envelopes.sign_release(
            private_key,
            key_id,
            concrete.artifact.descriptor.digest.hex,
            concrete.name,
            concrete.artifact.format,
        )
        request = pb.AttestModelVersionRequest(name=concrete.name, attestation=attestation)
        return self.call(self._registry.AttestModelVersion, request).model_version

    def verify_release(
        self, version: str, trusted_keys: Mapping[str, bytes]
    ) -> attestation_pb2.Attestation:
        """The release attestation of `version` that a trusted key (key ID: raw 32-byte
        Ed25519 public key) signed over its artifact's SHA-256; FailedPreconditionError
        [ATTESTATION_UNTRUSTED] when none is. The keys attestations carry are never trusted."""
        concrete = self.version(version)
        digest = concrete.artifact.descriptor.digest.hex
        found = dsse_envelopes.verify_trusted(list(concrete.attestations), digest, trusted_keys)
        if found is None:
            raise FailedPreconditionError(
                grpc.StatusCode.FAILED_PRECONDITION,
                "ATTESTATION_UNTRUSTED",
                f"no release attestation of {concrete.name} is signed by a trusted key",
            )
        return found

    # --- conversion -------------------------------------------------------------------------

    def convert(
        self,
        version: str,
        *,
        absolute: float | None = None,
        relative: float | None = None,
        sample_rows: int = 0,
        seed: int = 0,
    ) -> conversion_job_pb2.ConversionJob:
        """Convert `version` to ONNX, registering the result as a new version if both models
        agree within the tolerance; the finished job with its equivalence report."""
        model = "/".join(version.split("/")[:2])
        job = conversion_job_pb2.ConversionJob(
            source_model_version=version,
            target_format=formats.MODEL_FORMAT_ONNX,
            sample_rows=sample_rows,
            seed=seed,
        )
        if absolute is not None or relative is not None:
            job.tolerance.absolute = absolute or 0.0
            job.tolerance.relative = relative or 0.0
        request = pb.CreateConversionJobRequest(parent=model, conversion_job=job)
        return self.run_job(
            self._conversions, request, description=f"converting {version}", unit="steps"
        )


def _load(path: Path, model_format: int, trusted: bool) -> Any:
    if model_format == formats.MODEL_FORMAT_ONNX:
        import onnxruntime  # noqa: PLC0415  (optional: installed where models are run)

        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if model_format == formats.MODEL_FORMAT_SKOPS:
        import skops.io  # noqa: PLC0415

        untrusted = skops.io.get_untrusted_types(file=path)
        if untrusted and not trusted:
            raise ValueError(
                f"the skops file holds types skops does not trust: {untrusted}; pass trusted=True"
            )
        return skops.io.load(path, trusted=untrusted)
    if model_format == formats.MODEL_FORMAT_XGBOOST:
        import xgboost  # noqa: PLC0415

        return xgboost.Booster(model_file=str(path))
    if model_format == formats.MODEL_FORMAT_LIGHTGBM:
        import lightgbm  # noqa: PLC0415

        return lightgbm.Booster(model_file=str(path))
    if model_format == formats.MODEL_FORMAT_PICKLE:
        if not trusted:
            raise ValueError("loading a pickle runs code from the file: pass trusted=True")
        import pickle  # noqa: PLC0415

        with path.open("rb") as stream:
            return pickle.load(stream)
    raise ValueError(
        f"load() does not load {formats.ModelFormat.Name(model_format)}; use download()"
    )

"""A trained model registered in the model registry (spec/training.md, "Output and
registration", TRN-053 to TRN-055, TRN-058 to TRN-060), through the registry's gRPC API so
the registry may be another server: the model created or checked, a version created with a
request id derived from the job (a retry never makes a second one), its bytes uploaded until
READY, then each alias moved by compare-and-swap, the moved ones put back if one fails.

Every call here blocks; the caller runs them in a thread. A failure is a
`RegistrationFailed` carrying the registry's reason as `cause`."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import grpc

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2
from lepton.training.v1 import training_job_pb2 as tj
from lepton_ai.errors import LeptonAIError, NotFoundError
from lepton_ai.progress import ProgressBar
from lepton_ai.registry import ModelRegistry, artifact_transfer
from lepton_ai.registry.model_packaging import Package
from lepton_server.runtime.errors import FailedPrecondition, LeptonError, NotFound
from lepton_server.runtime.layer_calls import as_lepton_error
from lepton_server.training import hyperparameters

READY = model_version_pb2.MODEL_VERSION_STATE_READY
FAILED = model_version_pb2.MODEL_VERSION_STATE_FAILED_REGISTRATION
# How long UNAVAILABLE answers of the registry are retried before the job fails.
UNAVAILABLE_RETRY_SECONDS = 60.0
MAX_METRICS = 64
MAX_HYPERPARAMETERS_JSON = 4096
T = TypeVar("T")


class RegistrationFailed(LeptonError):
    """MODEL_REGISTRATION_FAILED with the registry's code, `cause` its reason (TRN-054)."""

    def __init__(self, error: LeptonError, model: str) -> None:
        super().__init__(
            reason="MODEL_REGISTRATION_FAILED",
            message=f"registering in {model} failed: {error.message}",
            metadata={"cause": error.reason, "model": model},
        )
        self.code = error.code


def registry_metrics(latest: Mapping[str, float]) -> dict[str, float]:
    """The version's metrics: the latest finite test/*, then validation/*, then train/*
    values, at most 64, named lowercase with '/' as '_' (spec table)."""
    chosen: dict[str, float] = {}
    for role in ("test/", "validation/", "train/"):
        for name in sorted(n for n in latest if n.startswith(role)):
            if len(chosen) < MAX_METRICS:
                chosen[name.lower().replace("/", "_")] = latest[name]
    return chosen


def hyperparameters_text(resolved: Mapping[str, object]) -> str:
    """Canonical JSON of the resolved hyperparameters, or its SHA-256 when longer than 4 KiB."""
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    if len(text.encode()) > MAX_HYPERPARAMETERS_JSON:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


class ModelRegistration:
    """Registrations of training output in one registry."""

    def __init__(self, registry: ModelRegistry, same_server: bool) -> None:
        self.registry = registry
        # With the registry in this server, versions carry the job's creator as theirs.
        self.same_server = same_server

    # --- checks at creation ---------------------------------------------------------------

    def check_model(self, registration: tj.ModelRegistration, field: str) -> None:
        """NOT_FOUND when the model must exist (create_model false) and does not (TRN-014)."""
        if registration.create_model:
            return
        self._call(lambda: self.registry.model(registration.model))

    def base_model_version(self, reference: str) -> str:
        """The concrete version `reference` (a version or alias) names: NOT_FOUND,
        VERSION_NOT_READY when it is not READY (TRN-014, TRN-017)."""
        version = self._call(lambda: self.registry.version(reference))
        if version.state != READY:
            raise FailedPrecondition(
                reason="VERSION_NOT_READY",
                message=f"{version.name} is not READY",
                metadata={"resource_name": version.name},
            )
        return version.name

    # --- registering ------------------------------------------------------------------------

    def register(
        self,
        registration: tj.ModelRegistration,
        version: model_version_pb2.ModelVersion,
        content: Path,
        *,
        request_key: str,
        on_created: Callable[[str], None] = lambda name: None,
    ) -> str:
        """Register `content` as a new READY version of `registration.model` filled from
        `version` and point the aliases at it; the version's name. `request_key` (job and
        attempt) makes the create idempotent; `on_created` hears the version's name as soon
        as it exists."""
        model = registration.model
        try:
            if registration.create_model:
                self._call(lambda: self.registry.create_model(model, exist_ok=True))
            else:
                self._call(lambda: self.registry.model(model))
            name = self._create_version(model, version, request_key)
            on_created(name)
            ready = self._upload(name, version, content)
            if ready.state != READY:
                error = ready.registration_error
                raise FailedPrecondition(reason=error.reason, message=error.message)
            self._move_aliases(model, registration.aliases, name)
        except LeptonError as error:
            raise RegistrationFailed(error, model) from None
        return name

    def _create_version(
        self, model: str, version: model_version_pb2.ModelVersion, request_key: str
    ) -> str:
        request = pb.CreateModelVersionRequest(
            parent=model,
            model_version=version,
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"lepton-training:{request_key}")),
        )
        stub = self.registry._registry  # the SDK does not wrap this call
        created = self._call(lambda: self.registry.call(stub.CreateModelVersion, request))
        return created.model_version.name

    def _upload(
        self, name: str, version: model_version_pb2.ModelVersion, content: Path
    ) -> model_version_pb2.ModelVersion:
        current = self._call(lambda: self.registry.version(name))
        if current.state in (READY, FAILED):  # a retry after the upload finished
            return current
        artifact = version.artifact
        package = Package(
            None,
            content,
            artifact.format,
            artifact.descriptor.media_type,
            artifact.entry_path,
            version.framework,
            version.framework_version,
        )
        stub = self.registry._registry
        return self._call(
            lambda: artifact_transfer.upload(
                stub,
                name,
                package,
                artifact.descriptor,
                ProgressBar(name, None, "bytes", False),
                timeout=None,
            )
        )

    def _move_aliases(self, model: str, aliases: list[str], version: str) -> None:
        """Each alias by compare-and-swap; the moved ones restored if one fails (TRN-060)."""
        moved: list[tuple[str, str]] = []  # (alias, where it pointed before, "" if new)
        try:
            for alias in aliases:
                current = self._call(lambda: self.registry.model(model))
                before = current.aliases.get(alias, "")
                self._call(
                    lambda alias=alias, etag=current.etag: self.registry.set_alias(
                        model, alias, version, etag
                    )
                )
                moved.append((alias, before))
        except LeptonError:
            for alias, before in reversed(moved):
                self._restore_alias(model, alias, before)
            raise

    def _restore_alias(self, model: str, alias: str, before: str) -> None:
        try:
            if before:
                self.registry.set_alias(model, alias, before)
            else:
                self.registry.delete_alias(model, alias)
        except LeptonAIError:
            pass  # the alias was changed since: whoever changed it owns it now

    def _call(self, call: Callable[[], T]) -> T:
        """`call`, retrying UNAVAILABLE for a minute; other failures as LeptonError."""
        deadline = time.monotonic() + UNAVAILABLE_RETRY_SECONDS
        while True:
            try:
                return call()
            except NotFoundError as error:
                raise NotFound(
                    reason=error.reason or "RESOURCE_NOT_FOUND",
                    message=error.message,
                    metadata=dict(error.metadata),
                ) from None
            except LeptonAIError as error:
                if error.code != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise as_lepton_error(error) from None
                time.sleep(1.0)


def version_of(
    job: tj.TrainingJob, output: tj.TrainingJobOutput, latest: dict[str, float]
) -> model_version_pb2.ModelVersion:
    """The model version a job's output registers as (spec table; TRN-053)."""
    registration = job.spec.output.registration
    trainer = job.spec.trainer
    kind = trainer.WhichOneof("kind")
    trainer_name = (
        trainer.builtin.id
        if kind == "builtin"
        else (trainer.container.image if kind == "container" else "entrypoint")
    )
    resolved = job.resolved_inputs
    metadata = {
        "training_job": job.name,
        "lepton.trainer": trainer_name,
        "lepton.hyperparameters": hyperparameters_text(
            hyperparameters.json_object(resolved.hyperparameters)
        ),
    }
    if job.creator:
        metadata["lepton.training_job_creator"] = job.creator
    return model_version_pb2.ModelVersion(
        description=registration.version_description,
        labels=dict(registration.version_labels),
        artifact=output.artifact,
        signature=output.signature,
        framework=output.framework,
        framework_version=output.framework_version,
        lineage=model_version_pb2.ModelLineage(
            datasets=list(resolved.datasets),
            training_job=job.name,
            parent_model_version=resolved.base_model_version,
        ),
        metrics=registry_metrics(latest),
        metadata=metadata,
    )

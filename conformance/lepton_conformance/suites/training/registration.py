"""training-core cases of model registration (features `training.registration` and
`training.late_registration`, with a ModelRegistryService on the target): a job's output
registered as a READY version with its lineage and aliases (TRN-053, TRN-055), failed
registrations that move no alias (TRN-054, TRN-060), and registration after the fact of the
output or a checkpoint's model, with its refusals (TRN-058, TRN-059)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc

from lepton.training.v1 import checkpoint_pb2, training_job_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.registry_client import (
    READY,
    RegistryClient,
    random_bytes,
    unique_id,
)
from lepton_conformance.suites.registry.registry_client import SERVICE as REGISTRY
from lepton_conformance.suites.training.feature_probes import LATE_REGISTRATION
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.training_client import (
    SERVICE,
    TrainingClient,
    conformance_job,
    state_name,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()
REGISTRATION = "training.registration"


def registering(train: str, model: str, *, create: bool, aliases: list[str], **hyper: Any) -> Any:
    """A conformance job whose output registers into `model` with `aliases`."""
    registration = training_job_pb2.ModelRegistration(
        model=model, create_model=create, aliases=aliases
    )
    output = training_job_pb2.TrainingOutputSpec(registration=registration)
    return conformance_job(train, fields={"output": output}, **hyper)


@contextlib.contextmanager
def champion(registry: RegistryClient) -> Iterator[tuple[str, str]]:
    """A scratch model whose alias `champion` points at a READY version; (model, version)."""
    with registry.scratch() as model:
        version = registry.register(model, random_bytes(16))
        registry.set_alias(f"{model}/aliases/champion", version.name)
        yield model, version.name


def check_untouched(registry: RegistryClient, model: str, before: Any) -> None:
    """The model's versions and aliases are as they were (TRN-054, TRN-059)."""
    after = registry.model(model)
    expect.equal(
        (after.version_count, dict(after.aliases)),
        (before.version_count, dict(before.aliases)),
        f"(version_count, aliases) of {model}",
    )


def check_lineage(version: Any, job: Any, artifact: Any) -> None:
    """A version registered from `job` holds `artifact` and the job's lineage (TRN-053)."""
    expect.equal(version.state, READY, f"the state of {version.name}")
    expect.equal(version.artifact, artifact, f"the artifact of {version.name}")
    lineage = version.lineage
    expect.equal(
        (lineage.training_job, list(lineage.datasets), lineage.parent_model_version),
        (job.name, list(job.resolved_inputs.datasets), job.resolved_inputs.base_model_version),
        f"(training_job, datasets, parent_model_version) of {version.name}'s lineage",
    )


@CASES.case(CORE, "registration.a-job-registers-its-output", "TRN-053", "TRN-055")
def registers(ctx: CaseContext) -> None:
    """A job with output.registration (create_model) succeeds with its output a READY version
    of a new model without description or labels: same artifact and signature, the job and
    its datasets in the lineage, the alias pointing at it."""
    ctx.require_service(REGISTRY)
    ctx.require_feature(SERVICE, REGISTRATION)
    registry = RegistryClient(ctx)
    model = f"models/{unique_id()}"
    try:
        with training_dataset(ctx) as data, TrainingClient(ctx) as client:
            job = client.run(registering(data.version, model, create=True, aliases=["candidate"]))
            expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
            registered = job.output.model_version
            expect.holds(
                registered.startswith(f"{model}/versions/"), "output.model_version", registered
            )
            expect.equal(
                list(job.registered_model_versions), [registered], "registered_model_versions"
            )
            version = registry.version(registered)
            check_lineage(version, job, job.output.artifact)
            expect.equal(version.signature, job.output.signature, "the version's signature")
            alias = registry.version(f"{model}/aliases/candidate")
            expect.equal(alias.name, registered, "where alias candidate points")
            created = registry.model(model)
            expect.equal((created.description, dict(created.labels)), ("", {}), "the created model")
    finally:
        with contextlib.suppress(grpc.RpcError):
            registry.delete_model(model)


@CASES.case(CORE, "registration.a-failed-registration-moves-no-alias", "TRN-054", "TRN-060")
def fails_registration(ctx: CaseContext) -> None:
    """A job whose output is not ONNX ends FAILED (MODEL_REGISTRATION_FAILED with a cause,
    or MODEL_EXPORT_FAILED), moves no alias of its registration, and keeps its model as an
    OUTPUT checkpoint."""
    ctx.require_service(REGISTRY)
    ctx.require_feature(SERVICE, REGISTRATION)
    registry = RegistryClient(ctx)
    with (
        training_dataset(ctx) as data,
        TrainingClient(ctx) as client,
        champion(registry) as (model, _),
    ):
        before = registry.model(model)
        aliases = ["champion", "fresh"]
        job = client.run(
            registering(data.version, model, create=False, aliases=aliases, output="invalid")
        )
        error = job.status.error
        expect.holds(
            state_name(job) == "JOB_STATE_FAILED"
            and error.reason in ("MODEL_REGISTRATION_FAILED", "MODEL_EXPORT_FAILED"),
            "FAILED [MODEL_REGISTRATION_FAILED or MODEL_EXPORT_FAILED]",
            f"{state_name(job)} [{error.reason}]",
        )
        if error.reason == "MODEL_REGISTRATION_FAILED":
            expect.holds(
                bool(error.metadata.get("cause")),
                "status.error.metadata cause",
                str(dict(error.metadata)),
            )
        after = registry.model(model)
        expect.equal(dict(after.aliases), dict(before.aliases), f"the aliases of {model}")
        kept = [
            c
            for c in client.checkpoints(job.name)
            if c.trigger == checkpoint_pb2.CHECKPOINT_TRIGGER_OUTPUT
        ]
        expect.holds(
            len(kept) == 1 and kept[0].HasField("model"),
            "one CHECKPOINT_TRIGGER_OUTPUT checkpoint with its model",
            str([(c.name, c.HasField("model")) for c in kept]),
        )


@CASES.case(
    CORE, "registration.a-model-deleted-before-registration-fails-the-job", "TRN-055", "TRN-054"
)
def model_deleted(ctx: CaseContext) -> None:
    """With create_model false, a model deleted while the job runs fails it FAILED
    [MODEL_REGISTRATION_FAILED] with metadata cause, without output."""
    ctx.require_service(REGISTRY)
    ctx.require_feature(SERVICE, REGISTRATION)
    registry = RegistryClient(ctx)
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        model = registry.create_model(unique_id()).name
        try:
            created = client.create(
                registering(data.version, model, create=False, aliases=[], steps=40)
            )
            client.running(created.name)
        finally:
            registry.delete_model(model)
        job = client.finish(created.name)
        error = job.status.error
        expect.equal(
            (state_name(job), error.reason),
            ("JOB_STATE_FAILED", "MODEL_REGISTRATION_FAILED"),
            "(state, reason)",
        )
        expect.holds(
            bool(error.metadata.get("cause")),
            "status.error.metadata cause",
            str(dict(error.metadata)),
        )
        expect.holds(not job.HasField("output"), "no output", str(job.output))


def register(
    client: TrainingClient, name: str, model: str, aliases: list[str], checkpoint: str = ""
) -> Any:
    request = pb.RegisterTrainingJobOutputRequest(
        name=name,
        checkpoint=checkpoint,
        registration=training_job_pb2.ModelRegistration(
            model=model, create_model=True, aliases=aliases
        ),
    )
    return client.call("RegisterTrainingJobOutput", request, client.ctx.timeout * 6)


def exporting(train: str, **hyper: Any) -> Any:
    """A conformance job with a checkpoint every 2 steps, each with its model."""
    policy = training_job_pb2.CheckpointPolicy(step_interval=2, export_model=True)
    return conformance_job(train, fields={"checkpoint_policy": policy}, **hyper)


@CASES.case(CORE, "late-registration.registers-the-output-and-a-checkpoint-model", "TRN-058")
def late(ctx: CaseContext) -> None:
    """RegisterTrainingJobOutput registers a SUCCEEDED job's output, then a checkpoint's
    model (metadata lepton.checkpoint), each a READY version with the job's lineage and
    the registration's alias, appended to registered_model_versions."""
    ctx.require_service(REGISTRY)
    ctx.require_feature(SERVICE, LATE_REGISTRATION)
    registry = RegistryClient(ctx)
    model = f"models/{unique_id()}"
    try:
        with training_dataset(ctx) as data, TrainingClient(ctx) as client:
            job = client.run(exporting(data.version, steps=2))
            expect.equal(state_name(job), "JOB_STATE_SUCCEEDED", "the end state")
            first = expect.succeeds(
                lambda: register(client, job.name, model, ["prod"]).model_version
            )
            check_lineage(registry.version(first), job, job.output.artifact)
            expect.equal(registry.version(f"{model}/aliases/prod").name, first, "where prod points")
            (checkpoint,) = client.checkpoints(job.name)
            expect.holds(
                checkpoint.HasField("model"), "the checkpoint's model (export_model)", "unset"
            )
            second = expect.succeeds(
                lambda: register(client, job.name, model, ["prod"], checkpoint.name).model_version
            )
            version = registry.version(second)
            check_lineage(version, job, checkpoint.model)
            expect.equal(
                version.metadata.get("lepton.checkpoint"),
                checkpoint.name,
                "metadata lepton.checkpoint",
            )
            expect.equal(
                registry.version(f"{model}/aliases/prod").name, second, "where prod points"
            )
            expect.equal(
                list(client.get(job.name).registered_model_versions),
                [first, second],
                "registered_model_versions",
            )
    finally:
        with contextlib.suppress(grpc.RpcError):
            registry.delete_model(model)


@CASES.case(CORE, "late-registration.refusals-create-nothing", "TRN-059")
def late_refused(ctx: CaseContext) -> None:
    """RegisterTrainingJobOutput refuses a job that did not succeed (JOB_NOT_SUCCEEDED), a
    checkpoint of another job (INVALID_FIELD) and one without a model
    (CHECKPOINT_HAS_NO_MODEL), creating no version and moving no alias."""
    ctx.require_service(REGISTRY)
    ctx.require_feature(SERVICE, LATE_REGISTRATION)
    registry = RegistryClient(ctx)
    with (
        training_dataset(ctx) as data,
        TrainingClient(ctx) as client,
        champion(registry) as (model, _),
    ):
        plain = conformance_job(
            data.version,
            steps=2,
            fields={"checkpoint_policy": training_job_pb2.CheckpointPolicy(step_interval=2)},
        )
        without_model = client.run(plain)
        other = client.run(exporting(data.version, steps=2))
        cancelled = client.create(conformance_job(data.version, steps=200))
        client.cancel(cancelled.name)
        client.finish(cancelled.name)
        (bare,) = client.checkpoints(without_model.name)
        (foreign,) = client.checkpoints(other.name)
        before = registry.model(model)
        for name, checkpoint, code, reason in (
            (cancelled.name, "", grpc.StatusCode.FAILED_PRECONDITION, "JOB_NOT_SUCCEEDED"),
            (without_model.name, foreign.name, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
            (
                without_model.name,
                bare.name,
                grpc.StatusCode.FAILED_PRECONDITION,
                "CHECKPOINT_HAS_NO_MODEL",
            ),
        ):
            expect.fails_with(
                lambda name=name, checkpoint=checkpoint: register(
                    client, name, model, ["champion"], checkpoint
                ),
                code,
                reason,
            )
            check_untouched(registry, model, before)

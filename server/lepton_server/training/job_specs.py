"""What CreateTrainingJob checks of a job before anything is stored (TRN-001, TRN-006 to
TRN-008, TRN-011, TRN-015, TRN-016, TRN-062): the trainer and its hyperparameters, the
resources against the capacity, durations, the checkpoint policy, the output and its
registration, labels and secrets. Checks that need another layer (datasets, models) are the
caller's. The result says how the job runs: the worker's command, its resolved
hyperparameters and resources, and whether the output is converted to ONNX."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from lepton.training.v1 import trainer_pb2
from lepton.training.v1 import training_job_pb2 as tj
from lepton.type.v1 import accelerator_pb2
from lepton.type.v1.model_format_pb2 import ModelFormat
from lepton_server.aip import resource_names
from lepton_server.aip.labels import check_labels
from lepton_server.registry.import_sources import ImportSource, check_source
from lepton_server.runtime.errors import (
    NotFound,
    Unimplemented,
    invalid_argument,
    invalid_field,
)
from lepton_server.runtime.file_roots import FileRoots
from lepton_server.training import hyperparameters, trainer_catalogue
from lepton_server.training.capacity import DEFAULT_CPU, DEFAULT_MEMORY_BYTES, Capacity, Demand
from lepton_server.training.trainer_commands import worker_argv

SPEC = "training_job.spec"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_DISPLAY_NAME = 256
ENTRYPOINT = "entrypoint"
SECRET_PREFIX = "secrets/"


@dataclass(frozen=True)
class CheckedSpec:
    """A job spec that passed every local check, and how it runs."""

    trainer: str  # the BuiltinTrainer.id, or "entrypoint"
    info: trainer_pb2.TrainerInfo | None  # None for an entrypoint trainer
    argv: list[str]
    hyperparameters: dict[str, trainer_pb2.HyperparameterValue]
    resources: tj.ResourceRequirements
    demand: Demand
    # The ModelFormat value name the trainer is asked for ("" lets it decide), and whether
    # the job converts the trainer's native model to ONNX itself.
    model_format: str
    convert_to_onnx: bool
    env: dict[str, str]
    # Values of the job's secrets, which no log line may show (TRN-062).
    secret_values: tuple[str, ...] = ()
    # Metrics read from the trainer's output lines (entrypoint trainers).
    metric_definitions: tuple[tj.MetricDefinition, ...] = ()


def unsupported(feature: str, what: str) -> Unimplemented:
    """UNIMPLEMENTED, FEATURE_NOT_SUPPORTED: `what` needs `feature` (TRN-001)."""
    return Unimplemented(
        reason="FEATURE_NOT_SUPPORTED",
        message=f"{what} needs feature {feature}, which this server does not offer",
        metadata={"feature": feature},
    )


def check_spec(
    job: tj.TrainingJob,
    *,
    capacity: Capacity,
    features: Collection[str],
    secrets: Mapping[str, str],
    file_roots: FileRoots,
) -> CheckedSpec:
    """The checked spec of `job`, or the error TRN-001 to TRN-016 name."""
    spec = job.spec
    if len(job.display_name) > MAX_DISPLAY_NAME:
        raise invalid_field("training_job.display_name", "at most 256 characters")
    check_labels(job.labels, "training_job.labels")
    trainer = spec.trainer
    argv = worker_argv(trainer)
    kind = trainer.WhichOneof("kind")
    info = trainer_catalogue.get(trainer.builtin.id) if kind == "builtin" else None
    if kind == "entrypoint" and "training.entrypoint" not in features:
        raise unsupported("training.entrypoint", "an entrypoint trainer")
    env: dict[str, str] = {}
    secret_values: tuple[str, ...] = ()
    definitions: tuple[tj.MetricDefinition, ...] = ()
    if kind == "entrypoint":
        env = _check_entrypoint(trainer.entrypoint, secrets, features)
        if trainer.entrypoint.working_dir_uri:
            working_dir(trainer.entrypoint.working_dir_uri, file_roots)
        secret_values = tuple(env[s.name] for s in trainer.entrypoint.secret_env)
        definitions = _check_metric_definitions(trainer.entrypoint.metric_definitions)
    if info is not None:
        resolved = hyperparameters.resolve(spec.hyperparameters, info)
    else:
        resolved = {key: spec.hyperparameters[key] for key in sorted(spec.hyperparameters)}
    resources, demand = _check_resources(spec.resources, info, capacity, features)
    _check_durations(spec)
    _check_checkpoint_policy(spec.checkpoint_policy)
    model_format, convert = _check_output(spec.output, info, features)
    if spec.base_model_version and "training.registration" not in features:
        raise unsupported("training.registration", "base_model_version")
    if not -1000 <= spec.priority <= 1000:
        raise invalid_field(f"{SPEC}.priority", "the priority is between -1000 and 1000")
    if spec.max_restart_count < 0:
        raise invalid_field(f"{SPEC}.max_restart_count", "must not be negative")
    return CheckedSpec(
        trainer=trainer.builtin.id if info is not None else ENTRYPOINT,
        info=info,
        argv=argv,
        hyperparameters=resolved,
        resources=resources,
        demand=demand,
        model_format=model_format,
        convert_to_onnx=convert,
        env=env,
        secret_values=secret_values,
        metric_definitions=definitions,
    )


def _check_metric_definitions(
    definitions: Sequence[tj.MetricDefinition],
) -> tuple[tj.MetricDefinition, ...]:
    field = f"{SPEC}.trainer.entrypoint.metric_definitions"
    for i, definition in enumerate(definitions):
        if not definition.name:
            raise invalid_field(f"{field}[{i}].name", "a metric name is required")
        try:
            re.compile(definition.regex)
        except re.error as error:
            raise invalid_field(
                f"{field}[{i}].regex", f"not a regular expression: {error}"
            ) from None
    return tuple(definitions)


def _check_entrypoint(
    entrypoint: tj.EntrypointTrainer, secrets: Mapping[str, str], features: Collection[str]
) -> dict[str, str]:
    """The environment of an entrypoint trainer's workers, secrets included (TRN-008,
    TRN-062)."""
    field = f"{SPEC}.trainer.entrypoint"
    env = dict(entrypoint.env)
    for name in sorted(env):
        _check_env_name(name, f"{field}.env[{name}]")
    for i, secret in enumerate(entrypoint.secret_env):
        _check_env_name(secret.name, f"{field}.secret_env[{i}].name")
        if not secret.secret.startswith(SECRET_PREFIX):
            raise invalid_argument(
                "INVALID_NAME", f"{field}.secret_env[{i}].secret", "a secret is secrets/{secret}"
            )
        if "training.secrets" not in features:
            raise unsupported("training.secrets", "secret_env")
        value = secrets.get(secret.secret.removeprefix(SECRET_PREFIX))
        if value is None:
            raise NotFound(
                reason="RESOURCE_NOT_FOUND",
                message=f"this server holds no secret {secret.secret}",
                metadata={"resource_name": secret.secret},
            )
        env[secret.name] = value
    if entrypoint.working_dir_uri:
        _check_uri(entrypoint.working_dir_uri, f"{field}.working_dir_uri")
    for i, package in enumerate(entrypoint.pip_packages):
        if not package.strip() or package.lstrip().startswith("-"):
            raise invalid_field(f"{field}.pip_packages[{i}]", "a requirement, not an option")
    return env


def _check_env_name(name: str, field: str) -> None:
    if not ENV_NAME.match(name) or name.startswith("LEPTON_"):
        raise invalid_field(field, "a variable name of [A-Za-z_][A-Za-z0-9_]*, not LEPTON_*")


def _check_uri(uri: str, field: str) -> None:
    """TRN-062: no user information and no query string (a presigned URL is a secret)."""
    parsed = urlparse(uri)
    if parsed.username or parsed.password or parsed.query:
        raise invalid_field(field, "a URI without user information or a query string")


def working_dir(uri: str, roots: FileRoots) -> ImportSource:
    """Where an entrypoint trainer's working directory comes from: a `file://` directory
    under the server's roots (PERMISSION_DENIED, PATH_NOT_ALLOWED outside) or a remote
    file system pyarrow reaches, checked as the registry checks an import's source."""
    return check_source(uri, roots, f"{SPEC}.trainer.entrypoint.working_dir_uri")


def _check_resources(
    given: tj.ResourceRequirements,
    info: trainer_pb2.TrainerInfo | None,
    capacity: Capacity,
    features: Collection[str],
) -> tuple[tj.ResourceRequirements, Demand]:
    """The resources each worker gets, every field set (TRN-015, TRN-057)."""
    field = f"{SPEC}.resources"
    for name in ("cpu", "memory_bytes", "worker_count"):
        if getattr(given, name) < 0:
            raise invalid_field(f"{field}.{name}", "must not be negative")
    for i, accelerator in enumerate(given.accelerators):
        _check_accelerator(accelerator, f"{field}.accelerators[{i}]")
    if given.accelerators and "training.accelerators" not in features:
        raise unsupported("training.accelerators", "accelerators")
    workers = given.worker_count or 1
    if workers > 1 and "training.distributed" not in features:
        raise unsupported("training.distributed", "worker_count above 1")
    if info is not None and workers > info.max_worker_count:
        raise invalid_argument(
            "RESOURCES_UNSATISFIABLE",
            f"{field}.worker_count",
            f"{info.id} runs at most {info.max_worker_count} worker(s)",
        )
    resources = tj.ResourceRequirements(
        cpu=given.cpu or DEFAULT_CPU,
        memory_bytes=given.memory_bytes or DEFAULT_MEMORY_BYTES,
        worker_count=workers,
    )
    demand = Demand(resources.cpu, resources.memory_bytes, workers)
    capacity.check_satisfiable(demand, field)
    return resources, demand


def _check_accelerator(accelerator: tj.AcceleratorRequirement, field: str) -> None:
    if accelerator.count < 1:
        raise invalid_field(f"{field}.count", "at least 1")
    if accelerator.type in (
        accelerator_pb2.ACCELERATOR_TYPE_UNSPECIFIED,
        accelerator_pb2.ACCELERATOR_TYPE_CPU,
    ):
        raise invalid_field(f"{field}.type", "an accelerator type other than CPU")
    if accelerator.type == accelerator_pb2.ACCELERATOR_TYPE_OTHER and not accelerator.model:
        raise invalid_field(f"{field}.model", "an OTHER accelerator names its model")


def _check_durations(spec: tj.TrainingJobSpec) -> None:
    for name in ("max_run_duration", "max_queue_duration"):
        duration = getattr(spec, name)
        if duration.seconds < 0 or duration.nanos < 0:
            raise invalid_field(f"{SPEC}.{name}", "must not be negative")


def _check_checkpoint_policy(policy: tj.CheckpointPolicy) -> None:
    field = f"{SPEC}.checkpoint_policy"
    for name in ("step_interval", "keep_last_count", "keep_best_count"):
        if getattr(policy, name) < 0:
            raise invalid_field(f"{field}.{name}", "must not be negative")
    interval = policy.interval_duration.ToNanoseconds()
    if policy.HasField("interval_duration") and interval != 0 and interval < 10**9:
        raise invalid_field(f"{field}.interval_duration", "at least one second")
    if policy.best_metric_goal not in tj.MetricGoal.values():
        raise invalid_field(f"{field}.best_metric_goal", "not a MetricGoal value")
    if policy.keep_best_count and not policy.best_metric:
        raise invalid_field(f"{field}.best_metric", "keep_best_count needs best_metric")


def _check_output(
    output: tj.TrainingOutputSpec,
    info: trainer_pb2.TrainerInfo | None,
    features: Collection[str],
) -> tuple[str, bool]:
    """The format the trainer is asked for, and whether the job converts to ONNX (TRN-016)."""
    field = f"{SPEC}.output"
    requested = output.model_format
    if requested not in ModelFormat.values():
        raise invalid_field(f"{field}.model_format", f"{requested} is not a ModelFormat value")
    convert = False
    if info is not None:
        if requested and requested not in info.model_formats:
            raise invalid_argument(
                "UNSUPPORTED_MODEL_FORMAT",
                f"{field}.model_format",
                f"{info.id} exports {', '.join(ModelFormat.Name(f) for f in info.model_formats)}",
            )
        native = info.model_formats[0]
        convert = requested == ModelFormat.MODEL_FORMAT_ONNX and native != requested
        if convert and "training.conversion" not in features:
            raise unsupported("training.conversion", "ONNX output of a native trainer")
        requested = native if convert or not requested else requested
    if output.HasField("registration"):
        if "training.registration" not in features:
            raise unsupported("training.registration", "registration")
        check_registration(output.registration, f"{field}.registration")
    name = ModelFormat.Name(requested).removeprefix("MODEL_FORMAT_") if requested else ""
    return name, convert


def check_registration(registration: tj.ModelRegistration, field: str) -> None:
    """The model and aliases of a registration (TRN-016)."""
    resource_names.parse(registration.model, ("models",), f"{field}.model")
    for i, alias in enumerate(registration.aliases):
        if alias == "latest":
            raise invalid_argument(
                "RESERVED_ALIAS", f"{field}.aliases[{i}]", "'latest' is set by the registry"
            )
        resource_names.check_id(alias, f"{field}.aliases[{i}]", "alias")
    check_labels(registration.version_labels, f"{field}.version_labels")


def check_data_uris(data: tj.TrainingData) -> None:
    """TRN-062 for dataset URIs (before TRN-001's feature check)."""
    for i, reference in enumerate(data.datasets):
        if reference.WhichOneof("source") == "uri":
            _check_uri(reference.uri, f"{SPEC}.data.datasets[{i}].uri")

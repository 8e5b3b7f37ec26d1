import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.registry.v1 import conversion_job_pb2 as _conversion_job_pb2
from lepton.training.v1 import metric_pb2 as _metric_pb2
from lepton.training.v1 import trainer_pb2 as _trainer_pb2
from lepton.type.v1 import accelerator_pb2 as _accelerator_pb2
from lepton.type.v1 import dataset_reference_pb2 as _dataset_reference_pb2
from lepton.type.v1 import job_pb2 as _job_pb2
from lepton.type.v1 import model_artifact_pb2 as _model_artifact_pb2
from lepton.type.v1 import model_format_pb2 as _model_format_pb2
from lepton.type.v1 import model_signature_pb2 as _model_signature_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrainingPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAINING_PHASE_UNSPECIFIED: _ClassVar[TrainingPhase]
    TRAINING_PHASE_PREPARING: _ClassVar[TrainingPhase]
    TRAINING_PHASE_TRAINING: _ClassVar[TrainingPhase]
    TRAINING_PHASE_EXPORTING: _ClassVar[TrainingPhase]
    TRAINING_PHASE_REGISTERING: _ClassVar[TrainingPhase]

class MetricGoal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METRIC_GOAL_UNSPECIFIED: _ClassVar[MetricGoal]
    METRIC_GOAL_MINIMIZE: _ClassVar[MetricGoal]
    METRIC_GOAL_MAXIMIZE: _ClassVar[MetricGoal]
TRAINING_PHASE_UNSPECIFIED: TrainingPhase
TRAINING_PHASE_PREPARING: TrainingPhase
TRAINING_PHASE_TRAINING: TrainingPhase
TRAINING_PHASE_EXPORTING: TrainingPhase
TRAINING_PHASE_REGISTERING: TrainingPhase
METRIC_GOAL_UNSPECIFIED: MetricGoal
METRIC_GOAL_MINIMIZE: MetricGoal
METRIC_GOAL_MAXIMIZE: MetricGoal

class TrainingJob(_message.Message):
    __slots__ = ("name", "display_name", "labels", "spec", "status", "metrics", "output", "resolved_inputs", "latest_checkpoint", "restart_count", "run_duration", "queue_position", "update_time", "creator", "attempt", "best_checkpoint", "pause_requested", "phase", "registered_model_versions")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_INPUTS_FIELD_NUMBER: _ClassVar[int]
    LATEST_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUN_DURATION_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BEST_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    spec: TrainingJobSpec
    status: _job_pb2.JobStatus
    metrics: _containers.RepeatedCompositeFieldContainer[_metric_pb2.MetricSummary]
    output: TrainingJobOutput
    resolved_inputs: ResolvedInputs
    latest_checkpoint: str
    restart_count: int
    run_duration: _duration_pb2.Duration
    queue_position: int
    update_time: _timestamp_pb2.Timestamp
    creator: str
    attempt: int
    best_checkpoint: str
    pause_requested: bool
    phase: TrainingPhase
    registered_model_versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., spec: _Optional[_Union[TrainingJobSpec, _Mapping]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., metrics: _Optional[_Iterable[_Union[_metric_pb2.MetricSummary, _Mapping]]] = ..., output: _Optional[_Union[TrainingJobOutput, _Mapping]] = ..., resolved_inputs: _Optional[_Union[ResolvedInputs, _Mapping]] = ..., latest_checkpoint: _Optional[str] = ..., restart_count: _Optional[int] = ..., run_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., queue_position: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., attempt: _Optional[int] = ..., best_checkpoint: _Optional[str] = ..., pause_requested: _Optional[bool] = ..., phase: _Optional[_Union[TrainingPhase, str]] = ..., registered_model_versions: _Optional[_Iterable[str]] = ...) -> None: ...

class TrainingJobSpec(_message.Message):
    __slots__ = ("trainer", "hyperparameters", "data", "resources", "max_run_duration", "max_queue_duration", "checkpoint_policy", "resume_from_checkpoint", "base_model_version", "output", "max_restart_count", "priority")
    class HyperparametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _trainer_pb2.HyperparameterValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_trainer_pb2.HyperparameterValue, _Mapping]] = ...) -> None: ...
    TRAINER_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    MAX_RUN_DURATION_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_DURATION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_POLICY_FIELD_NUMBER: _ClassVar[int]
    RESUME_FROM_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    MAX_RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    trainer: Trainer
    hyperparameters: _containers.MessageMap[str, _trainer_pb2.HyperparameterValue]
    data: TrainingData
    resources: ResourceRequirements
    max_run_duration: _duration_pb2.Duration
    max_queue_duration: _duration_pb2.Duration
    checkpoint_policy: CheckpointPolicy
    resume_from_checkpoint: str
    base_model_version: str
    output: TrainingOutputSpec
    max_restart_count: int
    priority: int
    def __init__(self, trainer: _Optional[_Union[Trainer, _Mapping]] = ..., hyperparameters: _Optional[_Mapping[str, _trainer_pb2.HyperparameterValue]] = ..., data: _Optional[_Union[TrainingData, _Mapping]] = ..., resources: _Optional[_Union[ResourceRequirements, _Mapping]] = ..., max_run_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_queue_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., checkpoint_policy: _Optional[_Union[CheckpointPolicy, _Mapping]] = ..., resume_from_checkpoint: _Optional[str] = ..., base_model_version: _Optional[str] = ..., output: _Optional[_Union[TrainingOutputSpec, _Mapping]] = ..., max_restart_count: _Optional[int] = ..., priority: _Optional[int] = ...) -> None: ...

class Trainer(_message.Message):
    __slots__ = ("builtin", "container", "entrypoint")
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    builtin: BuiltinTrainer
    container: ContainerTrainer
    entrypoint: EntrypointTrainer
    def __init__(self, builtin: _Optional[_Union[BuiltinTrainer, _Mapping]] = ..., container: _Optional[_Union[ContainerTrainer, _Mapping]] = ..., entrypoint: _Optional[_Union[EntrypointTrainer, _Mapping]] = ...) -> None: ...

class BuiltinTrainer(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ContainerTrainer(_message.Message):
    __slots__ = ("image", "command", "args", "env", "secret_env", "metric_definitions")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SECRET_ENV_FIELD_NUMBER: _ClassVar[int]
    METRIC_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    image: str
    command: _containers.RepeatedScalarFieldContainer[str]
    args: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    secret_env: _containers.RepeatedCompositeFieldContainer[SecretEnvVar]
    metric_definitions: _containers.RepeatedCompositeFieldContainer[MetricDefinition]
    def __init__(self, image: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., secret_env: _Optional[_Iterable[_Union[SecretEnvVar, _Mapping]]] = ..., metric_definitions: _Optional[_Iterable[_Union[MetricDefinition, _Mapping]]] = ...) -> None: ...

class EntrypointTrainer(_message.Message):
    __slots__ = ("command", "working_dir_uri", "pip_packages", "env", "secret_env", "metric_definitions")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_URI_FIELD_NUMBER: _ClassVar[int]
    PIP_PACKAGES_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SECRET_ENV_FIELD_NUMBER: _ClassVar[int]
    METRIC_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    command: str
    working_dir_uri: str
    pip_packages: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    secret_env: _containers.RepeatedCompositeFieldContainer[SecretEnvVar]
    metric_definitions: _containers.RepeatedCompositeFieldContainer[MetricDefinition]
    def __init__(self, command: _Optional[str] = ..., working_dir_uri: _Optional[str] = ..., pip_packages: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., secret_env: _Optional[_Iterable[_Union[SecretEnvVar, _Mapping]]] = ..., metric_definitions: _Optional[_Iterable[_Union[MetricDefinition, _Mapping]]] = ...) -> None: ...

class SecretEnvVar(_message.Message):
    __slots__ = ("name", "secret")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    name: str
    secret: str
    def __init__(self, name: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class MetricDefinition(_message.Message):
    __slots__ = ("name", "regex")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGEX_FIELD_NUMBER: _ClassVar[int]
    name: str
    regex: str
    def __init__(self, name: _Optional[str] = ..., regex: _Optional[str] = ...) -> None: ...

class TrainingData(_message.Message):
    __slots__ = ("datasets", "feature_columns", "label_column")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    LABEL_COLUMN_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[_dataset_reference_pb2.DatasetReference]
    feature_columns: _containers.RepeatedScalarFieldContainer[str]
    label_column: str
    def __init__(self, datasets: _Optional[_Iterable[_Union[_dataset_reference_pb2.DatasetReference, _Mapping]]] = ..., feature_columns: _Optional[_Iterable[str]] = ..., label_column: _Optional[str] = ...) -> None: ...

class ResourceRequirements(_message.Message):
    __slots__ = ("cpu", "memory_bytes", "accelerators", "worker_count")
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    ACCELERATORS_FIELD_NUMBER: _ClassVar[int]
    WORKER_COUNT_FIELD_NUMBER: _ClassVar[int]
    cpu: float
    memory_bytes: int
    accelerators: _containers.RepeatedCompositeFieldContainer[AcceleratorRequirement]
    worker_count: int
    def __init__(self, cpu: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., accelerators: _Optional[_Iterable[_Union[AcceleratorRequirement, _Mapping]]] = ..., worker_count: _Optional[int] = ...) -> None: ...

class AcceleratorRequirement(_message.Message):
    __slots__ = ("type", "vendor", "model", "count")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    type: _accelerator_pb2.AcceleratorType
    vendor: str
    model: str
    count: int
    def __init__(self, type: _Optional[_Union[_accelerator_pb2.AcceleratorType, str]] = ..., vendor: _Optional[str] = ..., model: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class CheckpointPolicy(_message.Message):
    __slots__ = ("step_interval", "interval_duration", "keep_last_count", "final_checkpoint", "best_metric", "best_metric_goal", "keep_best_count", "export_model")
    STEP_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_DURATION_FIELD_NUMBER: _ClassVar[int]
    KEEP_LAST_COUNT_FIELD_NUMBER: _ClassVar[int]
    FINAL_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    BEST_METRIC_FIELD_NUMBER: _ClassVar[int]
    BEST_METRIC_GOAL_FIELD_NUMBER: _ClassVar[int]
    KEEP_BEST_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXPORT_MODEL_FIELD_NUMBER: _ClassVar[int]
    step_interval: int
    interval_duration: _duration_pb2.Duration
    keep_last_count: int
    final_checkpoint: bool
    best_metric: str
    best_metric_goal: MetricGoal
    keep_best_count: int
    export_model: bool
    def __init__(self, step_interval: _Optional[int] = ..., interval_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., keep_last_count: _Optional[int] = ..., final_checkpoint: _Optional[bool] = ..., best_metric: _Optional[str] = ..., best_metric_goal: _Optional[_Union[MetricGoal, str]] = ..., keep_best_count: _Optional[int] = ..., export_model: _Optional[bool] = ...) -> None: ...

class TrainingOutputSpec(_message.Message):
    __slots__ = ("model_format", "registration", "conversion_tolerance")
    MODEL_FORMAT_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    model_format: _model_format_pb2.ModelFormat
    registration: ModelRegistration
    conversion_tolerance: _conversion_job_pb2.EquivalenceTolerance
    def __init__(self, model_format: _Optional[_Union[_model_format_pb2.ModelFormat, str]] = ..., registration: _Optional[_Union[ModelRegistration, _Mapping]] = ..., conversion_tolerance: _Optional[_Union[_conversion_job_pb2.EquivalenceTolerance, _Mapping]] = ...) -> None: ...

class ModelRegistration(_message.Message):
    __slots__ = ("model", "create_model", "version_description", "version_labels", "aliases")
    class VersionLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATE_MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_LABELS_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    model: str
    create_model: bool
    version_description: str
    version_labels: _containers.ScalarMap[str, str]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[str] = ..., create_model: _Optional[bool] = ..., version_description: _Optional[str] = ..., version_labels: _Optional[_Mapping[str, str]] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class TrainingJobOutput(_message.Message):
    __slots__ = ("artifact", "signature", "framework", "framework_version", "model_version", "source_artifact", "equivalence")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    EQUIVALENCE_FIELD_NUMBER: _ClassVar[int]
    artifact: _model_artifact_pb2.ModelArtifact
    signature: _model_signature_pb2.ModelSignature
    framework: str
    framework_version: str
    model_version: str
    source_artifact: _model_artifact_pb2.ModelArtifact
    equivalence: _conversion_job_pb2.EquivalenceReport
    def __init__(self, artifact: _Optional[_Union[_model_artifact_pb2.ModelArtifact, _Mapping]] = ..., signature: _Optional[_Union[_model_signature_pb2.ModelSignature, _Mapping]] = ..., framework: _Optional[str] = ..., framework_version: _Optional[str] = ..., model_version: _Optional[str] = ..., source_artifact: _Optional[_Union[_model_artifact_pb2.ModelArtifact, _Mapping]] = ..., equivalence: _Optional[_Union[_conversion_job_pb2.EquivalenceReport, _Mapping]] = ...) -> None: ...

class ResolvedInputs(_message.Message):
    __slots__ = ("datasets", "base_model_version", "resume_from_checkpoint", "hyperparameters", "resources")
    class HyperparametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _trainer_pb2.HyperparameterValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_trainer_pb2.HyperparameterValue, _Mapping]] = ...) -> None: ...
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RESUME_FROM_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[_dataset_reference_pb2.DatasetReference]
    base_model_version: str
    resume_from_checkpoint: str
    hyperparameters: _containers.MessageMap[str, _trainer_pb2.HyperparameterValue]
    resources: ResourceRequirements
    def __init__(self, datasets: _Optional[_Iterable[_Union[_dataset_reference_pb2.DatasetReference, _Mapping]]] = ..., base_model_version: _Optional[str] = ..., resume_from_checkpoint: _Optional[str] = ..., hyperparameters: _Optional[_Mapping[str, _trainer_pb2.HyperparameterValue]] = ..., resources: _Optional[_Union[ResourceRequirements, _Mapping]] = ...) -> None: ...

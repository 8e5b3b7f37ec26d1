"""training-core cases of discovery and trainers: TrainingService lists exactly the optional
features it implements, each probed by a request that needs it (TRN-001), and ListTrainers
declares the conformance trainer exactly as the spec does, ordered and paged (TRN-004,
TRN-018)."""

from __future__ import annotations

import math
import secrets
from typing import Any

import grpc

from lepton.training.v1 import trainer_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import model_format_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.feature_probes import FEATURE_PROBES
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.training_checks import (
    TABLES,
    create_request,
    request_of,
)
from lepton_conformance.suites.training.training_client import (
    CONFORMANCE,
    SERVICE,
    TrainingClient,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()
FEATURES = {
    "training.pause",
    "training.container",
    "training.entrypoint",
    "training.registration",
    "training.distributed",
    "training.accelerators",
    "training.uri_input",
    "training.late_registration",
    "training.secrets",
    "training.conversion",
}
# feature -> the changes to a valid conformance job that make it need the feature.
SPEC_PROBES: dict[str, dict[str, Any]] = {
    "training.container": {"trainer": {"container": {"image": "registry.invalid/lepton/c:1"}}},
    "training.entrypoint": {"trainer": {"entrypoint": {"command": "true"}}},
    "training.registration": {
        "spec": {"output": {"registration": {"model": "models/{missing}", "createModel": True}}}
    },
    "training.distributed": {"spec": {"resources": {"workerCount": 2}}},
    "training.accelerators": {
        "spec": {"resources": {"accelerators": [{"type": "ACCELERATOR_TYPE_GPU", "count": 1}]}}
    },
    "training.uri_input": {
        "spec": {
            "data": {
                "datasets": [
                    {
                        "uri": "file:///lepton-conformance/train.parquet",
                        "role": "DATASET_ROLE_TRAIN",
                    }
                ]
            }
        }
    },
}


def trainers(client: TrainingClient, page_size: int = 0) -> list[Any]:
    """Every trainer ListTrainers returns, following next_page_token."""
    return client.walk("ListTrainers", pb.ListTrainersRequest(page_size=page_size))


def _spec_probes(client: TrainingClient) -> dict[str, dict[str, Any]]:
    """The spec probes this target allows: secrets ride on a listed entrypoint or container
    trainer, conversion on a built-in trainer whose native format is not ONNX."""
    probes = dict(SPEC_PROBES)
    listed = client.ctx.info.features.get(SERVICE, frozenset())
    secret = [{"name": "LEPTON_CONFORMANCE_X", "secret": "secrets/{missing}"}]
    if "training.entrypoint" in listed:
        trainer = {"entrypoint": {"command": "true", "secretEnv": secret}}
        probes["training.secrets"] = {"trainer": trainer}
    elif "training.container" in listed:
        image = "registry.invalid/lepton/conformance:1"
        trainer = {"container": {"image": image, "secretEnv": secret}}
        probes["training.secrets"] = {"trainer": trainer}
    native = [t for t in trainers(client) if t.model_formats and t.model_formats[0] != ONNX]
    if native:
        data = {
            "datasets": [{"datasetVersion": "{train}", "role": "DATASET_ROLE_TRAIN"}],
            "featureColumns": ["x"],
            "labelColumn": "y",
        }
        probes["training.conversion"] = {
            "trainer": {"builtin": {"id": native[0].id}},
            "spec": {
                "hyperparameters": None,
                "data": data,
                "output": {"modelFormat": "MODEL_FORMAT_ONNX"},
            },
        }
    return probes


ONNX = model_format_pb2.MODEL_FORMAT_ONNX


@CASES.case(CORE, "discovery.features-are-exactly-the-implemented-ones", "TRN-001", "GEN-033")
def features_honest(ctx: CaseContext) -> None:
    """GetServerInfo lists TrainingService with features of spec/training.md only; each
    listed feature answers a request that needs it, and each unlisted one is refused with
    UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] and creates nothing."""
    expect.holds(
        SERVICE in ctx.info.features,
        f"GetServerInfo to list {SERVICE}",
        f"services {sorted(ctx.info.features)} ({ctx.info.discovery_error or 'no error'})",
    )
    listed = ctx.info.features[SERVICE]
    unknown = sorted(listed - FEATURES)
    expect.holds(not unknown, "only features of spec/training.md", f"unknown {unknown}")
    for feature in FEATURE_PROBES:
        finding = ctx.info.optional_features.get(feature)
        expect.holds(finding is not None, f"the {feature} probe to have run", "no finding")
        expect.equal(finding.listed, finding.implemented, f"{feature} listed = implemented")
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        for feature, row in _spec_probes(client).items():
            names = {
                "{train}": data.version,
                "{missing}": f"conf-missing-{secrets.token_hex(4)}",
                "{id}": f"conf-{secrets.token_hex(4)}",
            }
            fields = create_request(row)
            if feature in listed:
                fields["validateOnly"] = True
                request = request_of("CreateTrainingJob", fields, names)
                try:
                    client.try_create(request)
                except grpc.RpcError as error:
                    expect.holds(
                        error.code() != grpc.StatusCode.UNIMPLEMENTED,
                        f"listed feature {feature} to be implemented",
                        expect.describe(error),
                    )
                continue
            request = request_of("CreateTrainingJob", fields, names)
            expect.fails_with(
                lambda request=request: client.try_create(request),
                grpc.StatusCode.UNIMPLEMENTED,
                "FEATURE_NOT_SUPPORTED",
            )
            name = f"trainingJobs/{names['{id}']}"
            expect.fails_with(
                lambda name=name: client.call(
                    "GetTrainingJob", pb.GetTrainingJobRequest(name=name)
                ),
                grpc.StatusCode.NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )


def _number(value: Any) -> float | None:
    kind = value.WhichOneof("kind")
    return float(getattr(value, kind)) if kind in ("int64_value", "double_value") else None


def _declared_value(spec: Any, kind: str) -> Any:
    value = getattr(spec, kind)
    which = value.WhichOneof("kind") if spec.HasField(kind) else None
    return None if which is None else getattr(value, which)


def check_hyperparameter(spec: Any, wanted: dict[str, Any]) -> None:
    """One HyperparameterSpec against its row of the spec's table."""
    name = spec.name
    kind = {"INT64": "int64_value", "DOUBLE": "double_value"}.get(wanted["type"])
    expect.equal(
        trainer_pb2.HyperparameterType.Name(spec.type),
        f"HYPERPARAMETER_TYPE_{wanted['type']}",
        f"type of {name}",
    )
    expect.equal(spec.required, False, f"required of {name}")
    default, want = _declared_value(spec, "default_value"), wanted["default"]
    if isinstance(want, (bool, str)) or isinstance(default, (bool, str)) or default is None:
        same = default == want and type(default) is type(want)
    else:
        same = math.isclose(float(default), float(want))
    expect.holds(same, f"default of {name} = {want!r}", repr(default))
    if kind is not None:
        expect.equal(
            spec.default_value.WhichOneof("kind"), kind, f"the kind of the default of {name}"
        )
        for bound in ("min", "max"):
            field = f"{bound}_value"
            got = _number(getattr(spec, field)) if spec.HasField(field) else None
            expect.equal(got, wanted.get(bound), f"{field} of {name}")
    expect.equal(
        sorted(spec.allowed_values), sorted(wanted.get("allowed", [])), f"allowed_values of {name}"
    )


def check_hyperparameter_value(value: Any, kind: str, wanted: Any, name: str) -> None:
    """A HyperparameterValue of declared type `kind` holds `wanted` (a DOUBLE may hold it
    as an int64_value, which converts exactly)."""
    which = value.WhichOneof("kind")
    got = getattr(value, which) if which else None
    if kind == "DOUBLE":
        same = which in ("double_value", "int64_value") and math.isclose(
            float(got), float(wanted), abs_tol=1e-12
        )
    else:
        field = {"INT64": "int64_value", "BOOL": "bool_value", "STRING": "string_value"}[kind]
        same = which == field and got == wanted
    expect.holds(same, f"hyperparameter {name} = {wanted!r} ({kind})", f"{which} {got!r}")


@CASES.case(CORE, "trainers.conformance-trainer-is-declared-exactly", "TRN-004")
def conformance_trainer(ctx: CaseContext) -> None:
    """ListTrainers returns every trainer ordered by id, each with model formats and a
    max_worker_count of at least 1, and lepton.conformance with exactly the spec's
    hyperparameters, defaults, ranges and properties."""
    with TrainingClient(ctx) as client:
        found = trainers(client)
    ids = [t.id for t in found]
    expect.equal(ids, sorted(ids), "trainer ids in ascending order")
    expect.equal(len(ids), len(set(ids)), "each trainer once")
    for trainer in found:
        expect.holds(
            len(trainer.model_formats) > 0 and trainer.max_worker_count >= 1,
            f"{trainer.id} to have model_formats and max_worker_count >= 1",
            f"{list(trainer.model_formats)}, {trainer.max_worker_count}",
        )
    expect.holds(CONFORMANCE in ids, f"ListTrainers to offer {CONFORMANCE}", str(ids))
    trainer = found[ids.index(CONFORMANCE)]
    wanted = TABLES["conformance_trainer"]
    expect.equal(
        (
            trainer.task,
            [model_format_pb2.ModelFormat.Name(f) for f in trainer.model_formats],
            trainer.requires_label_column,
            trainer.supports_checkpoints,
            trainer.max_worker_count,
            trainer.supports_accelerators,
        ),
        (
            wanted["task"],
            wanted["model_formats"],
            wanted["requires_label_column"],
            wanted["supports_checkpoints"],
            wanted["max_worker_count"],
            wanted["supports_accelerators"],
        ),
        "(task, model_formats, requires_label_column, supports_checkpoints, "
        "max_worker_count, supports_accelerators)",
    )
    declared = {h.name: h for h in trainer.hyperparameters}
    expect.equal(
        sorted(declared), sorted(wanted["hyperparameters"]), "the conformance hyperparameters"
    )
    for name, row in wanted["hyperparameters"].items():
        check_hyperparameter(declared[name], row)


@CASES.case(CORE, "trainers.pages-visit-every-trainer-once", "TRN-018", "TRN-004")
def trainer_pages(ctx: CaseContext) -> None:
    """ListTrainers with page_size 1 visits every trainer exactly once, in id order."""
    with TrainingClient(ctx) as client:
        whole = [t.id for t in trainers(client)]
        paged = [t.id for t in trainers(client, page_size=1)]
    expect.equal(paged, whole, "the trainers of pages of one")

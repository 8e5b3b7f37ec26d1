"""registry-core cases of conversion jobs (feature `registry.conversion`, spec/registry.md
"Conversion"): a scikit-learn model saved with skops (vectors/linear_regressor.skops, written
by vectors/make_linear_regressor.py) converted to an equivalent ONNX version, a tolerance of 0
that its float32 rounding breaks, and the sources and fields the spec refuses."""

from __future__ import annotations

import importlib.resources
from typing import Any

import grpc

from lepton.registry.v1 import conversion_job_pb2
from lepton.type.v1 import model_format_pb2, model_signature_pb2, tensor_pb2
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    ONNX,
    OTHER,
    READY,
    SERVICE,
    RegistryClient,
    random_bytes,
)
from lepton_conformance.suites.registry.registry_jobs import CONVERSION, failed_with, refused

CASES = CaseList()
FEATURE = "registry.conversion"
SKOPS = model_format_pb2.MODEL_FORMAT_SKOPS
# A LinearRegression over 4 features: one float input [rows, 4], one output per row.
SIGNATURE = model_signature_pb2.ModelSignature(
    inputs=[
        tensor_pb2.TensorSpec(name="features", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1, 4])
    ],
    outputs=[
        tensor_pb2.TensorSpec(name="variable", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1])
    ],
)


def regressor_bytes() -> bytes:
    """The committed SKOPS file; sha256
    3b87956502e78b478df7cb16acf53b3e7b6f58f431b1b8d8078cf3fc53d5e17d."""
    vectors = importlib.resources.files("lepton_conformance.suites.registry") / "vectors"
    return (vectors / "linear_regressor.skops").read_bytes()


def _source(client: RegistryClient, model: str, **fields: Any) -> Any:
    """A READY SKOPS version of the regressor with SIGNATURE, unless `fields` say otherwise."""
    fields = {"model_format": SKOPS, "signature": SIGNATURE, "framework": "sklearn", **fields}
    return client.register(model, regressor_bytes(), **fields)


def _job(**fields: Any) -> Any:
    return conversion_job_pb2.ConversionJob(**{"target_format": ONNX, **fields})


def _create(client: RegistryClient, model: str, **fields: Any) -> Any:
    return CONVERSION.create(client, model, _job(**fields))


def _run(client: RegistryClient, model: str, **fields: Any) -> Any:
    """Create a conversion job and wait for its end; the last observation."""
    return CONVERSION.run(client, model, _job(**fields))


@CASES.case(CORE, "conversions.skops-model-becomes-an-equivalent-onnx-version", "REG-051")
def converted(ctx: CaseContext) -> None:
    """A conversion of a READY SKOPS regressor succeeds: a new READY ONNX version of the same
    model whose parent is the source and whose signature is the source's, and an equivalence
    report within the default tolerance on `sample_rows` rows drawn with `seed`."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        source = _source(client, model)
        client.set_alias(f"{model}/aliases/prod", source.name)
        job = _run(
            client, model, source_model_version=f"{model}/aliases/prod", sample_rows=64, seed=7
        )
        job_lifecycle.check_succeeded(job)
        expect.equal(
            job.resolved_source_model_version, source.name, "resolved_source_model_version"
        )
        output = client.version(job.output_model_version)
        expect.holds(
            output.name.startswith(f"{model}/versions/") and output.name != source.name,
            f"a new version of {model}",
            output.name,
        )
        expect.equal(
            (output.state, output.artifact.format, output.lineage.parent_model_version),
            (READY, ONNX, source.name),
            "(state, artifact.format, lineage.parent_model_version) of the output",
        )
        expect.equal(output.signature, SIGNATURE, "the output's signature (the source's)")
        report = job.equivalence
        expect.equal(
            (report.sample_rows, report.seed, report.equivalent),
            (64, 7, True),
            "(sample_rows, seed, equivalent) of the report",
        )
        expect.equal(
            [(o.name, o.mismatched_elements) for o in report.outputs],
            [("variable", 0)],
            "(name, mismatched_elements) of each output",
        )
        expect.equal(client.model(model).version_count, 2, "version_count after the job")


@CASES.case(CORE, "conversions.outputs-beyond-the-tolerance-register-nothing", "REG-052")
def not_equivalent(ctx: CaseContext) -> None:
    """With a tolerance of 0 (absolute and relative), the float32 ONNX regressor's rounding
    differs from the float64 source: the job fails FAILED_PRECONDITION
    [CONVERSION_NOT_EQUIVALENT], keeps its report, and registers no version."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        source = _source(client, model)
        exact = conversion_job_pb2.EquivalenceTolerance(absolute=0.0, relative=0.0)
        job = _run(client, model, source_model_version=source.name, tolerance=exact, seed=3)
        report = job.equivalence
        if job.status.state == job_lifecycle.SUCCEEDED and all(
            o.max_absolute_difference == 0 for o in report.outputs
        ):
            raise Skipped(
                "the target's ONNX model reproduced the source bit for bit, so a tolerance of 0 "
                "could not force a non-equivalent conversion"
            )
        failed_with(job, grpc.StatusCode.FAILED_PRECONDITION, "CONVERSION_NOT_EQUIVALENT")
        expect.holds(
            report.equivalent is False and any(o.mismatched_elements for o in report.outputs),
            "the kept equivalence report, not equivalent, with mismatched elements",
            str(report),
        )
        expect.equal(job.output_model_version, "", "output_model_version")
        expect.equal(client.model(model).version_count, 1, "version_count after the job")


@CASES.case(CORE, "conversions.unconvertible-source-is-unsupported", "REG-052")
def unsupported(ctx: CaseContext) -> None:
    """A conversion of a READY version of format OTHER (nothing says what it holds) fails
    FAILED_PRECONDITION [CONVERSION_UNSUPPORTED] and registers nothing."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        source = client.register(model, random_bytes(256), model_format=OTHER, signature=SIGNATURE)
        job = _run(client, model, source_model_version=source.name)
        failed_with(job, grpc.StatusCode.FAILED_PRECONDITION, "CONVERSION_UNSUPPORTED")
        expect.equal(client.model(model).version_count, 1, "version_count after the job")


@CASES.case(CORE, "conversions.creation-checks-target-and-source-state", "REG-052")
def creation(ctx: CaseContext) -> None:
    """A target_format other than ONNX is INVALID_ARGUMENT [INVALID_FIELD] and a source that
    is not READY FAILED_PRECONDITION [VERSION_NOT_READY], both at creation: no job exists."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        source = _source(client, model)
        expect.fails_with(
            lambda: _create(client, model, source_model_version=source.name, target_format=SKOPS),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
        )
        pending = client.create_version(model, random_bytes(64), signature=SIGNATURE)
        expect.fails_with(
            lambda: _create(client, model, source_model_version=pending.name),
            grpc.StatusCode.FAILED_PRECONDITION,
            "VERSION_NOT_READY",
        )
        expect.equal(CONVERSION.listed(client, model), [], "the model's conversion jobs")


@CASES.case(CORE, "conversions.source-without-signature-input", "REG-052")
def without_signature(ctx: CaseContext) -> None:
    """A source without a signature input fails FAILED_PRECONDITION [SIGNATURE_REQUIRED] (at
    creation or as the job's failure) and registers nothing."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        bare = model_signature_pb2.ModelSignature(outputs=SIGNATURE.outputs)
        source = _source(client, model, signature=bare)
        job = _job(source_model_version=source.name)
        refused(
            CONVERSION,
            client,
            model,
            job,
            code=grpc.StatusCode.FAILED_PRECONDITION,
            reason="SIGNATURE_REQUIRED",
        )
        expect.equal(client.model(model).version_count, 1, "version_count after the attempt")

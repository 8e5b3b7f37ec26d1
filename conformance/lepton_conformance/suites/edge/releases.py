"""edge-fleet cases of the checks CreateRollout makes of a release and a strategy before it
stores anything: field rules of release.proto and rollout.proto, the release digest of the
canonical form, Ed25519 signatures, release files and servable artifacts (spec/edge.md
sections 2.5, 2.7 and 2.9; EDG-064, EDG-065, EDG-103, EDG-104, EDG-107), and releases a
hosted registry resolves (EDG-123)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import onnx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import release_pb2
from lepton.type.v1 import attestation_pb2, digest_pb2, model_format_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import unique_id
from lepton_conformance.suites.edge.fleet_rig import (
    KEY_ID,
    SIGNING_KEY,
    Fleet,
    R,
    descriptor,
    seconds,
    servable,
    signed_release,
    unsigned_release,
)
from lepton_conformance.suites.edge.profiles import FLEET
from lepton_conformance.suites.edge.release_signatures import release_digest, sign
from lepton_conformance.suites.inference.model_set import identity
from lepton_conformance.suites.registry.registry_client import SERVICE as REGISTRY
from lepton_conformance.suites.registry.registry_client import RegistryClient

CASES = CaseList()
INVALID = grpc.StatusCode.INVALID_ARGUMENT
Release = release_pb2.ModelRelease
File = release_pb2.ReleaseFile
VECTORS = release_pb2.RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS
ONNX = model_format_pb2.ModelFormat.MODEL_FORMAT_ONNX


def _create(fleet: Fleet, release: Release | None, strategy: R.RolloutStrategy | None = None):
    rollout = R.Rollout(release=release, strategy=strategy)
    return lambda: fleet.client.call(
        "CreateRollout", pb.CreateRolloutRequest(parent=fleet.deployment, rollout=rollout)
    )


def _nothing_created(fleet: Fleet) -> None:
    listed = fleet.client.walk("ListRollouts", pb.ListRolloutsRequest(parent=fleet.deployment))
    expect.equal([r.name for r in listed], [], "rollouts after refused CreateRollout calls")


def _edited(release: Release, edit: Callable[[Release], object]) -> Release:
    """A signed copy of `release` after `edit`: the signature is valid, so only the edited
    rule can be broken."""
    copy = Release()
    copy.CopyFrom(release)
    edit(copy)
    return sign(copy, SIGNING_KEY, KEY_ID)


@CASES.case(FLEET, "releases.create-rollout-checks-the-release-fields", "EDG-064")
def release_fields(ctx: CaseContext) -> None:
    """CreateRollout refuses, with INVALID_FIELD and a violation on the field, a missing
    release, runtime or artifact (a server hosting a registry fills a missing one instead,
    EDG-123), an artifact size <= 0 or a digest that is not SHA-256, an entry_path for a
    single-file artifact, health check durations out of range; a malformed model_version is
    INVALID_NAME; nothing is created."""
    with Fleet(ctx) as fleet:
        artifact = servable(ctx, fleet.client)
        base = unsigned_release(artifact)
        expect.rejects(_create(fleet, None), INVALID, "INVALID_FIELD", field="rollout.release")
        field = "rollout.release"
        without_artifact = (lambda r: r.ClearField("artifact"), f"{field}.artifact")
        for edit, path in (
            (lambda r: r.ClearField("runtime_config"), f"{field}.runtime_config"),
            *(() if ctx.info.serves(REGISTRY) else (without_artifact,)),
            (lambda r: setattr(r.artifact, "size_bytes", 0), f"{field}.artifact"),
            (
                lambda r: setattr(
                    r.artifact.digest, "algorithm", digest_pb2.DIGEST_ALGORITHM_UNSPECIFIED
                ),
                f"{field}.artifact",
            ),
            (lambda r: setattr(r.artifact.digest, "hex", "ABC"), f"{field}.artifact"),
            (lambda r: setattr(r, "entry_path", "model.onnx"), f"{field}.entry_path"),
            (
                lambda r: r.health_check.timeout.CopyFrom(seconds(0.5)),
                f"{field}.health_check",
            ),
            (
                lambda r: r.health_check.stability_period.CopyFrom(seconds(25 * 3600)),
                f"{field}.health_check",
            ),
        ):
            expect.rejects(
                _create(fleet, _edited(base, edit)), INVALID, "INVALID_FIELD", field=path
            )
        expect.rejects(
            _create(fleet, _edited(base, lambda r: setattr(r, "model_version", "models/X"))),
            INVALID,
            "INVALID_NAME",
            field=f"{field}.model_version",
        )
        _nothing_created(fleet)


@CASES.case(FLEET, "releases.create-rollout-checks-the-strategy", "EDG-064")
def strategy_fields(ctx: CaseContext) -> None:
    """CreateRollout refuses, with INVALID_FIELD on the strategy, stages not strictly
    increasing, mixing percent and count, a percent outside (0, 100], a count <= 0, more
    than 100 stages, min_healthy_percent outside [0, 100], failure_threshold_percent outside
    (0, 100], a negative min_completed_device_count and a device_timeout outside 1 second …
    30 days."""
    with Fleet(ctx) as fleet:
        release = signed_release(servable(ctx, fleet.client))
        Stage = R.RolloutStage
        for strategy in (
            R.RolloutStrategy(stages=[Stage(percent=50), Stage(percent=50)]),
            R.RolloutStrategy(stages=[Stage(percent=50), Stage(percent=20)]),
            R.RolloutStrategy(stages=[Stage(percent=50), Stage(device_count=10)]),
            R.RolloutStrategy(stages=[Stage(percent=0)]),
            R.RolloutStrategy(stages=[Stage(percent=150)]),
            R.RolloutStrategy(stages=[Stage(device_count=0)]),
            R.RolloutStrategy(stages=[Stage(device_count=i + 1) for i in range(101)]),
            R.RolloutStrategy(stages=[Stage()]),
            R.RolloutStrategy(default_gate=R.HealthGate(min_healthy_percent=101)),
            R.RolloutStrategy(default_gate=R.HealthGate(min_healthy_percent=-1)),
            R.RolloutStrategy(abort_criteria=R.AbortCriteria(failure_threshold_percent=0)),
            R.RolloutStrategy(abort_criteria=R.AbortCriteria(failure_threshold_percent=101)),
            R.RolloutStrategy(
                abort_criteria=R.AbortCriteria(
                    failure_threshold_percent=10, min_completed_device_count=-1
                )
            ),
            R.RolloutStrategy(device_timeout=seconds(0.5)),
            R.RolloutStrategy(device_timeout=seconds(31 * 86400)),
        ):
            expect.rejects(
                _create(fleet, release, strategy),
                INVALID,
                "INVALID_FIELD",
                field="rollout.strategy",
            )
        _nothing_created(fleet)


@CASES.case(
    FLEET,
    "releases.create-rollout-checks-digest-signatures-and-files",
    "EDG-103",
    "EDG-104",
    "EDG-107",
    "EDG-065",
)
def digest_signatures(ctx: CaseContext) -> None:
    """CreateRollout refuses a release_digest other than the SHA-256 of the canonical form
    (INVALID_FIELD on rollout.release.release_digest); no signature, a signature by another
    key than the public key it carries, a key of the wrong length, an empty key_id or an
    unspecified scheme (RELEASE_SIGNATURE_INVALID, metadata key_id); bad release files and
    overridable parameters (INVALID_FIELD); an artifact or file the server cannot serve
    (ARTIFACT_NOT_AVAILABLE, metadata digest). A valid release is stored with the canonical
    digest."""
    with Fleet(ctx) as fleet:
        artifact = servable(ctx, fleet.client)
        base = unsigned_release(artifact)
        field = "rollout.release"

        def wrong_digest(r: Release) -> None:
            r.release_digest.hex = "0" * 64

        signed = sign(base, SIGNING_KEY, KEY_ID)
        wrong = Release()
        wrong.CopyFrom(signed)
        wrong_digest(wrong)
        expect.rejects(
            _create(fleet, wrong), INVALID, "INVALID_FIELD", field=f"{field}.release_digest"
        )
        unsigned = Release()
        unsigned.CopyFrom(signed)
        del unsigned.signatures[:]
        expect.rejects(_create(fleet, unsigned), INVALID, "RELEASE_SIGNATURE_INVALID")
        other = Ed25519PrivateKey.generate()
        # Made by another key, but naming the signing key's public key: it cannot verify.
        forged = sign(base, other, "forged-key")
        forged.signatures[0].public_key = signed.signatures[0].public_key
        expect.rejects(
            _create(fleet, forged),
            INVALID,
            "RELEASE_SIGNATURE_INVALID",
            metadata={"key_id": "forged-key"},
        )
        for key_id, tweak in (
            ("short-key", lambda s: setattr(s, "public_key", s.public_key[:31])),
            ("", lambda s: None),
            (
                "no-scheme",
                lambda s: setattr(s, "scheme", attestation_pb2.SIGNATURE_SCHEME_UNSPECIFIED),
            ),
            ("short-signature", lambda s: setattr(s, "signature", s.signature[:63])),
        ):
            bad = sign(base, SIGNING_KEY, key_id)
            tweak(bad.signatures[0])
            expect.fails_with(_create(fleet, bad), INVALID, "RELEASE_SIGNATURE_INVALID")
        model = File(path="model", artifact=artifact)
        files = [
            ([File(path=f"f{i}", artifact=artifact) for i in range(65)], f"{field}.files"),
            ([File(path="", artifact=artifact)], f"{field}.files"),
            ([File(path="/etc/passwd", artifact=artifact)], f"{field}.files"),
            ([File(path="a/../b", artifact=artifact)], f"{field}.files"),
            ([File(path="a", artifact=artifact), File(path="a", artifact=artifact)], None),
            ([model], f"{field}.files"),
        ]
        for entries, path in files:
            bad = _edited(base, lambda r, entries=entries: r.files.extend(entries))
            expect.rejects(_create(fleet, bad), INVALID, "INVALID_FIELD", field=path or field)
        for edit in (
            lambda r: (r.parameters.update(k="v"), r.overridable_parameters.extend(["k", "k"])),
            lambda r: r.overridable_parameters.append("absent"),
            lambda r: setattr(r.health_check, "skip_inference_test", False),
            lambda r: (
                setattr(r.health_check, "skip_inference_test", False),
                setattr(r.health_check, "vectors_path", "vectors.pb"),
                r.files.append(File(path="vectors.pb", artifact=artifact)),
            ),
        ):
            expect.rejects(
                _create(fleet, _edited(base, edit)), INVALID, "INVALID_FIELD", field=field
            )
        absent = descriptor(b"bytes no server was given by the conformance suite")
        for edit in (
            lambda r: r.artifact.CopyFrom(absent),
            lambda r: r.files.append(File(path="labels.txt", artifact=absent)),
        ):
            expect.rejects(
                _create(fleet, _edited(base, edit)),
                grpc.StatusCode.FAILED_PRECONDITION,
                "ARTIFACT_NOT_AVAILABLE",
                metadata={"digest": absent.digest.hex},
            )
        _nothing_created(fleet)
        vectors = _edited(
            base,
            lambda r: (
                setattr(r.health_check, "skip_inference_test", False),
                setattr(r.health_check, "vectors_path", "vectors.pb"),
                r.files.append(File(path="vectors.pb", artifact=artifact, role=VECTORS)),
            ),
        )
        stored = fleet.create(vectors).release
        expect.equal(stored.release_digest, release_digest(vectors), "the stored release_digest")
        expect.equal(list(stored.signatures), list(vectors.signatures), "the stored signatures")


@CASES.case(FLEET, "releases.a-hosted-registry-resolves-the-release", "EDG-123")
def registry_release(ctx: CaseContext) -> None:
    """On a server that also hosts the registry: a release naming a registry alias, without
    artifact or format, and signed over its filled form is stored with the concrete
    version, the version's artifact and format and the filled form's digest, and
    DownloadArtifact serves the version's bytes though nobody uploaded them to the fleet; a
    missing alias is NOT_FOUND and a version not READY is VERSION_NOT_READY."""
    ctx.require_service(REGISTRY)
    registry = RegistryClient(ctx)
    # Bytes of this run only, so the fleet cannot hold them from an earlier upload.
    model = identity(onnx.TensorProto.FLOAT, "identity_fp32")
    model.doc_string = unique_id("edge-registry")
    data = model.SerializeToString()
    with registry.scratch("edge") as model_name, Fleet(ctx) as fleet:
        version = registry.register(model_name, data, model_format=ONNX)
        alias = f"{model_name}/aliases/fleet"
        registry.set_alias(alias, version.name)
        filled = unsigned_release(version.artifact.descriptor, format=ONNX)
        filled.model_version = version.name
        filled = sign(filled, SIGNING_KEY, KEY_ID)
        sent = Release()
        sent.CopyFrom(filled)
        sent.model_version = alias
        for unset in ("artifact", "format", "release_digest"):
            sent.ClearField(unset)
        stored = fleet.create(sent).release
        expect.equal(
            (stored.model_version, stored.artifact.digest.hex, stored.format),
            (version.name, version.artifact.descriptor.digest.hex, ONNX),
            "the stored release's (model_version, artifact digest, format)",
        )
        expect.equal(stored.release_digest, filled.release_digest, "release_digest")
        request = pb.DownloadArtifactRequest(digest=stored.artifact.digest)
        _, chunks = _download(fleet, request)
        expect.holds(
            b"".join(c.data for c in chunks) == data,
            "DownloadArtifact to serve the registry version's bytes",
            f"{sum(len(c.data) for c in chunks)} bytes that differ",
        )
        missing = Release()
        missing.CopyFrom(sent)
        missing.model_version = f"{model_name}/aliases/absent"
        expect.rejects(_create(fleet, missing), grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND")
        pending = registry.create_version(model_name, data, model_format=ONNX)
        missing.model_version = pending.name
        expect.rejects(
            _create(fleet, missing), grpc.StatusCode.FAILED_PRECONDITION, "VERSION_NOT_READY"
        )


def _download(fleet: Fleet, request: pb.DownloadArtifactRequest) -> tuple[object, list]:
    messages = expect.succeeds(
        lambda: list(fleet.client.call("DownloadArtifact", request)), "DownloadArtifact"
    )
    return messages[0].artifact, [m.chunk for m in messages[1:]]

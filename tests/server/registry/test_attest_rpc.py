"""AttestModelVersion against a real server (REG-049, REG-050): a signed release attached to a
READY version, checked offline afterwards; invalid attestations attach nothing."""

from __future__ import annotations

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from registry_calls import create_model, create_version, expect_error, ready_version

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.type.v1 import attestation_pb2, model_format_pb2
from lepton_ai.registry import dsse_envelopes

ONNX = model_format_pb2.MODEL_FORMAT_ONNX
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def attest(stub, name: str, attestation: attestation_pb2.Attestation):
    return stub.AttestModelVersion(
        pb.AttestModelVersionRequest(name=name, attestation=attestation), timeout=10
    ).model_version


def release(key, version) -> attestation_pb2.Attestation:
    sha256 = version.artifact.descriptor.digest.hex
    return dsse_envelopes.sign_release(key, "release-key", sha256, version.name, ONNX)


def test_a_signed_release_is_appended_and_verifies_offline(stub, key):
    model = create_model(stub)
    version = ready_version(stub, model, b"release me")
    given = release(key, version)
    given.creator = "someone else"  # output only: ignored
    attested = attest(stub, version.name, given)
    (stored,) = attested.attestations
    assert stored.predicate_type == dsse_envelopes.RELEASE_PREDICATE
    assert stored.creator == ""  # a server without authentication
    assert stored.HasField("create_time")
    assert (stored.payload, stored.signatures) == (given.payload, given.signatures)
    # Nothing else of the version changes, its etag and update time included.
    unchanged = type(attested)()
    unchanged.CopyFrom(attested)
    unchanged.ClearField("attestations")
    assert unchanged == version
    second = attest(stub, version.name, release(key, version))
    assert len(second.attestations) == 2
    fetched = stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name), timeout=10)
    sha256 = version.artifact.descriptor.digest.hex
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    trusted = {"release-key": public}
    found = dsse_envelopes.verify_trusted(list(fetched.model_version.attestations), sha256, trusted)
    assert found == stored


def test_attesting_emits_version_attested(stub, key):
    model = create_model(stub)
    version = ready_version(stub, model, b"watched")
    attest(stub, version.name, release(key, version))
    stream = stub.WatchModelEvents(pb.WatchModelEventsRequest(models=[model]), timeout=10)
    events = []
    for response in stream:
        events.extend(response.events)
        if any(e.type == ev.MODEL_EVENT_TYPE_VERSION_ATTESTED for e in events):
            break
    stream.cancel()
    attested = [e for e in events if e.type == ev.MODEL_EVENT_TYPE_VERSION_ATTESTED]
    assert [e.model_version for e in attested] == [version.name]


def test_invalid_attestations_attach_nothing(stub, key):
    model = create_model(stub)
    version = ready_version(stub, model, b"guarded")
    good = release(key, version)
    wrong_type = attestation_pb2.Attestation()
    wrong_type.CopyFrom(good)
    wrong_type.payload_type = "application/json"
    expect_error(lambda: attest(stub, version.name, wrong_type), INVALID, "INVALID_FIELD")
    unsigned = attestation_pb2.Attestation(payload_type=good.payload_type, payload=good.payload)
    expect_error(lambda: attest(stub, version.name, unsigned), INVALID, "INVALID_FIELD")
    other = dsse_envelopes.sign_release(key, "release-key", "0" * 64, version.name, ONNX)
    expect_error(lambda: attest(stub, version.name, other), INVALID, "ATTESTATION_SUBJECT_MISMATCH")
    forged = attestation_pb2.Attestation()
    forged.CopyFrom(good)
    forged.signatures[0].signature = Ed25519PrivateKey.generate().sign(b"something else")
    expect_error(lambda: attest(stub, version.name, forged), INVALID, "SIGNATURE_INVALID")
    fetched = stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name), timeout=10)
    assert not fetched.model_version.attestations


def test_only_a_concrete_ready_version_is_attested(stub, key):
    model = create_model(stub)
    pending = create_version(stub, model, b"not uploaded")
    expect_error(
        lambda: attest(stub, pending.name, release(key, pending)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_NOT_READY",
    )
    expect_error(
        lambda: attest(stub, f"{model}/aliases/latest", release(key, pending)),
        INVALID,
        "INVALID_NAME",
    )
    expect_error(
        lambda: attest(stub, f"{model}/versions/99", release(key, pending)),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )

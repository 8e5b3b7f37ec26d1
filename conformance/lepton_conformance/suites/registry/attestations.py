"""registry-core cases of attestations (spec/registry.md, "Signatures and attestations"): a
signed in-toto statement about a READY version's artifact is appended with what the server
records, and every envelope the spec refuses attaches nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.registry.v1 import model_event_pb2 as events_pb
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.type.v1 import attestation_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry import attestation_envelopes as envelopes
from lepton_conformance.suites.registry.events import read_events
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    SERVICE,
    RegistryClient,
    random_bytes,
)

CASES = CaseList()
WATCH = "registry.watch"


def _attest(client: RegistryClient, name: str, attestation: attestation_pb2.Attestation):
    request = pb.AttestModelVersionRequest(name=name, attestation=attestation)
    return client.call("AttestModelVersion", request).model_version


def _release(version) -> attestation_pb2.Attestation:
    """A valid release attestation of `version`'s artifact."""
    statement = envelopes.release_statement(
        version.artifact.descriptor.digest.hex, version.name, "MODEL_FORMAT_OTHER"
    )
    return envelopes.signed(statement)


def _without_attestations(version):
    copy = type(version)()
    copy.CopyFrom(version)
    copy.ClearField("attestations")
    return copy


@CASES.case(CORE, "attestations.signed-statement-is-appended", "REG-049")
def appended(ctx: CaseContext) -> None:
    """A signed release statement about a READY version is appended to its attestations with
    predicate_type, creator and create_time set, nothing else of the version changes, and
    (with registry.watch) VERSION_ATTESTED is emitted."""
    client = RegistryClient(ctx)
    with client.scratch() as model:
        version = client.register(model, random_bytes(64))
        before = client.version(version.name)
        first, second = _release(version), _release(version)
        answered = _attest(client, version.name, first)
        _attest(client, version.name, second)
        after = client.version(version.name)
        expect.equal(len(answered.attestations), 1, "attestations in the first answer")
        expect.equal(len(after.attestations), 2, "attestations after two calls")
        for got, sent in zip(after.attestations, (first, second), strict=True):
            expect.equal(
                (got.payload_type, got.payload, list(got.signatures)),
                (sent.payload_type, sent.payload, list(sent.signatures)),
                "the stored envelope (payload_type, payload, signatures)",
            )
            expect.equal(got.predicate_type, envelopes.RELEASE_PREDICATE, "predicate_type")
            expect.holds(got.HasField("create_time"), "create_time set", "unset")
            # The same credential created the version: the same principal, or both empty.
            expect.equal(got.creator, version.creator, "creator (the version's creator's)")
        expect.equal(
            _without_attestations(after),
            _without_attestations(before),
            "the version apart from its attestations",
        )
        if ctx.info.has_feature(SERVICE, WATCH):
            ctx.uses_feature(WATCH)
            # MODEL_CREATED, VERSION_CREATED, VERSION_READY, then the two attestations.
            got, _ = read_events(client, model, 5)
            attested = [e for e in got if e.type == events_pb.MODEL_EVENT_TYPE_VERSION_ATTESTED]
            expect.equal(
                [e.model_version for e in attested],
                [version.name, version.name],
                "VERSION_ATTESTED events of the version",
            )


@CASES.case(CORE, "attestations.only-concrete-ready-versions", "REG-049")
def not_ready(ctx: CaseContext) -> None:
    """AttestModelVersion on a PENDING version is FAILED_PRECONDITION [VERSION_NOT_READY] and
    through an alias INVALID_ARGUMENT [INVALID_NAME]; neither attaches anything."""
    client = RegistryClient(ctx)
    with client.scratch() as model:
        pending = client.create_version(model, random_bytes(64))
        expect.fails_with(
            lambda: _attest(client, pending.name, _release(pending)),
            grpc.StatusCode.FAILED_PRECONDITION,
            "VERSION_NOT_READY",
        )
        ready = client.register(model, random_bytes(64))
        client.set_alias(f"{model}/aliases/prod", ready.name)
        expect.fails_with(
            lambda: _attest(client, f"{model}/aliases/prod", _release(ready)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_NAME",
        )
        for name in (pending.name, ready.name):
            expect.equal(len(client.version(name).attestations), 0, f"attestations of {name}")


def _refused(
    ctx: CaseContext, reason: str, make: Callable[[object], attestation_pb2.Attestation]
) -> None:
    """`make(version)` for a READY version is refused with INVALID_ARGUMENT [reason] and
    attaches nothing."""
    client = RegistryClient(ctx)
    with client.scratch() as model:
        version = client.register(model, random_bytes(64))
        expect.fails_with(
            lambda: _attest(client, version.name, make(version)),
            grpc.StatusCode.INVALID_ARGUMENT,
            reason,
        )
        expect.equal(len(client.version(version.name).attestations), 0, "attestations")


def _statement_of(version, **changes: object) -> bytes:
    statement = json.loads(_release(version).payload)
    statement.update(changes)
    return json.dumps(statement).encode()


# Envelopes REG-050 refuses with INVALID_FIELD: each built for a READY version.
MALFORMED: dict[str, Callable[[object], attestation_pb2.Attestation]] = {
    "payload-type-not-in-toto": lambda v: envelopes.signed(
        _release(v).payload, payload_type="application/json"
    ),
    "payload-not-a-statement": lambda v: envelopes.signed(b'{"hello": "world"}'),
    "payload-not-json": lambda v: envelopes.signed(b"\xff not json"),
    "statement-of-another-type": lambda v: envelopes.signed(
        _statement_of(v, _type="https://in-toto.io/Statement/v0.9")
    ),
    "no-signature": lambda v: attestation_pb2.Attestation(
        payload_type=envelopes.PAYLOAD_TYPE, payload=_release(v).payload
    ),
}


def _register_malformed() -> None:
    for kind, make in MALFORMED.items():

        def body(ctx: CaseContext, make=make) -> None:
            _refused(ctx, "INVALID_FIELD", make)

        body.__doc__ = f"An attestation with {kind.replace('-', ' ')} is INVALID_ARGUMENT "
        body.__doc__ += "[INVALID_FIELD] and attaches nothing."
        CASES.case(CORE, f"attestations.malformed.{kind}", "REG-050")(body)


_register_malformed()


@CASES.case(CORE, "attestations.subject-must-name-the-artifact", "REG-050")
def subject_mismatch(ctx: CaseContext) -> None:
    """A signed statement whose subject holds another SHA-256 is INVALID_ARGUMENT
    [ATTESTATION_SUBJECT_MISMATCH] and attaches nothing."""
    other = "0" * 64

    def make(version) -> attestation_pb2.Attestation:
        return envelopes.signed(envelopes.release_statement(other, version.name, "X"))

    _refused(ctx, "ATTESTATION_SUBJECT_MISMATCH", make)


@CASES.case(CORE, "attestations.signature-from-another-key-is-invalid", "REG-050")
def wrong_key(ctx: CaseContext) -> None:
    """An Ed25519 signature that does not verify with the public key beside it (made by
    another key) is INVALID_ARGUMENT [SIGNATURE_INVALID] and attaches nothing."""

    def make(version) -> attestation_pb2.Attestation:
        attestation = _release(version)
        signer, claimed = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        attestation.signatures[0].CopyFrom(
            envelopes.signature(
                signer, attestation.payload, public_key=envelopes.raw_public_key(claimed)
            )
        )
        return attestation

    _refused(ctx, "SIGNATURE_INVALID", make)


@CASES.case(CORE, "attestations.signature-over-other-bytes-is-invalid", "REG-050")
def not_over_pae(ctx: CaseContext) -> None:
    """A signature over the bare payload instead of PAE(payload_type, payload) is
    INVALID_ARGUMENT [SIGNATURE_INVALID] and attaches nothing."""

    def make(version) -> attestation_pb2.Attestation:
        attestation = _release(version)
        key = Ed25519PrivateKey.generate()
        attestation.signatures[0].public_key = envelopes.raw_public_key(key)
        attestation.signatures[0].signature = key.sign(attestation.payload)
        return attestation

    _refused(ctx, "SIGNATURE_INVALID", make)

"""AttestModelVersion (REG-049, REG-050): a verified attestation appended to a READY version.

The attestation is checked by `attestations.verify_attestation` against the version's artifact
SHA-256, then appended with its predicate type, creator and create time, and
VERSION_ATTESTED is emitted in the same transaction. Nothing else of the version changes:
neither its `etag` (which follows description and labels, the fields a client edits) nor its
`update_time` (state, description, labels, aliases)."""

from __future__ import annotations

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import attestation_pb2
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.registry import model_names
from lepton_server.registry.attestations import verify_attestation
from lepton_server.registry.events import EventLog
from lepton_server.registry.records import READY, Records, not_ready
from lepton_server.runtime.principals import current_principal


class VersionAttestations:
    """Attaches attestations to versions."""

    def __init__(self, records: Records, events: EventLog) -> None:
        self.records = records
        self.events = events

    def attest(self, request: pb.AttestModelVersionRequest) -> mv.ModelVersion:
        ref = model_names.parse_version(request.name, "name")
        _, row = self.records.resolve(ref)
        if row.state != READY:
            raise not_ready(request.name)
        attestation = attestation_pb2.Attestation(
            payload_type=request.attestation.payload_type,
            payload=request.attestation.payload,
            signatures=request.attestation.signatures,
        )  # the output-only fields of the request are ignored
        sha256 = self.records.stored_version(row).artifact.descriptor.digest.hex
        attestation.predicate_type = verify_attestation(attestation, sha256)
        attestation.creator = current_principal()
        with self.events.committing():
            # Read again: the version may have been deleted during the verification.
            model, row = self.records.resolve(ref)
            version = self.records.stored_version(row)
            attestation.create_time.CopyFrom(timestamp(now_ns()))
            version.attestations.append(attestation)
            self.records.save_version(model, row.number, version)
            self.events.record(
                ev.MODEL_EVENT_TYPE_VERSION_ATTESTED,
                model_names.model_name(model.id),
                model_version=request.name,
            )
        stored = self.records.store.version(model.uid, row.number)
        return self.records.version_message(model, stored)

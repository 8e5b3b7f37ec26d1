"""Device registration (spec/edge.md 2.1 "Register resolution", EDG-019 to EDG-025,
EDG-106): single-use challenges, proof of possession of the device's Ed25519 key over the
challenge, binding the key with a bootstrap token, and the answer by approval state."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lepton.edge.v1 import device_agent_service_pb2 as pb
from lepton.edge.v1 import device_pb2
from lepton_server.aip.labels import check_labels
from lepton_server.aip.resource_names import check_id
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.edge.device_events import Change
from lepton_server.edge.device_tokens import DeviceTokens
from lepton_server.edge.devices import (
    APPROVED,
    DECOMMISSIONED,
    REJECTED,
    Devices,
    device_message,
)
from lepton_server.edge.fleet_database import FleetDatabase
from lepton_server.edge.telemetry_store import DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_RECORDS
from lepton_server.runtime.errors import PermissionDenied, Unauthenticated, invalid_field

PROOF_CONTEXT = b"lepton.edge.v1.Register"
PUBLIC_KEY_BYTES = 32
MAX_BOOT_ID = 128
MAX_AGENT_VERSION = 128


def registration_proof(challenge: bytes, device_id: str, boot_id: str) -> bytes:
    """The bytes the device key signs in Register (EDG-106)."""
    return b"\0".join((PROOF_CONTEXT, challenge, device_id.encode(), boot_id.encode()))


def agent_settings(device: device_pb2.Device) -> pb.AgentSettings:
    """The settings an agent must use; report_interval as the device reads it."""
    settings = pb.AgentSettings(
        # The limits UploadTelemetry enforces (EDG-051), announced so an agent's batches
        # fit them (EDG-020: at least 1000 records and 4 MiB).
        max_telemetry_batch_record_count=DEFAULT_MAX_BATCH_RECORDS,
        max_telemetry_batch_bytes=DEFAULT_MAX_BATCH_BYTES,
    )
    settings.report_interval.CopyFrom(device.report_interval)
    return settings


@dataclass(frozen=True)
class RegistrationTimes:
    """How long challenges live and how long a PENDING device waits, in ns."""

    challenge_ttl_ns: int
    pending_retry_after_ns: int


class Registration:
    """CreateRegistrationChallenge and Register."""

    def __init__(
        self, db: FleetDatabase, devices: Devices, tokens: DeviceTokens, times: RegistrationTimes
    ) -> None:
        self.db = db
        self.devices = devices
        self.tokens = tokens
        self.times = times

    def create_challenge(
        self, request: pb.CreateRegistrationChallengeRequest
    ) -> pb.CreateRegistrationChallengeResponse:
        if request.device_id:
            check_id(request.device_id, "device_id", "device_id")
        challenge = secrets.token_bytes(32)
        expire = now_ns() + self.times.challenge_ttl_ns
        self.db.add_challenge(challenge, request.device_id, expire)
        return pb.CreateRegistrationChallengeResponse(
            challenge=challenge, expire_time=timestamp(expire)
        )

    def register(self, request: pb.RegisterRequest) -> pb.RegisterResponse:
        # The challenge is spent by any Register that presents it, whatever the outcome.
        issued = self.db.take_challenge(request.challenge) if request.challenge else None
        _check_request(request)
        now = now_ns()
        if issued is None or issued[1] <= now or issued[0] not in ("", request.device_id):
            raise Unauthenticated(
                reason="REGISTRATION_CHALLENGE_INVALID",
                message="the challenge is unknown, used, expired or issued for another device",
            )
        _verify_proof(request)
        key = request.device_public_key
        with self.db.atomic():
            name = self._resolve(request, key, now)
            row = self.devices.row(name)
            device = row.device
            if row.public_key != key:
                # Bound now (step 4): the old key's access tokens go (EDG-023).
                self.tokens.revoke(name)
                self.tokens.consume_bootstrap(name)
                row.public_key = key
                if not device.HasField("register_time"):
                    device.register_time.CopyFrom(timestamp(now))
            state = device.approval_state
            # Step 9 only for an admitted device: a refused Register is no successful call,
            # so it leaves capabilities, boot id and last-seen time alone (EDG-015).
            admitted = state not in (REJECTED, DECOMMISSIONED)
            changes = []
            if admitted:
                changes = [Change.REGISTERED, *self.devices.seen(row, now)]
                if request.HasField("capabilities"):
                    device.capabilities.CopyFrom(request.capabilities)
                device.boot_id = request.boot_id
                device.agent_version = request.agent_version
            self.db.put_device(row)
            for change in changes:
                self.db.after_commit(lambda change=change: self.devices.events.emit(name, change))
        # Step 8 after the binding is stored: a rejected device keeps the key it proved.
        if not admitted:
            reason = "DEVICE_REJECTED" if state == REJECTED else "DEVICE_DECOMMISSIONED"
            raise PermissionDenied(
                reason=reason, message=f"{name} is not admitted", metadata={"device": name}
            )
        response = pb.RegisterResponse(
            device=name, approval_state=state, server_time=timestamp(now_ns())
        )
        if state != APPROVED:
            response.retry_after.FromNanoseconds(self.times.pending_retry_after_ns)
            return response
        token, expire = self.tokens.issue_access(name, now)
        response.access_token = token
        response.access_token_expire_time.CopyFrom(timestamp(expire))
        response.settings.CopyFrom(agent_settings(device_message(row, now)))
        return response

    def _resolve(self, request: pb.RegisterRequest, key: bytes, now: int) -> str:
        """The device the request identifies, with the key bound to it or bindable by the
        request's bootstrap token (steps 2 to 7 of the resolution)."""
        token_device = self.tokens.bootstrap_device(request.bootstrap_token, now)
        if request.device_id:
            name = f"devices/{request.device_id}"
            if token_device is not None and token_device != name:
                raise _bootstrap_invalid("the bootstrap token names another device")
        elif token_device is not None:
            name = token_device
        else:
            bound = self.db.device_with_key(key)
            if bound is None:
                raise _bootstrap_invalid("no device is bound to this key and no token names one")
            name = bound.device.name
        row = self.db.device(name)
        if row is None:
            raise _bootstrap_invalid(f"{name} does not exist")
        if row.public_key == key or token_device == name:
            return name
        if row.public_key is not None:
            raise PermissionDenied(
                reason="DEVICE_KEY_MISMATCH",
                message=f"{name} is bound to another key; bind a new one with a bootstrap token",
                metadata={"device": name},
            )
        raise _bootstrap_invalid("the bootstrap token is missing, unknown, expired or used")


def _bootstrap_invalid(message: str) -> Unauthenticated:
    return Unauthenticated(reason="BOOTSTRAP_TOKEN_INVALID", message=message)


def _check_request(request: pb.RegisterRequest) -> None:
    """Step 1: INVALID_FIELD / INVALID_NAME (EDG-019, EDG-106)."""
    if len(request.device_public_key) != PUBLIC_KEY_BYTES:
        raise invalid_field(
            "device_public_key", "must be a raw 32-byte Ed25519 public key (RFC 8032)"
        )
    boot_id = request.boot_id
    if not 1 <= len(boot_id) <= MAX_BOOT_ID or not all(" " <= c <= "~" for c in boot_id):
        raise invalid_field("boot_id", "must be 1-128 printable ASCII characters")
    if len(request.agent_version) > MAX_AGENT_VERSION:
        raise invalid_field("agent_version", "at most 128 characters")
    check_labels(request.labels, "labels")
    if request.device_id:
        check_id(request.device_id, "device_id", "device_id")


def _verify_proof(request: pb.RegisterRequest) -> None:
    """DEVICE_KEY_SIGNATURE_INVALID unless challenge_signature verifies (EDG-106)."""
    proof = registration_proof(request.challenge, request.device_id, request.boot_id)
    try:
        key = Ed25519PublicKey.from_public_bytes(request.device_public_key)
        key.verify(request.challenge_signature, proof)
    except (InvalidSignature, ValueError):
        raise Unauthenticated(
            reason="DEVICE_KEY_SIGNATURE_INVALID",
            message="challenge_signature is not the device key's signature of the proof",
        ) from None

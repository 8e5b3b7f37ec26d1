"""edge-fleet cases of registration and device authentication: the challenge and its proof,
request validation, the Register resolution of section 2.1 with bootstrap tokens, approval
and key rebinding, device access tokens on DeviceAgentService and their refusal on
EdgeService, connection state, and what decommissioning revokes (EDG-010, EDG-015, EDG-016,
EDG-019 to EDG-027, EDG-106)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_state_pb2, telemetry_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.devices import seconds, state
from lepton_conformance.suites.edge.edge_client import (
    APPROVED,
    NEVER_CONNECTED,
    OFFLINE,
    ONLINE,
    PENDING,
    PROMPT_S,
    AgentClient,
    DeviceKey,
    FleetClient,
    absent_digest,
    capabilities,
    enrol,
    eventually,
    unique_id,
)
from lepton_conformance.suites.edge.profiles import FLEET
from lepton_conformance.suites.edge.sync_driver import SyncStream, hello

CASES = CaseList()
INVALID = grpc.StatusCode.INVALID_ARGUMENT
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED


def _nanos(time_: timestamp_pb2.Timestamp) -> int:
    return time_.seconds * 10**9 + time_.nanos


@CASES.case(FLEET, "registration.challenges-are-fresh-and-single-use", "EDG-106")
def challenges(ctx: CaseContext) -> None:
    """CreateRegistrationChallenge returns 32 fresh random bytes valid for at least 60 s;
    Register consumes the challenge whatever its outcome, so a replayed successful request,
    an unknown challenge or one issued for another device_id is UNAUTHENTICATED
    [REGISTRATION_CHALLENGE_INVALID], and a proof that does not verify with
    device_public_key is UNAUTHENTICATED [DEVICE_KEY_SIGNATURE_INVALID]."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device_id = unique_id()
        created = fleet.create_device(device_id)
        started = time.monotonic()
        first = agent.challenge(device_id)
        second = agent.challenge(device_id)
        expect.holds(
            len(first.challenge) == 32 and len(second.challenge) == 32,
            "challenges of 32 bytes",
            f"{len(first.challenge)} and {len(second.challenge)} bytes",
        )
        expect.holds(first.challenge != second.challenge, "two different challenges", "equal")
        key = DeviceKey.generate()
        request = agent.register_request(
            key, device_id, created.bootstrap_token, challenge=first.challenge
        )
        answer = expect.succeeds(lambda: agent.call("Register", request), "Register")
        elapsed = time.monotonic() - started
        expect.holds(
            _nanos(first.expire_time) - _nanos(answer.server_time) >= (60 - elapsed) * 10**9,
            "expire_time at least 60 s after issue",
            f"expire_time {first.expire_time.ToJsonString()}, server_time "
            f"{answer.server_time.ToJsonString()} {elapsed:.1f} s after issue",
        )
        replay = agent.call
        expect.fails_with(
            lambda: replay("Register", request), UNAUTHENTICATED, "REGISTRATION_CHALLENGE_INVALID"
        )
        unknown = agent.register_request(key, device_id, challenge=secrets.token_bytes(32))
        expect.fails_with(
            lambda: agent.call("Register", unknown),
            UNAUTHENTICATED,
            "REGISTRATION_CHALLENGE_INVALID",
        )
        foreign = agent.challenge(unique_id()).challenge
        other = agent.register_request(key, device_id, challenge=foreign)
        expect.fails_with(
            lambda: agent.call("Register", other),
            UNAUTHENTICATED,
            "REGISTRATION_CHALLENGE_INVALID",
        )
        wrong_key = agent.register_request(key, device_id, challenge=second.challenge)
        wrong_key.challenge_signature = DeviceKey.generate().prove(
            second.challenge, device_id, "boot-1"
        )
        expect.fails_with(
            lambda: agent.call("Register", wrong_key),
            UNAUTHENTICATED,
            "DEVICE_KEY_SIGNATURE_INVALID",
        )
        spent = agent.register_request(key, device_id, challenge=second.challenge)
        expect.fails_with(
            lambda: agent.call("Register", spent),
            UNAUTHENTICATED,
            "REGISTRATION_CHALLENGE_INVALID",
        )
        fresh = agent.challenge(device_id).challenge
        other_boot = agent.register_request(key, device_id, challenge=fresh)
        other_boot.boot_id = "boot-2"  # the proof signed boot-1
        expect.fails_with(
            lambda: agent.call("Register", other_boot),
            UNAUTHENTICATED,
            "DEVICE_KEY_SIGNATURE_INVALID",
        )
        expect.fails_with(
            lambda: agent.call(
                "CreateRegistrationChallenge",
                agent_pb.CreateRegistrationChallengeRequest(device_id="Not_An_Id"),
            ),
            INVALID,
            "INVALID_NAME",
        )
        agent.register(key, device_id)


@CASES.case(FLEET, "registration.request-fields-are-validated", "EDG-019")
def validation(ctx: CaseContext) -> None:
    """Register answers a device_public_key that is not 32 bytes and a boot_id that is empty,
    longer than 128 characters or not printable ASCII with INVALID_ARGUMENT [INVALID_FIELD]
    on that field, and a device_id breaking the ID rule with INVALID_NAME."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device_id = unique_id()
        created = fleet.create_device(device_id)
        key = DeviceKey.generate()
        for field, value in (
            ("device_public_key", key.public[:31]),
            ("device_public_key", key.public + b"\0"),
            ("device_public_key", b""),
            ("boot_id", ""),
            ("boot_id", "b" * 129),
            ("boot_id", "boot\n1"),
            ("boot_id", "böot"),
        ):
            request = agent.register_request(key, device_id, created.bootstrap_token)
            setattr(request, field, value)
            expect.rejects(
                lambda request=request: agent.call("Register", request),
                INVALID,
                "INVALID_FIELD",
                field=field,
            )
        for bad in ("Upper", "ends-", "9lives", "a" * 64):
            request = agent.register_request(key, "", created.bootstrap_token)
            request.device_id = bad
            expect.fails_with(
                lambda request=request: agent.call("Register", request),
                INVALID,
                "INVALID_NAME",
                field="device_id",
            )
        agent.register(key, device_id, created.bootstrap_token)


@CASES.case(
    FLEET, "registration.bootstrap-token-registers-an-approved-device", "EDG-020", "EDG-025"
)
def first_register(ctx: CaseContext) -> None:
    """Register with a new key, the device's bootstrap token and a valid proof returns the
    device APPROVED with an access token valid in the future and the settings of section
    2.1; the device then has register_time, ONLINE, the boot id, agent version and
    capabilities of the request."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device_id = unique_id()
        created = fleet.create_device(device_id, report_interval=seconds(7))
        key = DeviceKey.generate()
        reported = capabilities()
        answer = agent.register(
            key,
            device_id,
            created.bootstrap_token,
            boot_id="boot-a",
            capabilities=reported,
            agent_version="lepton-conformance/1",
        )
        expect.equal(
            (answer.device, answer.approval_state), (created.device.name, APPROVED), "device"
        )
        expect.holds(bool(answer.access_token), "an access token", "empty")
        expect.holds(
            _nanos(answer.access_token_expire_time) > _nanos(answer.server_time),
            "access_token_expire_time after server_time",
            answer.access_token_expire_time.ToJsonString(),
        )
        settings = answer.settings
        expect.equal(settings.report_interval, seconds(7), "settings.report_interval")
        expect.holds(
            settings.max_telemetry_batch_record_count >= 1000
            and settings.max_telemetry_batch_bytes >= 4194304,
            "batch limits of at least 1000 records and 4 MiB",
            f"{settings.max_telemetry_batch_record_count} records, "
            f"{settings.max_telemetry_batch_bytes} bytes",
        )
        agent.token_accepted(answer.access_token)
        device = fleet.device(created.device.name)
        expect.holds(device.HasField("register_time"), "register_time set", "unset")
        expect.equal(
            (device.connection_state, device.boot_id, device.agent_version, device.capabilities),
            (ONLINE, "boot-a", "lepton-conformance/1", reported),
            "(connection_state, boot_id, agent_version, capabilities)",
        )


@CASES.case(FLEET, "registration.register-is-idempotent-for-a-bound-key", "EDG-021", "EDG-025")
def idempotent(ctx: CaseContext) -> None:
    """Register repeated with the bound key and a fresh proof (with the used token, another
    token or none) returns the same device and a valid token and consumes no token; a
    Register without capabilities keeps the stored ones, one with capabilities replaces
    them, and boot_id and agent_version follow the latest Register."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        created_caps = fleet.device(device.name).capabilities
        spare = fleet.issue_token(device.name).bootstrap_token
        for token, boot in (("", "boot-2"), (spare, "boot-3"), ("used-or-not", "boot-4")):
            answer = agent.register(
                device.key, device.device_id, token, boot_id=boot, agent_version=boot
            )
            expect.equal(answer.device, device.name, "the device of a repeated Register")
            agent.token_accepted(answer.access_token)
            current = fleet.device(device.name)
            expect.equal(
                (current.boot_id, current.agent_version, current.capabilities),
                (boot, boot, created_caps),
                "(boot_id, agent_version, capabilities) after a Register without capabilities",
            )
        answer = agent.register(device.key, "", boot_id="boot-5")
        expect.equal(answer.device, device.name, "the device of a Register naming no device")
        other = capabilities("openvino")
        agent.register(device.key, device.device_id, boot_id="boot-6", capabilities=other)
        expect.equal(fleet.device(device.name).capabilities, other, "replaced capabilities")
        # The spare token was never consumed: it still binds a new key.
        replacement = DeviceKey.generate()
        answer = agent.register(replacement, device.device_id, spare)
        expect.equal(answer.device, device.name, "the device the unconsumed token binds")


@CASES.case(FLEET, "registration.resolution-refuses-bad-tokens-and-keys", "EDG-022", "GEN-004")
def resolution(ctx: CaseContext) -> None:
    """Register of a device without a bound key with an unknown token, with no token, with
    another device's token, and of an unknown key with no device and no token is
    UNAUTHENTICATED [BOOTSTRAP_TOKEN_INVALID]; a key other than the bound one without a
    valid token is PERMISSION_DENIED [DEVICE_KEY_MISMATCH]; a refused Register consumes no
    bootstrap token."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        waiting_id = unique_id()
        waiting = fleet.create_device(waiting_id)
        other = fleet.create_device()
        key = DeviceKey.generate()
        for token in ("not-a-token", "", other.bootstrap_token):
            request = agent.register_request(key, waiting_id, token)
            expect.fails_with(
                lambda request=request: agent.call("Register", request),
                UNAUTHENTICATED,
                "BOOTSTRAP_TOKEN_INVALID",
            )
        nobody = agent.register_request(DeviceKey.generate(), "")
        expect.fails_with(
            lambda: agent.call("Register", nobody), UNAUTHENTICATED, "BOOTSTRAP_TOKEN_INVALID"
        )
        agent.register(key, waiting_id, waiting.bootstrap_token)
        for token in ("", waiting.bootstrap_token, "not-a-token"):
            request = agent.register_request(DeviceKey.generate(), waiting_id, token)
            expect.rejects(
                lambda request=request: agent.call("Register", request),
                DENIED,
                "DEVICE_KEY_MISMATCH",
                metadata={"device": waiting.device.name},
            )
        # The other device's token was not consumed by the refused Register.
        other_id = other.device.name.split("/")[1]
        agent.register(DeviceKey.generate(), other_id, other.bootstrap_token)


@CASES.case(FLEET, "registration.a-new-bootstrap-token-rebinds-the-key", "EDG-023")
def rebind(ctx: CaseContext) -> None:
    """IssueBootstrapToken invalidates earlier unused tokens (a TTL outside 1 minute ... 365
    days is INVALID_FIELD); Register with the new token and a new key binds it, after which
    the old key is DEVICE_KEY_MISMATCH and its access tokens INVALID_CREDENTIALS."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device_id = unique_id()
        created = fleet.create_device(device_id)
        name = created.device.name
        for ttl in (seconds(30), seconds(366 * 86400)):
            request = pb.IssueBootstrapTokenRequest(name=name, ttl=ttl)
            expect.rejects(
                lambda request=request: fleet.call("IssueBootstrapToken", request),
                INVALID,
                "INVALID_FIELD",
                field="ttl",
            )
        issued = fleet.issue_token(name, ttl=seconds(3600))
        expect.holds(
            bool(issued.bootstrap_token) and issued.bootstrap_token != created.bootstrap_token,
            "a new bootstrap token",
            issued.bootstrap_token,
        )
        old = DeviceKey.generate()
        stale = agent.register_request(old, device_id, created.bootstrap_token)
        expect.fails_with(
            lambda: agent.call("Register", stale), UNAUTHENTICATED, "BOOTSTRAP_TOKEN_INVALID"
        )
        first = agent.register(old, device_id, issued.bootstrap_token)
        replacement = fleet.issue_token(name).bootstrap_token
        new = DeviceKey.generate()
        agent.register(new, device_id, replacement)
        again = agent.register_request(old, device_id)
        expect.fails_with(lambda: agent.call("Register", again), DENIED, "DEVICE_KEY_MISMATCH")
        eventually(
            lambda: _answer(agent, first.access_token),
            lambda got: got == "UNAUTHENTICATED [INVALID_CREDENTIALS]",
            "the old key's access token to be UNAUTHENTICATED [INVALID_CREDENTIALS]",
        )


def _answer(agent: AgentClient, token: str | None) -> str:
    """How StatArtifact of an absent digest ends with `token`: `CODE [REASON]`."""
    try:
        agent.stat(token)
    except grpc.RpcError as error:
        return expect.describe(error).split(":")[0]
    return "OK"


@CASES.case(FLEET, "registration.pending-rejected-and-decommissioned-devices", "EDG-024")
def approval(ctx: CaseContext) -> None:
    """Register of a PENDING device answers PENDING without an access token and with a
    positive retry_after; after ApproveDevice the same key gets APPROVED and a token; a
    REJECTED device is PERMISSION_DENIED [DEVICE_REJECTED], a DECOMMISSIONED one
    PERMISSION_DENIED [DEVICE_DECOMMISSIONED]."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        keys = {}
        for outcome in ("approve", "reject", "decommission"):
            device_id = unique_id()
            created = fleet.create_device(device_id, require_approval=True)
            key = keys[outcome] = DeviceKey.generate()
            answer = agent.register(key, device_id, created.bootstrap_token)
            expect.equal(
                (answer.device, answer.approval_state, answer.access_token),
                (created.device.name, PENDING, ""),
                "(device, approval_state, access_token) of a PENDING device",
            )
            expect.holds(
                answer.retry_after.seconds > 0 or answer.retry_after.nanos > 0,
                "a positive retry_after",
                str(answer.retry_after),
            )
            name = created.device.name
            if outcome == "approve":
                fleet.transition("ApproveDevice", name)
                approved = agent.register(key, device_id)
                expect.equal(approved.approval_state, APPROVED, "approval_state after approval")
                agent.token_accepted(approved.access_token)
                continue
            rpc, reason = {
                "reject": ("RejectDevice", "DEVICE_REJECTED"),
                "decommission": ("DecommissionDevice", "DEVICE_DECOMMISSIONED"),
            }[outcome]
            fleet.transition(rpc, name)
            request = agent.register_request(key, device_id)
            expect.rejects(
                lambda request=request: agent.call("Register", request),
                DENIED,
                reason,
                metadata={"device": name},
            )


@CASES.case(FLEET, "registration.token-lifetimes-are-bounded", "EDG-027")
def lifetimes(ctx: CaseContext) -> None:
    """Access tokens expire at most 24 hours after issue, and retry_after for a PENDING
    device is between 10 seconds and 1 hour."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        answer = device.registered
        lifetime = _nanos(answer.access_token_expire_time) - _nanos(answer.server_time)
        expect.holds(
            0 < lifetime <= 86400 * 10**9,
            "an access token lifetime of at most 24 hours",
            f"{lifetime / 1e9:.0f} s",
        )
        device_id = unique_id()
        pending = fleet.create_device(device_id, require_approval=True)
        waiting = agent.register(DeviceKey.generate(), device_id, pending.bootstrap_token)
        expect.holds(
            10 <= waiting.retry_after.seconds + waiting.retry_after.nanos / 1e9 <= 3600,
            "retry_after between 10 s and 1 hour",
            str(waiting.retry_after),
        )


def _telemetry() -> agent_pb.UploadTelemetryRequest:
    record = telemetry_pb2.TelemetryRecord(
        sequence=1,
        time=timestamp_pb2.Timestamp(seconds=int(time.time())),
        metric=telemetry_pb2.TelemetryMetric(name="conformance.value", value=1.0),
    )
    return agent_pb.UploadTelemetryRequest(
        segments=[agent_pb.TelemetrySegment(stream="metrics", boot_id="boot-1", records=[record])]
    )


@CASES.case(FLEET, "registration.agent-calls-need-a-device-token", "EDG-026")
def agent_tokens(ctx: CaseContext) -> None:
    """Sync, StatArtifact, ReadArtifact and UploadTelemetry without authorization are
    UNAUTHENTICATED [MISSING_CREDENTIALS], with a token the server did not issue (or the
    run's operator token) UNAUTHENTICATED [INVALID_CREDENTIALS]; Register ignores whatever
    authorization it carries."""
    agent = AgentClient(ctx)
    tokens = [None, "not-an-issued-token"]
    if ctx.options.token:
        tokens.append(ctx.options.token)
    for token in tokens:
        reason = "MISSING_CREDENTIALS" if token is None else "INVALID_CREDENTIALS"
        for rpc, request in (
            ("StatArtifact", agent_pb.StatArtifactRequest(digest=absent_digest())),
            ("UploadTelemetry", _telemetry()),
        ):
            expect.fails_with(
                lambda rpc=rpc, request=request, token=token: agent.call(rpc, request, token),
                UNAUTHENTICATED,
                reason,
            )
        read = agent_pb.ReadArtifactRequest(digest=absent_digest())
        expect.fails_with(
            lambda token=token, read=read: list(agent.call("ReadArtifact", read, token)),
            UNAUTHENTICATED,
            reason,
        )
        with SyncStream(agent, token, hello()) as stream:
            stream.ends_with(UNAUTHENTICATED, reason)
    with FleetClient(ctx) as fleet:
        device_id = unique_id()
        created = fleet.create_device(device_id)
        request = agent.register_request(DeviceKey.generate(), device_id, created.bootstrap_token)
        answer = expect.succeeds(
            lambda: agent.call("Register", request, "not-an-issued-token"),
            "Register with a bogus authorization header",
        )
        agent.token_accepted(answer.access_token)


@CASES.case(FLEET, "registration.device-tokens-do-not-open-edge-service", "EDG-010")
def operator_only(ctx: CaseContext) -> None:
    """EdgeService answers a call that presents a device access token with
    PERMISSION_DENIED [PERMISSION_DENIED], whatever credentials it otherwise requires."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        metadata = (("authorization", f"Bearer {device.token}"),)
        for rpc, request in (
            ("GetDevice", pb.GetDeviceRequest(name=device.name)),
            ("ListDevices", pb.ListDevicesRequest()),
            ("ApproveDevice", pb.ApproveDeviceRequest(name=device.name)),
        ):
            expect.fails_with(
                lambda rpc=rpc, request=request: fleet.call(rpc, request, metadata=metadata),
                DENIED,
                "PERMISSION_DENIED",
            )


@CASES.case(FLEET, "registration.connection-state-follows-last-seen", "EDG-015")
def connection(ctx: CaseContext) -> None:
    """A device is NEVER_CONNECTED until its agent's first call, ONLINE while less than
    three report intervals have passed since last_seen_time and OFFLINE afterwards; every
    agent RPC and Sync message moves last_seen_time."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device_id = unique_id()
        created = fleet.create_device(device_id, report_interval=seconds(1))
        expect.equal(created.device.connection_state, NEVER_CONNECTED, "before any call")
        key = DeviceKey.generate()
        answer = agent.register(key, device_id, created.bootstrap_token)
        registered = fleet.device(created.device.name)
        expect.equal(registered.connection_state, ONLINE, "right after Register")
        seen = _nanos(registered.last_seen_time)
        with SyncStream(agent, answer.access_token, hello()) as stream:
            stream.opened()
            synced = eventually(
                lambda: fleet.device(created.device.name),
                lambda d: _nanos(d.last_seen_time) > seen,
                "last_seen_time to move with the Sync hello",
            )
            stream.send(
                heartbeat=device_state_pb2.Heartbeat(
                    time=timestamp_pb2.Timestamp(seconds=int(time.time()))
                )
            )
            eventually(
                lambda: fleet.device(created.device.name),
                lambda d: _nanos(d.last_seen_time) > _nanos(synced.last_seen_time),
                "last_seen_time to move with a heartbeat",
            )
            stream.close()
        last = fleet.device(created.device.name)
        offline = _wait_offline(fleet, created.device.name)
        expect.equal(offline.connection_state, OFFLINE, "three report intervals after last seen")
        expect.equal(
            offline.last_seen_time, last.last_seen_time, "last_seen_time while the agent is quiet"
        )


def _wait_offline(fleet: FleetClient, name: str) -> Any:
    """The device once it reads OFFLINE, or as it reads three report intervals (of 1 s)
    and PROMPT_S after the agent went quiet."""
    deadline = time.monotonic() + 3 + PROMPT_S
    while True:
        device = fleet.device(name)
        if device.connection_state == OFFLINE or time.monotonic() > deadline:
            return device
        time.sleep(0.1)


@CASES.case(FLEET, "registration.decommissioning-revokes-the-device", "EDG-016")
def decommission(ctx: CaseContext) -> None:
    """DecommissionDevice promptly ends the device's open Sync stream with PERMISSION_DENIED
    [DEVICE_DECOMMISSIONED] and makes its access tokens UNAUTHENTICATED
    [INVALID_CREDENTIALS]; a later Register with its key is PERMISSION_DENIED
    [DEVICE_DECOMMISSIONED]."""
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        with SyncStream(agent, device.token, hello()) as stream:
            stream.opened()
            fleet.transition("DecommissionDevice", device.name)
            stream.ends_with(DENIED, "DEVICE_DECOMMISSIONED")
        eventually(
            lambda: _answer(agent, device.token),
            lambda got: got == "UNAUTHENTICATED [INVALID_CREDENTIALS]",
            "the access token to be UNAUTHENTICATED [INVALID_CREDENTIALS]",
        )
        request = agent.register_request(device.key, device.device_id)
        expect.rejects(
            lambda: agent.call("Register", request),
            DENIED,
            "DEVICE_DECOMMISSIONED",
            metadata={"device": device.name},
        )
        expect.equal(
            state(fleet.device(device.name)), "DEVICE_APPROVAL_STATE_DECOMMISSIONED", "the state"
        )

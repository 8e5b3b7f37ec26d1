"""Device registration over a real fleet server (spec/edge.md 2.1 "Registration proof" and
"Register resolution", EDG-019 to EDG-025, EDG-106): challenges, the Ed25519 proof, binding
a key with a bootstrap token, and the answer by approval state."""

from __future__ import annotations

import time

import grpc
import pytest
from support.edge_devices import DeviceKey, create_device, enroll, new_id, proof, refused

from lepton.edge.v1 import capabilities_pb2, device_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_server.edge.layer import EdgeConfig

D = device_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED


def _get(edge, name: str) -> device_pb2.Device:
    return edge.GetDevice(pb.GetDeviceRequest(name=name)).device


def _new(edge, **fields) -> tuple[str, str]:
    """(device id, bootstrap token) of a new device."""
    created = create_device(edge, **fields)
    return created.device.name.removeprefix("devices/"), created.bootstrap_token


# --- challenges and the proof ------------------------------------------------------------------


def test_a_challenge_is_32_random_bytes_valid_for_a_minute_at_least(agent):
    first = agent.CreateRegistrationChallenge(agent_pb.CreateRegistrationChallengeRequest())
    second = agent.CreateRegistrationChallenge(agent_pb.CreateRegistrationChallengeRequest())
    assert len(first.challenge) == 32 and first.challenge != second.challenge
    assert first.expire_time.ToNanoseconds() >= time.time_ns() + 59 * 10**9


def test_a_challenge_for_a_malformed_device_id_is_invalid_name(agent):
    refused(
        lambda: agent.CreateRegistrationChallenge(
            agent_pb.CreateRegistrationChallengeRequest(device_id="Not_An_Id")
        ),
        INVALID,
        "INVALID_NAME",
        "device_id",
    )


def test_register_with_the_bootstrap_token_binds_the_key_and_issues_an_access_token(edge, agent):
    device_id, token = _new(edge, device=D.Device(report_interval={"seconds": 7}))
    capabilities = capabilities_pb2.DeviceCapabilities(os="linux", architecture="arm64")
    answer = DeviceKey().register(
        agent, device_id, token, capabilities=capabilities, agent_version="1.2.3"
    )
    assert answer.device == f"devices/{device_id}"
    assert answer.approval_state == D.DEVICE_APPROVAL_STATE_APPROVED
    assert answer.access_token
    assert answer.access_token_expire_time.ToNanoseconds() > time.time_ns()
    assert answer.access_token_expire_time.ToNanoseconds() <= time.time_ns() + 24 * 3600 * 10**9
    assert answer.settings.report_interval.seconds == 7
    assert answer.settings.max_telemetry_batch_record_count >= 1000
    assert answer.settings.max_telemetry_batch_bytes >= 4194304
    device = _get(edge, answer.device)
    assert device.HasField("register_time")
    assert device.connection_state == D.DEVICE_CONNECTION_STATE_ONLINE
    assert (device.boot_id, device.agent_version) == ("boot-1", "1.2.3")
    assert device.capabilities == capabilities


def test_registering_leaves_the_etag_and_goes_offline_after_three_silent_intervals(edge, agent):
    device_id, token = _new(edge, device=D.Device(report_interval={"seconds": 1}))
    before = _get(edge, f"devices/{device_id}")
    DeviceKey().register(agent, device_id, token)
    after = _get(edge, before.name)
    assert after.connection_state == D.DEVICE_CONNECTION_STATE_ONLINE
    assert (after.etag, after.update_time) == (before.etag, before.update_time)
    time.sleep(3.1)
    assert _get(edge, before.name).connection_state == D.DEVICE_CONNECTION_STATE_OFFLINE
    offline = edge.ListDevices(
        pb.ListDevicesRequest(filter="connection_state = OFFLINE", page_size=1000)
    ).devices
    assert before.name in [d.name for d in offline]


def test_register_is_idempotent_for_the_bound_key_and_consumes_no_token(edge, agent):
    device_id, token = _new(edge)
    key = DeviceKey()
    first = key.register(agent, device_id, token)
    spare = edge.IssueBootstrapToken(pb.IssueBootstrapTokenRequest(name=first.device))
    for presented in ("", token, spare.bootstrap_token):
        again = key.register(agent, device_id, presented)
        assert again.device == first.device and again.access_token
    # The spare token was ignored, not consumed: it still binds a new key.
    assert DeviceKey().register(agent, device_id, spare.bootstrap_token).access_token


def test_register_without_device_id_finds_the_device_by_token_then_by_key(edge, agent):
    device_id, token = _new(edge)
    key = DeviceKey()
    assert key.register(agent, "", token).device == f"devices/{device_id}"
    assert key.register(agent, "").device == f"devices/{device_id}"


def test_register_keeps_capabilities_it_is_not_given(edge, agent):
    device_id, token = _new(edge)
    key = DeviceKey()
    capabilities = capabilities_pb2.DeviceCapabilities(os="linux")
    name = key.register(agent, device_id, token, capabilities=capabilities).device
    key.register(agent, device_id, boot_id="boot-2")
    device = _get(edge, name)
    assert device.capabilities == capabilities and device.boot_id == "boot-2"


def test_a_replayed_register_request_fails_its_challenge_is_spent(edge, agent):
    device_id, token = _new(edge)
    request = DeviceKey().register_request(agent, device_id, token)
    agent.Register(request)
    refused(lambda: agent.Register(request), UNAUTHENTICATED, "REGISTRATION_CHALLENGE_INVALID")


def test_a_challenge_is_spent_by_a_register_that_fails(edge, agent):
    device_id, _ = _new(edge)
    request = DeviceKey().register_request(agent, device_id, "lepton-bootstrap-wrong")
    refused(lambda: agent.Register(request), UNAUTHENTICATED, "BOOTSTRAP_TOKEN_INVALID")
    refused(lambda: agent.Register(request), UNAUTHENTICATED, "REGISTRATION_CHALLENGE_INVALID")


def test_a_challenge_issued_for_another_device_id_is_invalid(edge, agent):
    device_id, token = _new(edge)
    key = DeviceKey()
    challenge = agent.CreateRegistrationChallenge(
        agent_pb.CreateRegistrationChallengeRequest(device_id="someone-else")
    ).challenge
    request = agent_pb.RegisterRequest(
        device_id=device_id,
        device_public_key=key.public,
        bootstrap_token=token,
        boot_id="b",
        challenge=challenge,
        challenge_signature=key.private.sign(proof(challenge, device_id, "b")),
    )
    refused(lambda: agent.Register(request), UNAUTHENTICATED, "REGISTRATION_CHALLENGE_INVALID")


def test_an_unknown_challenge_is_invalid(edge, agent):
    device_id, token = _new(edge)
    request = DeviceKey().register_request(agent, device_id, token)
    request.challenge = bytes(32)
    refused(lambda: agent.Register(request), UNAUTHENTICATED, "REGISTRATION_CHALLENGE_INVALID")


@pytest.mark.parametrize("tamper", ["other_key", "other_boot_id", "other_device_id"])
def test_a_signature_that_does_not_verify_is_refused(edge, agent, tamper):
    device_id, token = _new(edge)
    key = DeviceKey()
    challenge = agent.CreateRegistrationChallenge(
        agent_pb.CreateRegistrationChallengeRequest()
    ).challenge
    signer, boot_id, signed_id = key.private, "b", device_id
    if tamper == "other_key":
        signer = DeviceKey().private
    elif tamper == "other_boot_id":
        boot_id = "c"
    else:
        signed_id = "x"
    request = agent_pb.RegisterRequest(
        device_id=device_id,
        device_public_key=key.public,
        bootstrap_token=token,
        boot_id="b",
        challenge=challenge,
        challenge_signature=signer.sign(proof(challenge, signed_id, boot_id)),
    )
    refused(lambda: agent.Register(request), UNAUTHENTICATED, "DEVICE_KEY_SIGNATURE_INVALID")
    assert not _get(edge, f"devices/{device_id}").HasField("register_time")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"device_public_key": bytes(31)}, "device_public_key"),
        ({"boot_id": ""}, "boot_id"),
        ({"boot_id": "x" * 129}, "boot_id"),
        ({"boot_id": "tab\there"}, "boot_id"),
        ({"labels": {"Bad Key": "v"}}, None),
    ],
)
def test_register_refuses_malformed_fields(edge, agent, change, field):
    device_id, token = _new(edge)
    request = DeviceKey().register_request(agent, device_id, token)
    for key, value in change.items():
        if key == "labels":
            request.labels.update(value)
        else:
            setattr(request, key, value)
    refused(lambda: agent.Register(request), INVALID, "INVALID_FIELD", field)


def test_register_with_a_malformed_device_id_is_invalid_name(agent):
    request = DeviceKey().register_request(agent, "")
    request.device_id = "Bad_Id"
    refused(lambda: agent.Register(request), INVALID, "INVALID_NAME", "device_id")


# --- resolution ------------------------------------------------------------------------------


def test_an_unknown_token_for_a_device_without_key_is_bootstrap_token_invalid(edge, agent):
    device_id, _ = _new(edge)
    refused(
        lambda: DeviceKey().register(agent, device_id, "lepton-bootstrap-nonsense"),
        UNAUTHENTICATED,
        "BOOTSTRAP_TOKEN_INVALID",
    )
    refused(
        lambda: DeviceKey().register(agent, device_id),
        UNAUTHENTICATED,
        "BOOTSTRAP_TOKEN_INVALID",
    )


def test_a_token_of_another_device_is_bootstrap_token_invalid(edge, agent):
    device_id, _ = _new(edge)
    _, other_token = _new(edge)
    refused(
        lambda: DeviceKey().register(agent, device_id, other_token),
        UNAUTHENTICATED,
        "BOOTSTRAP_TOKEN_INVALID",
    )


def test_an_unknown_key_without_token_or_an_unknown_device_is_bootstrap_token_invalid(agent):
    for device_id in ("", new_id()):
        refused(
            lambda device_id=device_id: DeviceKey().register(agent, device_id),
            UNAUTHENTICATED,
            "BOOTSTRAP_TOKEN_INVALID",
        )


def test_another_key_without_a_valid_token_is_device_key_mismatch(edge, agent):
    device_id, token = _new(edge)
    DeviceKey().register(agent, device_id, token)
    # The used token no longer binds a key.
    metadata = refused(
        lambda: DeviceKey().register(agent, device_id, token),
        DENIED,
        "DEVICE_KEY_MISMATCH",
    )
    assert metadata["device"] == f"devices/{device_id}"


def test_a_new_bootstrap_token_binds_a_new_key_and_revokes_the_old_ones(edge, agent):
    device = enroll(edge, agent)
    unused = edge.IssueBootstrapToken(pb.IssueBootstrapTokenRequest(name=device.name))
    replacement = edge.IssueBootstrapToken(pb.IssueBootstrapTokenRequest(name=device.name))
    refused(
        lambda: DeviceKey().register(agent, device.device_id, unused.bootstrap_token),
        DENIED,
        "DEVICE_KEY_MISMATCH",
    )
    new_key = DeviceKey()
    assert new_key.register(agent, device.device_id, replacement.bootstrap_token).access_token
    refused(
        lambda: device.key.register(agent, device.device_id),
        DENIED,
        "DEVICE_KEY_MISMATCH",
    )
    refused(
        lambda: agent.StatArtifact(agent_pb.StatArtifactRequest(), metadata=device.metadata),
        UNAUTHENTICATED,
        "INVALID_CREDENTIALS",
    )


# --- by approval state -------------------------------------------------------------------------


def test_a_pending_device_gets_retry_after_then_a_token_once_approved(edge, agent):
    device_id, token = _new(edge, require_approval=True)
    key = DeviceKey()
    pending = key.register(agent, device_id, token)
    assert pending.approval_state == D.DEVICE_APPROVAL_STATE_PENDING
    assert not pending.access_token
    assert 10 <= pending.retry_after.seconds <= 3600
    edge.ApproveDevice(pb.ApproveDeviceRequest(name=pending.device))
    approved = key.register(agent, device_id)
    assert approved.approval_state == D.DEVICE_APPROVAL_STATE_APPROVED
    assert approved.access_token


def test_a_rejected_device_is_refused(edge, agent):
    device_id, token = _new(edge, require_approval=True)
    key = DeviceKey()
    name = key.register(agent, device_id, token).device
    edge.RejectDevice(pb.RejectDeviceRequest(name=name))
    metadata = refused(lambda: key.register(agent, device_id), DENIED, "DEVICE_REJECTED")
    assert metadata["device"] == name


def test_a_rejected_device_is_refused_before_anything_of_the_request_is_stored(edge, agent):
    device_id, token = _new(edge, require_approval=True)
    name = f"devices/{device_id}"
    edge.RejectDevice(pb.RejectDeviceRequest(name=name))
    key = DeviceKey()
    capabilities = capabilities_pb2.DeviceCapabilities(os="linux")
    refused(
        lambda: key.register(agent, device_id, token, capabilities=capabilities),
        DENIED,
        "DEVICE_REJECTED",
    )
    device = _get(edge, name)
    assert device.connection_state == D.DEVICE_CONNECTION_STATE_NEVER_CONNECTED
    assert not device.HasField("capabilities") and not device.boot_id
    # The key was bound all the same (resolution step 4 comes before step 8).
    refused(lambda: DeviceKey().register(agent, device_id), DENIED, "DEVICE_KEY_MISMATCH")


def test_a_decommissioned_device_is_refused(edge, agent):
    device = enroll(edge, agent)
    edge.DecommissionDevice(pb.DecommissionDeviceRequest(name=device.name))
    metadata = refused(
        lambda: device.key.register(agent, device.device_id, boot_id="boot-2"),
        DENIED,
        "DEVICE_DECOMMISSIONED",
    )
    assert metadata["device"] == device.name
    assert _get(edge, device.name).boot_id == "boot-1"


def test_register_ignores_authorization_metadata(edge, agent):
    device_id, token = _new(edge)
    request = DeviceKey().register_request(agent, device_id, token)
    answer = agent.Register(request, metadata=(("authorization", "Bearer not-a-token"),))
    assert answer.access_token


def test_an_expired_challenge_is_invalid(start_fleet):
    with start_fleet(EdgeConfig(challenge_ttl_seconds=0.3)) as server:
        device_id, token = _new(server.edge)
        request = DeviceKey().register_request(server.agent, device_id, token)
        time.sleep(0.4)
        refused(
            lambda: server.agent.Register(request),
            UNAUTHENTICATED,
            "REGISTRATION_CHALLENGE_INVALID",
        )

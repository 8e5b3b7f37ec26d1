"""`EdgeFleet` without a fleet server: a release made of artifacts the server already holds
is built and signed without a call, and the rollout progress view. The calls to a fleet
server are tested against one once the edge fleet server exists."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.edge.v1 import release_pb2, rollout_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_ai import EdgeFleet, ReleaseFileSource
from lepton_ai.edge.fleet import describe_rollout, finished_devices, show_rollout
from lepton_ai.edge.releases import raw_public_key, release_digest, trusted_signer
from lepton_ai.progress import ProgressBar

KEY = Ed25519PrivateKey.generate()
CONFIGURATION = release_pb2.ReleaseFileRole.RELEASE_FILE_ROLE_CONFIGURATION


def descriptor(content: bytes) -> artifact_pb2.ArtifactDescriptor:
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(content),
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(content).hexdigest()
        ),
    )


@pytest.fixture
def fleet():
    # No call is made: nothing listens here, and every source is an uploaded artifact.
    with EdgeFleet(grpc.insecure_channel("127.0.0.1:1"), progress=False) as client:
        yield client


def test_create_release_from_uploaded_artifacts_is_signed(fleet):
    other = Ed25519PrivateKey.generate()
    release = fleet.create_release(
        "models/defect-detector/versions/3",
        descriptor(b"model"),
        files={
            "labels.txt": descriptor(b"labels"),
            "config.json": ReleaseFileSource(descriptor(b"{}"), role=CONFIGURATION),
        },
        skip_inference_test=True,
        parameters={"camera": "rtsp://x", "threshold": "0.6"},
        overridable_parameters=["camera"],
        execution_providers=["CPUExecutionProvider"],
        sign_with=[(KEY, "k1"), (other, "k2")],
    )
    assert release.artifact == descriptor(b"model")
    assert [(f.path, f.role) for f in release.files] == [
        ("labels.txt", 0),
        ("config.json", CONFIGURATION),
    ]
    assert release.runtime_config.runtime == "onnxruntime"
    assert release.health_check.skip_inference_test
    assert release.release_digest == release_digest(release)
    assert [s.key_id for s in release.signatures] == ["k1", "k2"]
    assert trusted_signer(release, {"k2": raw_public_key(other)}) == "k2"


def test_create_release_needs_vectors_or_an_explicit_skip(fleet):
    with pytest.raises(ValueError):
        fleet.create_release("models/m/versions/1", descriptor(b"m"), sign_with=(KEY, "k1"))


def test_create_release_needs_a_signer(fleet):
    with pytest.raises(ValueError):
        fleet.create_release(
            "models/m/versions/1", descriptor(b"m"), skip_inference_test=True, sign_with=[]
        )


def rollout(state: int, stage_states: list[int], **counts: int) -> rollout_pb2.Rollout:
    return rollout_pb2.Rollout(
        name="deployments/d/rollouts/r",
        status=rollout_pb2.RolloutStatus(state=state),
        current_stage=1,
        stages=[
            rollout_pb2.RolloutStageStatus(index=i, state=s) for i, s in enumerate(stage_states)
        ],
        device_counts=rollout_pb2.RolloutDeviceCounts(**counts),
    )


def test_rollout_progress_view():
    running = rollout(
        rollout_pb2.ROLLOUT_STATE_RUNNING,
        [rollout_pb2.ROLLOUT_STAGE_STATE_SUCCEEDED, rollout_pb2.ROLLOUT_STAGE_STATE_VERIFYING],
        targeted_count=10,
        succeeded_count=4,
        failed_count=1,
        timed_out_count=1,
        incompatible_count=1,
        in_progress_count=3,
    )
    assert finished_devices(running.device_counts) == 7
    assert describe_rollout(running) == "RUNNING, stage 2/2 VERIFYING, 2 failed, 1 incompatible"
    assert describe_rollout(rollout(rollout_pb2.ROLLOUT_STATE_QUEUED, [])) == "QUEUED"
    bar = RecordingBar("rollout", None, "devices", enabled=False)
    show_rollout(running, bar)
    assert bar.updates == [(7, 10, "devices")]
    assert bar.notes == ["RUNNING, stage 2/2 VERIFYING, 2 failed, 1 incompatible"]


class RecordingBar(ProgressBar):
    """A progress bar that records what it was told to draw."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.updates: list[tuple] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)
        super().note(text)

    def update(self, completed: int, total: int | None = None, unit: str | None = None) -> None:
        self.updates.append((completed, total, unit))
        super().update(completed, total, unit)

"""Checkpoints of training jobs (TRN-046 to TRN-050, TRN-065): stored complete, listed oldest
step first in pages, retained by keep_last_count and keep_best_count without ever losing the
latest or a pinned one, their blobs deleted once unused, and downloaded as described."""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets

import pytest
from pyarrow import fs

from lepton.training.v1 import checkpoint_pb2, training_job_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import model_format_pb2, model_signature_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.pagination import PageTokens
from lepton_server.runtime.encryption import KeyFile
from lepton_server.runtime.errors import InvalidArgument, NotFound, OutOfRange
from lepton_server.runtime.sealed_files import SealedFiles
from lepton_server.training.checkpoints import Checkpoints
from lepton_server.training.training_blobs import TrainingBlobs

JOB = "trainingJobs/j1"
PERIODIC = checkpoint_pb2.CHECKPOINT_TRIGGER_PERIODIC
MINIMIZE = training_job_pb2.METRIC_GOAL_MINIMIZE
MAXIMIZE = training_job_pb2.METRIC_GOAL_MAXIMIZE


# Each test runs on plain blobs and on blobs sealed at rest (--encryption-key-file).
@pytest.fixture(params=["plain", "sealed"])
def store(tmp_path, request) -> Checkpoints:
    sealed = None
    if request.param == "sealed":
        sealed = SealedFiles(KeyFile({"k1": secrets.token_bytes(32)}), fs.LocalFileSystem())
    blobs = TrainingBlobs(tmp_path / "blobs", sealed)
    return Checkpoints(tmp_path / "training.db", blobs, PageTokens())


def _add(store: Checkpoints, step: int, job: str = JOB, **metrics: float):
    content = store.blobs.root.parent / f"content-{job.rsplit('/', 1)[1]}-{step}"
    content.write_text(str(step))
    return store.add(
        job,
        content=content,
        step=step,
        attempt=0,
        trigger=PERIODIC,
        trainer="lepton.conformance",
        metrics={name.replace("_", "/"): value for name, value in metrics.items()},
    )


def _steps(checkpoints) -> list[int]:
    return [c.step for c in checkpoints]


def _download(store: Checkpoints, name: str, **request) -> list[pb.DownloadCheckpointResponse]:
    async def read() -> list[bytes]:
        stream = store.download(name, pb.DownloadCheckpointRequest(name=name, **request))
        # Plain bytes out of the event loop: asyncio may repr a task's result, and the
        # text form of megabytes of chunks takes seconds.
        return [m.SerializeToString() for m in [m async for m in stream]]

    return [pb.DownloadCheckpointResponse.FromString(m) for m in asyncio.run(read())]


def test_a_checkpoint_is_stored_and_read_back(store, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.onnx").write_bytes(b"onnx")
    content = tmp_path / "state"
    content.mkdir()
    (content / "step").write_text("10")
    signature = model_signature_pb2.ModelSignature(feature_names=["input"])
    checkpoint = store.add(
        JOB,
        content=content,
        step=10,
        attempt=2,
        trigger=checkpoint_pb2.CHECKPOINT_TRIGGER_OUTPUT,
        trainer="sklearn.logistic_regression",
        metrics={"train/loss": 0.25},
        model=model,
        model_format=model_format_pb2.MODEL_FORMAT_ONNX,
        model_entry_path="model.onnx",
        signature=signature,
    )
    job_id, checkpoint_id = resource_names.parse(
        checkpoint.name, ("trainingJobs", "checkpoints"), "n"
    )
    assert job_id == "j1" and checkpoint_id
    assert (checkpoint.step, checkpoint.attempt, checkpoint.trainer) == (
        10,
        2,
        "sklearn.logistic_regression",
    )
    assert checkpoint.create_time.seconds > 0 and dict(checkpoint.metrics) == {"train/loss": 0.25}
    assert checkpoint.artifact.media_type == "application/x-tar"
    assert checkpoint.model.descriptor.media_type == "application/x-tar"
    assert checkpoint.model.format == model_format_pb2.MODEL_FORMAT_ONNX
    assert checkpoint.model.entry_path == "model.onnx" and checkpoint.signature == signature
    assert store.get(checkpoint.name) == checkpoint
    assert store.blobs.exists(store.content_key(checkpoint.name))
    assert store.model_key(checkpoint.name) == checkpoint.model.descriptor.digest.hex
    plain = _add(store, 20)
    assert not plain.HasField("model") and store.model_key(plain.name) == ""
    assert plain.artifact.media_type == "application/octet-stream"


def test_get_rejects_malformed_names_and_answers_not_found(store):
    for bad in ("trainingJobs/j1", "trainingJobs/j1/checkpoints/Bad", "checkpoints/x"):
        with pytest.raises(InvalidArgument) as malformed:
            store.get(bad)
        assert malformed.value.reason == "INVALID_NAME"
    with pytest.raises(NotFound) as missing:
        store.get("trainingJobs/j1/checkpoints/c-1")
    assert missing.value.reason == "RESOURCE_NOT_FOUND"
    assert missing.value.metadata == {"resource_name": "trainingJobs/j1/checkpoints/c-1"}


def test_list_is_ascending_by_step_in_pages(store):
    for step in (30, 10, 20, 10, 40):
        _add(store, step)
    _add(store, 5, job="trainingJobs/other")
    assert _steps(store.of_job(JOB)) == [10, 10, 20, 30, 40]
    twins = [c for c in store.of_job(JOB) if c.step == 10]
    assert twins[0].create_time.ToNanoseconds() < twins[1].create_time.ToNanoseconds()
    seen, token = [], ""
    while True:
        page, token = store.list(
            JOB, pb.ListCheckpointsRequest(parent=JOB, page_size=2, page_token=token)
        )
        assert len(page) <= 2
        seen.extend(page)
        if not token:
            break
    assert seen == store.of_job(JOB)
    everything, token = store.list(JOB, pb.ListCheckpointsRequest(parent=JOB))
    assert everything == store.of_job(JOB) and token == ""
    with pytest.raises(InvalidArgument) as negative:
        store.list(JOB, pb.ListCheckpointsRequest(parent=JOB, page_size=-1))
    assert negative.value.reason == "INVALID_FIELD"
    _, first_token = store.list(JOB, pb.ListCheckpointsRequest(parent=JOB, page_size=1))
    with pytest.raises(InvalidArgument) as foreign:
        store.list(
            "trainingJobs/other",
            pb.ListCheckpointsRequest(parent="trainingJobs/other", page_token=first_token),
        )
    assert foreign.value.reason == "INVALID_PAGE_TOKEN"


def test_keep_last_count_deletes_the_oldest(store):
    policy = training_job_pb2.CheckpointPolicy(keep_last_count=2)
    written = []
    for step in (1, 2, 3, 4):
        written.append(_add(store, step))
        assert store.retain(JOB, policy, latest=written[-1].name) == ""
        assert len(store.of_job(JOB)) <= 2
    assert _steps(store.of_job(JOB)) == [3, 4]
    with pytest.raises(NotFound):
        store.get(written[0].name)
    assert not store.blobs.exists(written[0].artifact.digest.hex)
    assert store.blobs.exists(written[3].artifact.digest.hex)


def test_keep_all_when_keep_last_count_is_zero(store):
    for step in (1, 2, 3):
        _add(store, step, train_loss=1 / step)
    policy = training_job_pb2.CheckpointPolicy(
        best_metric="train/loss", best_metric_goal=MINIMIZE, keep_best_count=1
    )
    best = store.retain(JOB, policy, latest=store.of_job(JOB)[-1].name)
    assert _steps(store.of_job(JOB)) == [1, 2, 3]
    assert store.get(best).step == 3


@pytest.mark.parametrize(
    ("goal", "kept", "best"),
    [(MINIMIZE, [2, 4, 5, 6], 4), (MAXIMIZE, [1, 3, 5, 6], 3)],
)
def test_keep_best_count_keeps_the_best_by_the_goal(store, goal, kept, best):
    losses = {1: 0.9, 2: 0.2, 3: 1.5, 4: 0.1, 5: 0.7, 6: 0.8}
    policy = training_job_pb2.CheckpointPolicy(
        keep_last_count=2, best_metric="validation/loss", best_metric_goal=goal, keep_best_count=2
    )
    names = {}
    for step, loss in losses.items():
        checkpoint = _add(store, step, validation_loss=loss)
        names[step] = checkpoint.name
        best_name = store.retain(JOB, policy, latest=checkpoint.name)
    assert _steps(store.of_job(JOB)) == kept
    assert best_name == names[best]


def test_checkpoints_without_the_metric_are_never_best(store):
    policy = training_job_pb2.CheckpointPolicy(
        keep_last_count=1,
        best_metric="validation/loss",
        best_metric_goal=MINIMIZE,
        keep_best_count=1,
    )
    _add(store, 1, validation_loss=math.nan)
    first = _add(store, 2, validation_loss=0.5)
    last = _add(store, 3, train_loss=0.1)
    assert store.retain(JOB, policy, latest=last.name) == first.name
    assert _steps(store.of_job(JOB)) == [2, 3]


def test_latest_and_pinned_are_never_deleted(store):
    policy = training_job_pb2.CheckpointPolicy(keep_last_count=1)
    pinned = _add(store, 1)
    latest = _add(store, 2)
    _add(store, 3)
    _add(store, 4)
    store.retain(JOB, policy, latest=latest.name, pinned={pinned.name})
    assert _steps(store.of_job(JOB)) == [1, 2, 4]


def test_a_shared_blob_stays_while_another_checkpoint_or_user_needs_it(tmp_path):
    outputs: set[str] = set()
    store = Checkpoints(
        tmp_path / "training.db",
        TrainingBlobs(tmp_path / "blobs"),
        PageTokens(),
        in_use=outputs.__contains__,
    )
    ours = _add(store, 7)
    theirs = _add(store, 7, job="trainingJobs/other")
    key = store.content_key(ours.name)
    assert key == store.content_key(theirs.name)
    store.delete_job(JOB)
    assert store.of_job(JOB) == [] and store.blobs.exists(key) and store.uses(key)
    outputs.add(key)
    store.delete_job("trainingJobs/other")
    assert store.blobs.exists(key) and not store.uses(key)
    outputs.clear()
    assert store.content_key(_add(store, 7, job="trainingJobs/third").name) == key
    store.delete_job("trainingJobs/third")
    assert not store.blobs.exists(key)


def test_a_download_delivers_the_described_bytes(store, tmp_path):
    content = tmp_path / "big"
    data = bytes(range(256)) * 20_000
    content.write_bytes(data)
    checkpoint = store.add(
        JOB, content=content, step=1, attempt=0, trigger=PERIODIC, trainer="t", metrics={}
    )
    messages = _download(store, checkpoint.name)
    assert [m.WhichOneof("payload") for m in messages[:2]] == ["artifact", "chunk"]
    assert messages[0].artifact == checkpoint.artifact
    body = b"".join(m.chunk.data for m in messages[1:])
    assert len(body) == checkpoint.artifact.size_bytes
    assert hashlib.sha256(body).hexdigest() == checkpoint.artifact.digest.hex
    assert hashlib.sha256(data).hexdigest() == checkpoint.artifact.digest.hex
    part = _download(store, checkpoint.name, offset=1000, length_bytes=300, chunk_size_bytes=128)
    assert [(m.chunk.offset, m.chunk.data) for m in part[1:]] == [
        (1000, data[1000:1128]),
        (1128, data[1128:1256]),
        (1256, data[1256:1300]),
    ]
    at_end = _download(store, checkpoint.name, offset=len(data))
    assert [m.WhichOneof("payload") for m in at_end] == ["artifact"]
    with pytest.raises(OutOfRange):
        store.download(checkpoint.name, pb.DownloadCheckpointRequest(offset=len(data) + 1))
    with pytest.raises(InvalidArgument) as negative:
        store.download(checkpoint.name, pb.DownloadCheckpointRequest(chunk_size_bytes=-1))
    assert [v.field for v in negative.value.violations] == ["chunk_size_bytes"]
    with pytest.raises(NotFound):
        store.download(f"{JOB}/checkpoints/c-0", pb.DownloadCheckpointRequest())
    with pytest.raises(InvalidArgument):
        store.download("nope", pb.DownloadCheckpointRequest())
    key = checkpoint.artifact.digest.hex
    with store.blobs.plaintext(key) as copy:
        assert copy.read_bytes() == data  # what a registration or a resumed attempt reads
    if store.blobs.sealed is not None:
        assert not copy.exists()  # the decrypted copy lasts as long as its use
        assert data[:4096] not in store.blobs.path(key).read_bytes()
        store.blobs.delete(key)
        assert list(store.blobs.root.glob(f"{key}*")) == []  # the key record goes with it

"""The checkpoints of training jobs (spec/training.md "Logs, metrics and checkpoints", TRN-046
to TRN-050, TRN-065): their records in SQLite, their content and models as training blobs,
their listing oldest step first, their retention by `keep_last_count` and `keep_best_count`,
and their downloads.

A checkpoint's record is written after its blobs are stored, so it is listed only once
complete, and never changes. Blobs are shared by digest, between checkpoints and with other
users (a job's output): a blob is deleted when no checkpoint refers to it and the `in_use`
callback of the other users does not claim it. One lock orders storing a checkpoint and
deleting blobs, so a blob is never deleted between being stored again and being referred to."""

from __future__ import annotations

import math
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from lepton.training.v1 import checkpoint_pb2, training_job_pb2
from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import artifact_pb2, model_artifact_pb2, model_signature_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.artifact_chunks import check_range_fields
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.standard_fields import not_found, now_ns, timestamp
from lepton_server.registry.model_formats import media_type
from lepton_server.runtime.sqlite_database import SqliteDatabase
from lepton_server.training.training_blobs import TrainingBlobs

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    step INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    content_key TEXT NOT NULL,
    model_key TEXT NOT NULL,
    message BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoints_by_job ON checkpoints (job, step, create_time, name);
CREATE INDEX IF NOT EXISTS checkpoints_by_content ON checkpoints (content_key);
CREATE INDEX IF NOT EXISTS checkpoints_by_model ON checkpoints (model_key);
"""

CHECKPOINT = ("trainingJobs", "checkpoints")
# Oldest step first, ties by creation (TRN-047); the name makes every key unique.
CHECKPOINTS = Listing((), (), "step", "create_time, name")
_IN_LIST_ORDER = "ORDER BY step, create_time, name"


class Checkpoints(SqliteDatabase):
    """Checkpoint records, their blobs, their retention and their downloads."""

    def __init__(
        self,
        path: Path,
        blobs: TrainingBlobs,
        tokens: PageTokens,
        *,
        in_use: Callable[[str], bool] = lambda key: False,
    ) -> None:
        """`in_use(key)` tells whether something other than a checkpoint (a job's output)
        still uses the blob `key`; such a blob is kept when its checkpoints go."""
        super().__init__(path, SCHEMA)
        self.blobs = blobs
        self.tokens = tokens
        self.in_use = in_use

    # --- writing ----------------------------------------------------------------------------

    def add(
        self,
        job: str,
        *,
        content: Path,
        step: int,
        attempt: int,
        trigger: int,
        trainer: str,
        metrics: Mapping[str, float],
        model: Path | None = None,
        model_format: int = 0,
        model_entry_path: str = "",
        signature: model_signature_pb2.ModelSignature | None = None,
        policy: training_job_pb2.CheckpointPolicy | None = None,
        pinned: Collection[str] = (),
    ) -> checkpoint_pb2.Checkpoint:
        """Store a checkpoint of `job` ("trainingJobs/{job}"): its content (a file, or a
        directory stored as a tar) and the model exported with it, if any, and apply the
        retention of `policy` (see `retain`) in the same step, so that no reader ever lists
        more than it keeps (TRN-048). Blocking: run it off the event loop. The checkpoint is
        listed from when this returns."""
        while True:
            artifact, content_key = self.blobs.put(content)
            exported, model_key = None, ""
            if model is not None:
                descriptor, model_key = self.blobs.put(
                    model, media_type=media_type(model_format, model.is_dir())
                )
                exported = model_artifact_pb2.ModelArtifact(
                    descriptor=descriptor, format=model_format, entry_path=model_entry_path
                )
            with self._lock:
                # A retention elsewhere may have deleted a blob this one shares since it was
                # stored; then store it again.
                if not all(self.blobs.exists(key) for key in (content_key, model_key) if key):
                    continue
                # Strictly after the job's previous checkpoint, so "newest" is never a tie.
                newest = self._one("SELECT MAX(create_time) FROM checkpoints WHERE job=?", job)[0]
                created = max(now_ns(), (newest or 0) + 1)
                checkpoint = checkpoint_pb2.Checkpoint(
                    name=self._new_name(job, step),
                    step=step,
                    attempt=attempt,
                    trigger=trigger,
                    create_time=timestamp(created),
                    metrics=dict(metrics),
                    artifact=artifact,
                    trainer=trainer,
                    model=exported,
                    signature=signature,
                )
                self._run(
                    "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?)",
                    checkpoint.name,
                    job,
                    step,
                    created,
                    content_key,
                    model_key,
                    checkpoint.SerializeToString(),
                )
                if policy is not None:
                    self.retain(job, policy, latest=checkpoint.name, pinned=pinned)
                return checkpoint

    def _new_name(self, job: str, step: int) -> str:
        """An unused opaque AIP-122 id under the job, readable in logs."""
        while True:
            name = f"{job}/checkpoints/step-{step}-{secrets.token_hex(3)}"
            if self._one("SELECT 1 FROM checkpoints WHERE name=?", name) is None:
                return name

    def retain(
        self,
        job: str,
        policy: training_job_pb2.CheckpointPolicy,
        *,
        latest: str,
        pinned: Collection[str] = (),
    ) -> str:
        """Apply the policy's retention to the job's checkpoints (TRN-048, TRN-065): with
        `keep_last_count` n > 0, a checkpoint goes unless it is among the n newest, among the
        `keep_best_count` best by `best_metric`, `latest`, or `pinned`. The best checkpoint
        left, "" without `best_metric` or when no checkpoint has a value of it."""
        checkpoints = self.of_job(job)
        if policy.keep_last_count > 0:
            keep = {latest, *pinned}
            newest_first = sorted(
                checkpoints,
                key=lambda c: (c.create_time.ToNanoseconds(), c.name),
                reverse=True,
            )
            keep.update(c.name for c in newest_first[: policy.keep_last_count])
            keep.update(c.name for c in _ranked(checkpoints, policy)[: policy.keep_best_count])
            self._remove([c.name for c in checkpoints if c.name not in keep])
        return self.best(job, policy)

    def best(self, job: str, policy: training_job_pb2.CheckpointPolicy) -> str:
        """The job's best checkpoint by the policy's `best_metric`, "" without one (TRN-065)."""
        ranked = _ranked(self.of_job(job), policy)
        return ranked[0].name if ranked else ""

    def delete_job(self, job: str) -> None:
        """Delete every checkpoint of the job (DeleteTrainingJob)."""
        self._remove([c.name for c in self.of_job(job)])

    def _remove(self, names: list[str]) -> None:
        """Delete the checkpoints `names` and the blobs nothing uses any more."""
        if not names:
            return
        with self._lock:
            released: set[str] = set()
            with self.transaction():
                for name in names:
                    row = self._one(
                        "SELECT content_key, model_key FROM checkpoints WHERE name=?", name
                    )
                    if row is not None:
                        released.update(key for key in row if key)
                        self._run("DELETE FROM checkpoints WHERE name=?", name)
            for key in released:
                if not self.uses(key) and not self.in_use(key):
                    self.blobs.delete(key)

    def uses(self, key: str) -> bool:
        """Whether a checkpoint's content or model is the blob `key`."""
        return (
            self._one(
                "SELECT 1 FROM checkpoints WHERE content_key=? OR model_key=? LIMIT 1", key, key
            )
            is not None
        )

    # --- reading ----------------------------------------------------------------------------

    def get(self, name: str, field_path: str = "name") -> checkpoint_pb2.Checkpoint:
        """The checkpoint `name`: INVALID_NAME when malformed, RESOURCE_NOT_FOUND when absent
        (TRN-003)."""
        return checkpoint_pb2.Checkpoint.FromString(self._row(name, "message", field_path))

    def content_key(self, name: str) -> str:
        """The blob key of the checkpoint's content."""
        return self._row(name, "content_key", "name")

    def model_key(self, name: str) -> str:
        """The blob key of the checkpoint's model; "" when it has none."""
        return self._row(name, "model_key", "name")

    def _row(self, name: str, column: str, field_path: str) -> Any:
        resource_names.parse(name, CHECKPOINT, field_path)
        found = self._one(f"SELECT {column} FROM checkpoints WHERE name=?", name)
        if found is None:
            raise not_found(name)
        return found[0]

    def of_job(self, job: str) -> list[checkpoint_pb2.Checkpoint]:
        """Every checkpoint of the job, oldest step first, ties by creation."""
        rows = self._all(f"SELECT message FROM checkpoints WHERE job=? {_IN_LIST_ORDER}", job)
        return [checkpoint_pb2.Checkpoint.FromString(message) for (message,) in rows]

    def list(
        self, job: str, request: pb.ListCheckpointsRequest
    ) -> tuple[list[checkpoint_pb2.Checkpoint], str]:
        """One page of the job's checkpoints and the next page token (TRN-018, TRN-047);
        the caller has checked `request.parent` and that the job exists."""
        return CHECKPOINTS.page(
            self.tokens,
            request,
            lambda: self.of_job(job),
            lambda checkpoint: lambda path: getattr(checkpoint, path),
            f"{job}/checkpoints",
        )

    def download(
        self, name: str, request: pb.DownloadCheckpointRequest
    ) -> AsyncIterator[pb.DownloadCheckpointResponse]:
        """Check the request now (errors before any message), then the descriptor and the
        chunks of the checkpoint's content (GEN-080, GEN-081, TRN-050)."""
        resource_names.parse(name, CHECKPOINT, "name")
        check_range_fields(request.offset, request.length_bytes, request.chunk_size_bytes)
        checkpoint = self.get(name)
        chunks = self.blobs.download(
            self.content_key(name),
            checkpoint.artifact,
            request.offset,
            request.length_bytes,
            request.chunk_size_bytes,
        )
        return _responses(name, checkpoint.artifact, chunks)


async def _responses(
    name: str,
    descriptor: artifact_pb2.ArtifactDescriptor,
    chunks: AsyncIterator[artifact_pb2.ArtifactChunk],
) -> AsyncIterator[pb.DownloadCheckpointResponse]:
    yield pb.DownloadCheckpointResponse(artifact=descriptor)
    try:
        async for chunk in chunks:
            yield pb.DownloadCheckpointResponse(chunk=chunk)
    except FileNotFoundError:
        # Retention deleted the checkpoint between the request and its first byte.
        raise not_found(name) from None


def _ranked(
    checkpoints: list[checkpoint_pb2.Checkpoint], policy: training_job_pb2.CheckpointPolicy
) -> list[checkpoint_pb2.Checkpoint]:
    """The checkpoints with a non-NaN value of `best_metric`, best first (TRN-065); equal
    values keep the list order."""
    metric = policy.best_metric
    if not metric:
        return []
    scored = [c for c in checkpoints if not math.isnan(c.metrics.get(metric, math.nan))]
    higher = policy.best_metric_goal == training_job_pb2.METRIC_GOAL_MAXIMIZE
    return sorted(scored, key=lambda c: -c.metrics[metric] if higher else c.metrics[metric])

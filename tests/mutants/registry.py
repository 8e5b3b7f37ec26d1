"""Mutants of the registry layer (spec/registry.md) and of inference serving its models
(spec/inference.md §12)."""

from __future__ import annotations

import dataclasses
import time

from lepton_server.inference import registry_models
from lepton_server.registry import aliases, blob_store, downloads, events, models, uploads, versions
from mutants.mutation import Mutant, replace, set_attribute


def _supersede_ignored(_original):
    def mutated(self, session):
        return None

    return mutated


def _digest_mismatch_accepted(original):
    """A digest mismatch (or bytes past the size) no longer fails the registration."""

    def mutated(self, session, error, reason, why):
        if reason == "DIGEST_MISMATCH":
            return None
        return original(self, session, error, reason, why)

    return mutated


def _resume_restarts_at_zero(original):
    """Every new upload stream throws away the bytes committed before it."""

    async def mutated(self, header):
        session = await original(self, header)
        if session.result is None:
            self.blobs.discard(session.key)
            self._hashes.pop(session.key, None)
        return session

    return mutated


def _replay_skips_one(original):
    def mutated(self, request):
        start, truncated = original(self, request)
        return (start + 1 if request.start_sequence else start), truncated

    return mutated


def _numbers_reused(original):
    """After a deletion the next number is one more than the highest left, not than ever."""

    def mutated(self, request):
        original(self, request)
        model_id = request.name.split("/")[1]
        model = self.store.model(model_id)
        left = [row.number for row in self.store.versions(model.uid)]
        self.store.put_model(dataclasses.replace(model, last_number=max(left, default=0)))

    return mutated


def _download_from_zero(original):
    def mutated(self, descriptor, sha256, offset, end, **rest):
        return original(self, descriptor, sha256, 0, end - offset, **rest)

    return mutated


def _file_path_ignored(original):
    """A file of an archive is served from the archive's first byte."""

    def mutated(self, descriptor, sha256, offset, end, *, path, chunk):
        return original(self, descriptor, sha256, offset, end, path="", chunk=chunk)

    return mutated


def _delete_always_forced(original):
    def mutated(self, request):
        request.force = True
        return original(self, request)

    return mutated


def _serving_gap(original):
    """A model is dropped from serving while it is resynchronised after an event."""

    def mutated(self, model_id):
        self._models.pop(model_id, None)
        time.sleep(0.2)
        return original(self, model_id)

    return mutated


def _aliases_frozen(original):
    """Serving keeps the alias map of a model's first synchronisation."""

    def mutated(self, model_id):
        before = self._models.get(model_id)
        original(self, model_id)
        after = self._models.get(model_id)
        if before is not None and after is not None:
            self._models[model_id] = dataclasses.replace(after, aliases=before.aliases)

    return mutated


MUTANTS: dict[str, Mutant] = {
    "alias-moves-without-an-etag-check": Mutant(
        "REG-036: SetModelAlias and DeleteModelAlias ignore a stale etag",
        set_attribute(aliases, "check_etag", lambda given, current: None),
        frozenset(
            {
                "registry-core.aliases.compare-and-swap-has-one-winner",
                "registry-core.errors.set-alias-stale-etag",
            }
        ),
    ),
    "upload-commits-on-a-digest-mismatch": Mutant(
        "REG-024: bytes that hash differently from the declared sha256 become READY",
        replace(uploads.Uploads, "_fail", _digest_mismatch_accepted),
        frozenset(
            {
                "registry-core.uploads.bytes-beyond-the-size-fail",
                "registry-core.uploads.digest-mismatch-fails-the-registration",
                "registry-core.uploads.retry-of-a-ready-version-succeeds",
            }
        ),
    ),
    "resume-restarts-at-zero": Mutant(
        "REG-022: a new upload stream discards the bytes committed before it",
        replace(uploads.Uploads, "begin", _resume_restarts_at_zero),
        frozenset(
            {
                "registry-core.uploads.broken-stream-keeps-committed-bytes",
                "registry-core.uploads.half-closed-upload-resumes",
                "registry-core.uploads.second-stream-supersedes-the-first",
            }
        ),
    ),
    "dedupe-copies-the-bytes-again": Mutant(
        "REG-046: content the registry holds is asked for again",
        set_attribute(blob_store.BlobStore, "has", lambda self, sha256, size: False),
        frozenset(
            {
                "registry-core.uploads.known-content-moves-no-bytes",
            }
        ),
    ),
    "events-replay-skips-one": Mutant(
        "REG-040: a watch from a sequence starts one event later",
        replace(events.EventLog, "_start", _replay_skips_one),
        frozenset(
            {
                "registry-core.events.replay-continues-live-without-a-gap",
            }
        ),
    ),
    "version-numbers-reused": Mutant(
        "REG-012: a deleted version's number is assigned again",
        replace(versions.Versions, "delete", _numbers_reused),
        frozenset(
            {
                "registry-core.versions.numbers-are-never-reused",
            }
        ),
    ),
    "download-ignores-the-offset": Mutant(
        "REG-031: a download sends the bytes from 0 whatever offset is asked",
        replace(downloads.Downloads, "_responses", _download_from_zero),
        frozenset(
            {
                "registry-core.downloads.ranges-from-any-offset",
                "registry-core.downloads.one-file-of-an-archive",
            }
        ),
    ),
    "archive-file-from-the-first-byte": Mutant(
        "REG-057: one file of an archive is served from the archive's first byte",
        replace(downloads.Downloads, "_responses", _file_path_ignored),
        frozenset(
            {
                "registry-core.downloads.one-file-of-an-archive",
            }
        ),
    ),
    "delete-model-ignores-its-versions": Mutant(
        "REG-010: DeleteModel without force deletes a model with versions",
        replace(models.Models, "delete", _delete_always_forced),
        frozenset(
            {
                "registry-core.errors.delete-model-with-versions",
            }
        ),
    ),
    "second-upload-does-not-supersede": Mutant(
        "REG-026: an older upload stream keeps writing after a newer one took over",
        replace(uploads.Uploads, "_check_owner", _supersede_ignored),
        frozenset(
            {
                "registry-core.uploads.second-stream-supersedes-the-first",
            }
        ),
    ),
    "serving-switch-drops-requests": Mutant(
        "REG-056: a served model disappears while it is resynchronised",
        replace(registry_models.RegistryModels, "_sync", _serving_gap),
        frozenset(
            {
                "registry-serving.serving.alias-move-under-load-fails-nothing",
            }
        ),
    ),
    "serving-keeps-the-first-aliases": Mutant(
        "INF-090: an alias move is never served",
        replace(registry_models.RegistryModels, "_sync", _aliases_frozen),
        frozenset(
            {
                "registry-serving.serving.alias-move-under-load-fails-nothing",
                "registry-serving.serving.by-number-alias-and-latest",
            }
        ),
    ),
}

"""Mutants of the registry layer (spec/registry.md) and of inference serving its models
(spec/inference.md §12)."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from urllib.parse import urlparse

from lepton_server.inference import registry_models
from lepton_server.registry import (
    aliases,
    archives,
    attestations,
    blob_store,
    conversion,
    downloads,
    equivalence,
    events,
    import_sources,
    model_formats,
    model_imports,
    models,
    uploads,
    version_attestations,
    version_checks,
    versions,
)
from lepton_server.runtime.errors import LeptonError
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


def _never_checked(_original):
    def mutated(self, session, artifact, files):
        return None

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


def _lineage_drops_dataset_uris(original):
    """CreateModelVersion stores only the lineage datasets named by dataset version."""

    def mutated(version, max_artifact_bytes):
        original(version, max_artifact_bytes)
        kept = [d for d in version.lineage.datasets if d.WhichOneof("source") != "uri"]
        del version.lineage.datasets[:]
        version.lineage.datasets.extend(kept)

    return mutated


def _dot_dot_allowed(original):
    def mutated(name):
        return name if ".." in name.split("/") else original(name)

    return mutated


def _files_with_the_paths_digest(original):
    """An archive's files are listed with the SHA-256 of their path, not of their bytes."""

    def mutated(archive, member, path):
        listed = original(archive, member, path)
        listed.digest.hex = hashlib.sha256(path.encode()).hexdigest()
        return listed

    return mutated


def _source_uri_unchecked(original):
    """lineage.source_uri is never checked for user information or a query string."""

    def mutated(lineage):
        copy = type(lineage)()
        copy.CopyFrom(lineage)
        copy.source_uri = ""
        return original(copy)

    return mutated


def _import_uri_credentials_dropped(original):
    """An import URI's user information and query are dropped instead of refused."""

    def mutated(uri, roots, field):
        parsed = urlparse(uri)
        clean = parsed._replace(netloc=parsed.netloc.rsplit("@", 1)[-1], query="").geturl()
        return original(clean, roots, field)

    return mutated


def _predicate_type_not_recorded(original):
    def mutated(*args, **kwargs):
        original(*args, **kwargs)
        return ""

    return mutated


def _report_miscounts_rows(original):
    def mutated(differences, *, rows, **fields):
        return original(differences, rows=rows + 1, **fields)

    return mutated


def _tolerance_ignored(original):
    """A conversion compares with the default tolerance whatever the job asks."""

    def mutated(data, model_format, signature, job, **kwargs):
        lenient = type(job)()
        lenient.CopyFrom(job)
        lenient.ClearField("tolerance")
        return original(data, model_format, signature, lenient, **kwargs)

    return mutated


def _mlflow_framework_dropped(original):
    def mutated(*args, **kwargs):
        imported = original(*args, **kwargs)
        if imported.model_format == model_formats.ModelFormat.MODEL_FORMAT_MLFLOW:
            return dataclasses.replace(imported, framework="")
        return imported

    return mutated


class _EveryPath:
    """File roots that contain every path."""

    def contains(self, _path):
        return True


def _roots_ignored(original):
    def mutated(uri, _roots, field):
        return original(uri, _EveryPath(), field)

    return mutated


def _unknown_format_is_other(original):
    def mutated(path):
        try:
            return original(path)
        except LeptonError:
            return model_formats.ModelFormat.MODEL_FORMAT_OTHER

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
    "format-never-checked": Mutant(
        "REG-028: content is never checked against its declared format",
        replace(uploads.Uploads, "_check_content", _never_checked),
        frozenset(
            f"registry-core.formats.mislabelled.{kind}"
            for kind in (
                "onnx-that-is-not-a-model-proto",
                "safetensors-without-a-header",
                "gguf-without-its-magic",
                "tflite-without-its-identifier",
                "torchscript-that-is-not-a-zip",
                "torch-export-that-is-not-a-zip",
                "saved-model-without-saved-model-pb",
                "openvino-ir-without-its-bin",
            )
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
    "lineage-drops-dataset-uris": Mutant(
        "REG-014: lineage is not stored as given (datasets named by URI are dropped)",
        replace(versions, "check_new_version", _lineage_drops_dataset_uris),
        frozenset(
            {
                "registry-core.versions.lineage-and-immutable-fields-are-kept",
            }
        ),
    ),
    "archive-with-a-dot-dot-path-accepted": Mutant(
        "REG-027: an archive entry with a '..' segment passes the archive rules",
        replace(archives, "_check_path", _dot_dot_allowed),
        frozenset(
            {
                "registry-core.archives.broken.dot-dot-segment",
            }
        ),
    ),
    "archive-files-listed-with-wrong-digests": Mutant(
        "REG-027: a READY archive lists its files with digests that are not their bytes'",
        replace(archives, "_file", _files_with_the_paths_digest),
        frozenset(
            {
                "registry-core.archives.ready-archive-lists-its-files",
                "registry-core.imports.file-and-directory-become-ready-versions",
            }
        ),
    ),
    "source-uri-with-credentials-accepted": Mutant(
        "REG-048: lineage.source_uri with user information or a query string is stored",
        replace(version_checks, "_check_lineage", _source_uri_unchecked),
        frozenset(
            {
                "registry-core.errors.create-version-source-uri-with-user-info",
                "registry-core.errors.create-version-source-uri-with-query",
            }
        ),
    ),
    "import-uri-credentials-dropped": Mutant(
        "REG-048: an import URI with user information or a query string is accepted",
        replace(import_sources, "check_source", _import_uri_credentials_dropped),
        frozenset(
            {
                "registry-core.imports.uri-with-credentials-is-invalid",
            }
        ),
    ),
    "attestation-without-predicate-type": Mutant(
        "REG-049: an appended attestation's predicate_type is left empty",
        replace(version_attestations, "verify_attestation", _predicate_type_not_recorded),
        frozenset(
            {
                "registry-core.attestations.signed-statement-is-appended",
            }
        ),
    ),
    "attestation-accepts-a-bad-signature": Mutant(
        "REG-050: an Ed25519 signature that does not verify is attached",
        set_attribute(attestations, "ed25519_verifies", lambda *_: True),
        frozenset(
            {
                "registry-core.attestations.signature-from-another-key-is-invalid",
                "registry-core.attestations.signature-over-other-bytes-is-invalid",
            }
        ),
    ),
    "conversion-report-miscounts-rows": Mutant(
        "REG-051: the equivalence report states one sample row more than were drawn",
        replace(equivalence, "report", _report_miscounts_rows),
        frozenset(
            {
                "registry-core.conversions.skops-model-becomes-an-equivalent-onnx-version",
            }
        ),
    ),
    "conversion-ignores-the-tolerance": Mutant(
        "REG-052: a conversion outside the job's tolerance registers a version",
        replace(conversion, "convert_job", _tolerance_ignored),
        frozenset(
            {
                "registry-core.conversions.outputs-beyond-the-tolerance-register-nothing",
            }
        ),
    ),
    "mlflow-import-without-framework": Mutant(
        "REG-053: an imported MLflow model's flavor is not recorded as framework",
        replace(model_imports, "describe_import", _mlflow_framework_dropped),
        frozenset(
            {
                "registry-core.imports.mlflow-directory-becomes-an-mlflow-version",
            }
        ),
    ),
    "import-ignores-the-file-roots": Mutant(
        "REG-054: an import reads a file:// path outside the served roots",
        replace(import_sources, "check_source", _roots_ignored),
        frozenset(
            {
                "registry-core.imports.path-outside-the-roots-is-not-allowed",
            }
        ),
    ),
    "import-guesses-an-unknown-format": Mutant(
        "REG-054: a file of no recognisable format is imported as OTHER",
        replace(model_formats, "detect_format", _unknown_format_is_other),
        frozenset(
            {
                "registry-core.imports.undetectable-format-is-unknown",
            }
        ),
    ),
}

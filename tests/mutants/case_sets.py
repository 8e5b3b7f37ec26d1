"""Sets of case IDs that several mutants' caught-sets are built from."""

from __future__ import annotations

from lepton_conformance.harness import vectors
from lepton_conformance.suites.data import arrow_samples

# The inference cases that check an ErrorInfo reason: every row of the error table and these.
ERROR_TABLE = frozenset(
    f"inference-core.errors.{row['id']}"
    for row in vectors.load("lepton_conformance.suites.inference", "inference.yaml")["errors"]
)
# The data cases that check an ErrorInfo reason: every row of the error tables and these.
DATA_TABLES = vectors.load("lepton_conformance.suites.data", "data.yaml")
DATA_ERROR_TABLES = (
    frozenset(
        f"data-core.{prefix}.{row['id']}"
        for table, prefix in (
            ("names", "names"),
            ("not_found", "not-found"),
            ("filters", "filters"),
            ("orders", "orders"),
            ("labels", "labels"),
            ("write_headers", "write-header"),
            ("read_errors", "read-error"),
        )
        for row in DATA_TABLES[table]
    )
    | {f"data-core.write-invalid-arrow.{kind}" for kind in arrow_samples.INVALID_STREAMS}
    | {f"data-core.write-unsupported-type.{kind}" for kind in arrow_samples.UNSUPPORTED_COLUMNS}
    # IssueFlightTicket repeats the ReadVersion rows it can send (suites/data/flight.py).
    | {
        f"data-core.flight.ticket-error.{row['id']}"
        for row in DATA_TABLES["read_errors"]
        if set(row["request"]) <= {"columns", "offset", "limit"}
    }
    | {
        f"data-core.flight.ticket-error.{row['id'].removeprefix('read-version-')}"
        for table in ("names", "not_found")
        for row in DATA_TABLES[table]
        if row["rpc"] == "ReadVersion"
    }
)
# The job and processing cases that check an ErrorInfo reason: every row of their error
# tables and these.
JOB_TABLES = vectors.load("lepton_conformance.suites.data", "data_jobs.yaml")
PROCESSING_TABLES = vectors.load("lepton_conformance.suites.data", "processing.yaml")
JOB_ERROR_TABLES = (
    frozenset(
        f"data-core.{prefix}.{row['id']}"
        for table, prefix in (
            ("import_job_errors", "import.errors"),
            ("export_job_errors", "export.errors"),
            ("job_list_errors", "jobs.list-errors"),
        )
        for row in JOB_TABLES[table]
    )
    | {
        f"data-processing.validate.errors.{row['id']}"
        for row in PROCESSING_TABLES["validation_errors"]
    }
    | {
        "data-core.import.file-outside-the-roots-is-denied",
        "data-core.import.unlisted-storage-scheme-is-unimplemented",
        "data-core.jobs.cancel-of-a-finished-job-fails",
        "data-core.jobs.create-request-id-and-existing-id",
        "data-core.jobs.delete-dataset-while-a-job-runs",
        "data-core.jobs.deleted-with-their-dataset",
        "data-core.jobs.unknown-job-not-found",
        "data-processing.runs.create-validates-like-validate",
        "data-processing.runs.unknown-input-or-output-not-found",
        "data-processing.runs.watch-get-and-cancel",
        "data-processing.validate.at-most-1000-steps",
        "data-processing.validate.cast-type-strings-rejected",
        "data-processing.validate.schemas-per-step-and-fingerprint",
    }
)
# Every golden vector of the processing profile: each compares an output's content digest.
GOLDEN = frozenset(f"data-processing.golden.{row['id']}" for row in PROCESSING_TABLES["golden"])
# Every case that checks an ErrorInfo reason. Not data-core.discovery.features-are-exactly-the-
# implemented-ones: the mutants list every feature it probes (data.flight too), so it checks none.
REASON_CHECKS = (
    ERROR_TABLE
    | DATA_ERROR_TABLES
    | JOB_ERROR_TABLES
    | {
        "general.auth.missing-token-is-unauthenticated",
        "general.auth.invalid-token-is-unauthenticated",
        "general.errors.malformed-request-is-invalid-argument",
        "general.pagination.negative-page-size-is-invalid",
        "general.pagination.foreign-token-is-invalid",
        "inference-core.infer.unknown-parameters-ignored",
        "inference-core.model.metadata",
        "inference-core.model.ready",
        "inference-extended.repository.unknown-model",
        "inference-extended.repository.unload-then-load",
        "inference-extended.statistics.every-loaded-version",
        "data-core.datasets.create-existing-id-already-exists",
        "data-core.datasets.create-rejects-long-texts",
        "data-core.datasets.create-request-id-replay",
        "data-core.datasets.delete-needs-force-when-not-empty",
        "data-core.datasets.delete-removes-everything",
        "data-core.datasets.etag-makes-changes-conditional",
        "data-core.datasets.update-mask-rejects-other-fields",
        "data-core.pagination.foreign-token-is-invalid",
        "data-core.pagination.negative-page-size-is-invalid",
        "data-core.pagination.token-bound-to-its-request",
        "data-core.tags.delete-removes-only-the-tag",
        "data-core.tags.etag-makes-changes-conditional",
        "data-core.tags.set-rejects-another-datasets-version",
        "data-core.write.append-schema-mismatch",
        "data-core.write.arrow-data-digest",
        "data-core.write.cancelled-stream-commits-nothing",
        "data-core.write.expected-parent-version",
        "data-core.write.failed-streams-leave-no-trace",
        "data-core.write.header-comes-first-and-once",
        "data-core.write.refused-before-the-stream-ends",
        "data-core.write.request-id-replay",
    }
)

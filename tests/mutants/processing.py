"""Mutants of the data layer's import and export jobs and pipeline runs."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random

import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf import json_format

from lepton.data.v1 import dataset_pb2 as data_resources
from lepton_server.aip.jobs import runner as job_runner
from lepton_server.data import dataset_jobs, pipelines, processing, version_writes
from lepton_server.data.pipelines import predicates, statistics
from lepton_server.data.pipelines.steps import STEP_COMPILERS, anonymization
from lepton_server.runtime import errors
from mutants.mutation import Mutant, replace, set_attribute, set_item


def _naive_mean(values) -> float:
    total = 0.0
    for value in values.tolist():
        total += value
    return total / len(values)


def _failed_import_commits(run_import):
    """An import that fails still commits a version (and moves its tags)."""

    async def mutated(self, handle, dataset_id, locations, schema):
        try:
            await run_import(self, handle, dataset_id, locations, schema)
        except errors.LeptonError:
            job = handle.job
            commit = version_writes.Commit(
                mode=data_resources.WRITE_MODE_OVERWRITE,
                lineage=data_resources.Lineage(
                    origin=data_resources.VERSION_ORIGIN_IMPORT, source=job.name
                ),
                tags=tuple(job.tags),
            )
            dataset = self.catalog.dataset_row(f"datasets/{dataset_id}")
            await self.catalog.commit_table(dataset, pa.table({"partial": [1]}), commit)
            raise

    return mutated


def _types_of_the_first_block(source_parts):
    """A text file is only ever read in blocks: a later block that needs a wider type than
    the first one inferred fails the job rather than widening the column."""

    def mutated(*args, widens):
        return source_parts(*args, widens=False)

    return mutated


def _export_columns_ignored(run_export):
    """An export writes every column whatever `columns` selects (the job still shows them)."""

    async def mutated(self, handle, dataset_id, version_id, location):
        selected = list(handle.job.columns)
        handle.update(lambda job: job.ClearField("columns"))
        try:
            await run_export(self, handle, dataset_id, version_id, location)
        finally:
            handle.update(lambda job: job.columns.extend(selected))

    return mutated


def _finished_jobs_cancel_quietly(cancel):
    async def mutated(self, name):
        if self.state(name) in job_runner.TERMINAL:
            return self.get(name)
        return await cancel(self, name)

    return mutated


def _watch_stays_open(watch):
    async def mutated(self, name):
        async for job in watch(self, name):
            yield job
        await asyncio.Event().wait()

    return mutated


def _fingerprint_of_json(pipeline):
    """SHA-256 of the JSON form: not the deterministic binary encoding of §6.5."""
    return hashlib.sha256(json_format.MessageToJson(pipeline).encode()).hexdigest()


def _negate_of_unknown_is_true(compile_predicate):
    """NOT(null) keeps the row: the filter drops unknown rows only when not negated."""

    def mutated(predicate, schema, path):
        evaluate = compile_predicate(predicate, schema, path)
        if predicate.WhichOneof("kind") != "negate":
            return evaluate
        return lambda table: pc.fill_null(evaluate(table), True)

    return mutated


def _normalize_by_max(compile_normalize):
    """normalize divides by max instead of max - min."""

    def mutated(step, schema, path):
        plan = compile_normalize(step, schema, path)

        def apply(table):
            result, fitted = plan.apply(table)
            for column in fitted:
                spread, top = column.max - column.min, column.max
                if spread and top:
                    index = result.schema.get_field_index(column.column)
                    scaled = pc.multiply(result.column(index), spread / top)
                    result = result.set_column(index, result.schema.field(index), scaled)
            return result, fitted

        return dataclasses.replace(plan, apply=apply)

    return mutated


def _hash_without_salt(hash_values):
    return lambda array, *, salt: hash_values(array, salt=b"")


def _sample_unseeded(compile_sample):
    """sample draws from a fresh seed on every compilation, not from the step's."""

    def mutated(step, schema, path):
        reseeded = type(step)()
        reseeded.CopyFrom(step)
        reseeded.seed = random.getrandbits(64)
        return compile_sample(reseeded, schema, path)

    return mutated


def _step_reports_dropped(run):
    def mutated(pipeline, table, **kwargs):
        result = run(pipeline, table, **kwargs)
        return pipelines.RunResult(result.table, [])

    return mutated


Jobs = job_runner.JobRunner
Steps = STEP_COMPILERS
MUTANTS: dict[str, Mutant] = {
    "failed-import-commits-a-version": Mutant(
        "DAT-069: an import job that fails still commits a version",
        replace(dataset_jobs.DatasetJobs, "_run_import", _failed_import_commits),
        frozenset(
            {
                "data-core.import.arrow-schema-sets-names-order-and-types",
                "data-core.import.expected-parent-version",
                "data-core.import.missing-source-fails-and-commits-nothing",
            }
        ),
    ),
    "import-infers-types-from-the-first-block": Mutant(
        "DAT-141: a CSV import infers its types from the file's first block only",
        replace(dataset_jobs, "_source_parts", _types_of_the_first_block),
        frozenset(
            {
                "data-core.import.csv-types-inferred-from-every-row",
            }
        ),
    ),
    "export-ignores-the-column-selection": Mutant(
        "DAT-079: an export writes every column whatever `columns` selects",
        replace(dataset_jobs.DatasetJobs, "_run_export", _export_columns_ignored),
        frozenset(
            {
                "data-core.export.selected-columns-in-order",
            }
        ),
    ),
    "cancel-of-a-finished-job-succeeds": Mutant(
        "GEN-062: Cancel of a SUCCEEDED or FAILED job answers OK",
        replace(Jobs, "cancel", _finished_jobs_cancel_quietly),
        frozenset(
            {
                "data-core.jobs.cancel-of-a-finished-job-fails",
                "data-processing.runs.watch-get-and-cancel",
            }
        ),
    ),
    "watch-stays-open-after-the-terminal-state": Mutant(
        "GEN-061: Watch does not end after it sent a terminal state",
        replace(Jobs, "watch", _watch_stays_open),
        frozenset(
            {
                "data-core.jobs.watch-follows-to-the-terminal-state",
                "data-processing.runs.watch-get-and-cancel",
            }
        ),
    ),
    "delete-dataset-ignores-running-jobs": Mutant(
        "DAT-019: DeleteDataset deletes a dataset while an export of it runs",
        set_attribute(dataset_jobs.DatasetJobs, "_in_use", lambda self, dataset: False),
        frozenset(
            {
                "data-core.jobs.delete-dataset-while-a-job-runs",
            }
        ),
    ),
    "pipeline-fingerprint-of-the-json-form": Mutant(
        "DAT-093: the fingerprint hashes the JSON form, not the deterministic encoding",
        set_attribute(pipelines, "fingerprint", _fingerprint_of_json),
        frozenset(
            {
                "data-processing.runs.output-version-and-lineage",
                "data-processing.validate.schemas-per-step-and-fingerprint",
            }
        ),
    ),
    "runs-never-reuse": Mutant(
        "DAT-102: an identical run computes again instead of reusing the earlier output",
        set_attribute(processing.Processing, "_reusable", lambda self, run: None),
        frozenset(
            {
                "data-processing.runs.reuse-an-earlier-output",
            }
        ),
    ),
    "negated-unknown-keeps-the-row": Mutant(
        "DAT-112: negate maps null to true, so filters keep rows they must drop",
        replace(predicates, "compile_predicate", _negate_of_unknown_is_true),
        frozenset(
            {
                "data-processing.golden.filter-negate-keeps-null-unknown",
                "data-processing.golden.filter-negated-any-of-stays-unknown-on-nulls",
            }
        ),
    ),
    "normalize-divides-by-max": Mutant(
        "DAT-118: normalize divides by max instead of max - min",
        set_item(Steps, "normalize", _normalize_by_max),
        frozenset(
            {
                "data-processing.golden.normalize-min-max",
                "data-processing.runs.step-reports",
            }
        ),
    ),
    "hash-without-the-salt": Mutant(
        "DAT-119: anonymize hash ignores the salt",
        replace(anonymization, "_hash_values", _hash_without_salt),
        frozenset(
            {
                "data-processing.golden.anonymize-hash-with-the-salt",
            }
        ),
    ),
    "sample-not-seeded": Mutant(
        "DAT-126: sample draws a fresh seed per run, so runs differ",
        set_item(Steps, "sample", _sample_unseeded),
        frozenset(
            {
                "data-processing.random.sample-size-and-order",
                "data-processing.runs.recompute-is-deterministic",
            }
        ),
    ),
    "step-reports-missing": Mutant(
        "DAT-104: succeeded runs report no step",
        replace(pipelines, "run", _step_reports_dropped),
        frozenset(
            {
                "data-processing.golden.fill-nulls-mean-skips-nan-and-rounds-half-to-even",
                "data-processing.golden.fill-nulls-median-of-an-even-count",
                "data-processing.golden.fill-nulls-mode-ties-to-the-smallest",
                "data-processing.golden.normalize-min-max",
                "data-processing.golden.standardize-population-z-scores",
                "data-processing.golden.fill-nulls-mean-is-the-correctly-rounded-sum",
                "data-processing.golden.standardize-sums-are-correctly-rounded",
                "data-processing.runs.step-reports",
            }
        ),
    ),
    "sums-left-to-right": Mutant(
        "DAT-139: means of floating-point columns sum left to right in double",
        set_attribute(statistics, "_float_mean", _naive_mean),
        frozenset(
            {
                "data-processing.golden.fill-nulls-mean-is-the-correctly-rounded-sum",
                "data-processing.golden.standardize-sums-are-correctly-rounded",
            }
        ),
    ),
}

"""data-core cases generated from the job error tables of vectors/data_jobs.yaml: errors of
creating import and export jobs and of listing jobs."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import json_format

from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import arrow_samples
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_client import DatasetClient, unique_id
from lepton_conformance.suites.data.dataset_jobs import (
    EXPORT,
    IMPORT,
    JobClient,
    JobKind,
    file_root,
)
from lepton_conformance.suites.data.job_checks import INVALID, TABLES, job_kinds
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- creation errors (vectors/data_jobs.yaml) ------------------------------------------------


def _merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _arrow_schema(kind: str) -> bytes:
    if kind == "not-arrow":
        return b"this is not an Arrow schema"
    return arrow_samples.unsupported_table(kind).schema.serialize().to_pybytes()


@contextlib.contextmanager
def _error_fixture(client: DatasetClient, root: str, other: bool) -> Iterator[dict[str, str]]:
    """The scratch dataset of vectors/data_jobs.yaml and its placeholders."""
    with client.scratches(2 if other else 1) as names:
        version = client.write(names[0], rows(10))
        nested = pa.table({"a": [1, 2], "l": pa.array([[1], []], pa.list_(pa.int64()))})
        client.write(names[0], nested, tags=["nested"])
        placeholders = {
            "{d}": names[0].removeprefix("datasets/"),
            "{v}": version.name,
            "{nested}": f"{names[0]}/tags/nested",
            "{missing}": unique_id("conf-missing"),
            "{root}": root,
        }
        if other:
            placeholders["{other}"] = client.write(names[1], rows(1)).name
        yield placeholders


def _register_create_errors(kind: JobKind, table: str, base: dict[str, Any], cites: str) -> None:
    for row in TABLES[table]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            jobs = JobClient(client, kind)
            root = file_root(ctx)
            other = "{other}" in json.dumps(row)
            with _error_fixture(client, root, other) as names:
                dataset = f"datasets/{names['{d}']}"
                fields = vectors.filled(_merged(base, row.get("job", {})), names)
                if "source_count" in row:
                    fields["source_uris"] = [f"{root}f{i}.csv" for i in range(row["source_count"])]
                job = json_format.ParseDict(fields, kind.resource())
                if "description_length" in row:
                    job.description = "d" * row["description_length"]
                if "arrow_schema" in row:
                    job.arrow_schema = _arrow_schema(row["arrow_schema"])
                request = jobs.create_request(dataset, job)
                json_format.ParseDict(vectors.filled(row.get("request", {}), names), request)
                expect.rejects(
                    lambda: jobs.send(request),
                    getattr(grpc.StatusCode, row.get("code", "INVALID_ARGUMENT")),
                    row["reason"],
                    field=row.get("field"),
                    metadata=vectors.filled(row.get("metadata"), names),
                )
                expect.equal(
                    jobs.first_page(dataset), [], f"{kind.noun.lower()} jobs after the error"
                )

        code = row.get("code", "INVALID_ARGUMENT")
        body.__doc__ = (
            f"Create{kind.noun}Job, {row['id'].replace('-', ' ')}: {code} [{row['reason']}]"
        )
        requirements = row.get("requirements", [cites])
        CASES.case(CORE, f"{kind.noun.lower()}.errors.{row['id']}", *requirements, "DAT-002")(body)


_register_create_errors(
    IMPORT,
    "import_job_errors",
    {
        "source_uris": ["{root}rows.csv"],
        "format": {"format": "FILE_FORMAT_CSV"},
        "mode": "WRITE_MODE_OVERWRITE",
    },
    "DAT-064",
)
_register_create_errors(
    EXPORT,
    "export_job_errors",
    {"version": "{v}", "destination_uri": "{root}out.csv", "format": {"format": "FILE_FORMAT_CSV"}},
    "DAT-077",
)


def _register_list_errors() -> None:
    for row in TABLES["job_list_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            kinds = job_kinds(ctx)
            with client.scratch() as name:
                for kind in kinds:
                    request = kind.request("List", parent=name)
                    json_format.ParseDict(row["request"], request)
                    expect.rejects(
                        lambda kind=kind, request=request: client.call(kind.rpc("List"), request),
                        INVALID,
                        row["reason"],
                        field=row["field"],
                    )

        body.__doc__ = (
            f"List jobs, {row['id'].replace('-', ' ')}: INVALID_ARGUMENT [{row['reason']}]"
        )
        requirements = row.get("requirements", ["DAT-007", "DAT-090"])
        CASES.case(CORE, f"jobs.list-errors.{row['id']}", *requirements, "DAT-002")(body)


_register_list_errors()

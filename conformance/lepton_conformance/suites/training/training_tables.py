"""training-core cases generated from vectors/training.yaml: every row of the error table,
each checked to fail with its code, reason, field violation and metadata, and a rejected
create to create nothing (TRN-002, TRN-003 and the rows' own requirements)."""

from __future__ import annotations

import secrets
from typing import Any

import grpc

from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.training_checks import (
    TABLES,
    create_request,
    request_of,
    send,
)
from lepton_conformance.suites.training.training_client import SERVICE, TrainingClient
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()


def check_row(ctx: CaseContext, row: dict[str, Any]) -> None:
    names = {
        "{missing}": f"conf-missing-{secrets.token_hex(4)}",
        "{id}": f"conf-{secrets.token_hex(4)}",
        "{long}": "a" * 257,
    }
    for feature in row.get("features", []):
        ctx.require_feature(SERVICE, feature)
    with TrainingClient(ctx) as client:
        if row["rpc"] != "CreateTrainingJob":
            _refused(client, row, row.get("request", {}), names)
            return
        with training_dataset(ctx) as data:
            names |= {"{train}": data.version, "{dataset}": data.dataset}
            _refused(client, row, create_request(row), names)
        job = f"trainingJobs/{names['{id}']}"
        expect.fails_with(
            lambda: client.call("GetTrainingJob", pb.GetTrainingJobRequest(name=job)),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


def _refused(
    client: TrainingClient, row: dict[str, Any], fields: dict[str, Any], names: dict[str, str]
) -> None:
    request = request_of(row["rpc"], fields, names)
    error = expect.rejects(
        lambda: send(client, row["rpc"], request),
        getattr(grpc.StatusCode, row["code"]),
        row["reason"],
        field=row.get("field"),
        metadata=vectors.filled(row.get("metadata", {}), names),
    )
    if row["code"] == "INVALID_ARGUMENT":
        # Every row's INVALID_ARGUMENT is caused by a field value: TRN-002 wants it named.
        violations = expect.bad_request(error)
        expect.holds(
            violations is not None and len(violations.field_violations) > 0,
            "a google.rpc.BadRequest naming the field (TRN-002)",
            expect.describe(error),
        )


def _register() -> None:
    for row in TABLES["errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            check_row(ctx, row)

        body.__doc__ = f"{row['id'].replace('-', ' ')}: {row['code']} [{row['reason']}]"
        CASES.case(CORE, f"errors.{row['id']}", *row["requirements"], "TRN-002")(body)


_register()

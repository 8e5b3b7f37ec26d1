"""inference-core cases generated from vectors/inference.yaml: every golden vector in raw and
typed form, and every row of the error table."""

from __future__ import annotations

import grpc

from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.inference import oip
from lepton_conformance.suites.inference.profiles import CORE
from lepton_conformance.suites.inference.tensor_vectors import (
    DATA,
    changed_request,
    register_golden,
)

CASES = CaseList()


register_golden(CASES, CORE, lambda vector: vector["requirements"])


# --- the error table ----------------------------------------------------------------------


def _register_errors() -> None:
    for row in DATA["errors"]:

        def body(ctx: CaseContext, row=row) -> None:
            client = oip.client(ctx)
            message = changed_request(row)
            expect.fails_with(
                lambda: client.infer(message),
                getattr(grpc.StatusCode, row["code"]),
                row["reason"],
                field=row.get("field"),
            )

        body.__doc__ = f"{row['id']}: {row['code']} [{row['reason']}]"
        CASES.case(CORE, f"errors.{row['id']}", *row["requirements"], "GEN-001")(body)


_register_errors()

"""inference-core cases of how ModelInfer travels: outputs come back raw for typed requests,
and a request over the message limit is RESOURCE_EXHAUSTED (spec/inference.md)."""

from __future__ import annotations

import grpc
import numpy as np

from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.inference import oip
from lepton_conformance.suites.inference.profiles import CORE
from lepton_conformance.suites.inference.tensor_vectors import (
    GOLDEN,
    check_golden,
    golden_request,
)

CASES = CaseList()


@CASES.case(CORE, "infer.outputs-raw-for-typed-requests", "INF-029")
def raw_outputs(ctx: CaseContext) -> None:
    """A request with typed contents gets its outputs as raw contents, as Triton does."""
    client = oip.client(ctx)
    response = expect.succeeds(
        lambda: client.infer(golden_request(GOLDEN["add-sub-fp32"], raw=False))
    )
    expect.equal(
        len(response.raw_output_contents), len(response.outputs), "raw_output_contents entries"
    )


@CASES.case(CORE, "infer.oversized-request-is-resource-exhausted", "INF-037", "GEN-072")
def oversized_request(ctx: CaseContext) -> None:
    """An inference request over the server's message limit is RESOURCE_EXHAUSTED, and the next
    request is answered normally."""
    limit = ctx.options.message_limit
    if limit is None:
        raise Skipped(
            "the target's message limit is unknown (pass --message-limit BYTES)",
            needs="--message-limit BYTES",
        )
    client = oip.client(ctx)
    columns = 1024 * 1024
    rows = limit // columns + 1
    payload = np.zeros((rows, columns), dtype=np.uint8)
    message = oip.request("identity_uint8", [oip.Tensor("INPUT0", "UINT8", payload)])
    expect.fails_with(lambda: client.infer(message), grpc.StatusCode.RESOURCE_EXHAUSTED)
    check_golden(ctx, GOLDEN["identity-uint8"], raw=True)

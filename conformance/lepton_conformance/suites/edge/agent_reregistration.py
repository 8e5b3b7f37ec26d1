"""edge-agent cases of an agent whose access token the fleet refuses (spec/edge.md 2.1): it
registers again with a fresh proof, its release serving throughout (EDG-088, EDG-098); a
device then answered PENDING calls again no sooner than `retry_after`, and a DECOMMISSIONED
one stops contacting the fleet (EDG-089). They run last: after the decommissioning the agent
must stay silent, and an agent that never registers again could not be driven further."""

from __future__ import annotations

import time

from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.agent_rig import BASELINE_FACTOR, rig
from lepton_conformance.suites.edge.agent_sync import check_registration
from lepton_conformance.suites.edge.profiles import AGENT

CASES = CaseList()
# How long a decommissioned agent is watched for calling the fleet.
SILENCE_S = 3.0


@CASES.case(AGENT, "registration.after-unauthenticated", "EDG-088", "EDG-098")
def registers_again_after_unauthenticated(ctx: CaseContext) -> None:
    """After UNAUTHENTICATED the agent registers again with a fresh proof and reconnects
    with the new token, its release serving throughout"""
    r = rig(ctx)
    r.ensure_baseline()
    since = r.fleet.mark()
    r.fleet.revoke_tokens()
    register = check_registration(r, since, "after its access token was refused")
    challenge = r.fleet.since(since, "CreateRegistrationChallenge")
    if not challenge or challenge[0].time > register.time:
        raise Failed("a new challenge before the new Register", "none")
    r.wait_for_stream(since)
    r.expect_answers(BASELINE_FACTOR, "the committed release after the token was refused")


@CASES.case(AGENT, "registration.pending-retry-after", "EDG-089")
def pending_device_waits_retry_after(ctx: CaseContext) -> None:
    """A device answered PENDING calls Register again no sooner than retry_after"""
    r = rig(ctx)
    r.ensure_baseline()
    since = r.fleet.mark()
    r.fleet.register_answers = ["PENDING"]
    r.fleet.revoke_tokens()
    registers = [
        r.expect(lambda e: e.kind == "Register", "Register after the token was refused", since)
    ]
    registers.append(
        r.expect(
            lambda e: e.kind == "Register" and e is not registers[0],
            "Register again after retry_after",
            since,
            timeout=r.fleet.pending_retry_after.total_seconds() + 10,
        )
    )
    waited = registers[1].time - registers[0].time
    if waited < r.fleet.pending_retry_after.total_seconds():
        raise Failed(
            f"the next Register no sooner than retry_after "
            f"({r.fleet.pending_retry_after.total_seconds():g} s)",
            f"after {waited:.2f} s",
        )
    r.wait_for_stream(since)


@CASES.case(AGENT, "registration.decommissioned-stops", "EDG-089")
def decommissioned_device_stops_contacting(ctx: CaseContext) -> None:
    """A device refused with DEVICE_DECOMMISSIONED stops contacting the fleet"""
    r = rig(ctx)
    r.ensure_baseline()
    since = r.fleet.mark()
    r.fleet.register_answers = ["DEVICE_DECOMMISSIONED"] * 100
    r.fleet.revoke_tokens()
    refused = r.expect(
        lambda e: e.kind == "Register", "Register after the token was refused", since
    )
    time.sleep(SILENCE_S)
    # Calls are recorded by RPC name, or as "refused"; Sync messages in lower case.
    calls = [
        e.info.get("method", e.kind)
        for e in r.fleet.since(since)
        if e.time > refused.time and (e.kind == "refused" or e.kind[0].isupper())
    ]
    if calls:
        raise Failed("no call to the fleet after DEVICE_DECOMMISSIONED", calls[0])

"""edge-agent cases of update attempts (spec/edge.md 2.4, 2.9): a trusted release is
downloaded with every file, checked against its golden vectors, committed and served under
the deployment's ID (EDG-095, EDG-108, EDG-120); a golden-vector mismatch rolls back to the
previous release (EDG-095, EDG-109); an untrusted or altered release fails before anything
is fetched (EDG-105); a corrupt download is fetched once more from 0 and then fails, and is
not retried in the same generation (EDG-093, EDG-097); a cut download resumes where it
stopped (EDG-094); install windows are read on the server's clock (EDG-121); and a
deployment absent from the desired state is removed before its generation counts as applied
(EDG-096)."""

from __future__ import annotations

import datetime as dt
import time

import grpc
import numpy as np
from google.protobuf import duration_pb2

from lepton.edge.v1 import device_state_pb2, update_window_pb2
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.agent_releases import INPUT, LABELS_PATH, Release
from lepton_conformance.suites.edge.agent_rig import (
    BASELINE_FACTOR,
    CLOCK_OFFSET,
    DEPLOYMENT,
    DEPLOYMENT_ID,
    PROMPT_S,
    AgentRig,
    Phase,
    deployment_of,
    describe_attempt,
    describe_state,
    rig,
)
from lepton_conformance.suites.edge.fake_fleet import ArtifactFault, Event
from lepton_conformance.suites.edge.profiles import AGENT

CASES = CaseList()
QUIET_S = 2.0
# How long requests go on after the commit is reported.
SWAP_MARGIN_S = 0.3
# Codes of the in-band reasons (spec/edge.md 6.2).
CODES = {
    "RELEASE_SIGNATURE_INVALID": grpc.StatusCode.PERMISSION_DENIED,
    "DIGEST_MISMATCH": grpc.StatusCode.DATA_LOSS,
    "HEALTH_CHECK_FAILED": grpc.StatusCode.UNAVAILABLE,
}
# A model of this many bytes, cut after half of it.
LARGE_MODEL_PADDING = 256 * 1024
CUT_AFTER = 128 * 1024


def reads(r: AgentRig, since: int, digests: set[str]) -> list[Event]:
    """ReadArtifact and StatArtifact calls for `digests` after `since`."""
    return [
        e
        for e in r.fleet.since(since)
        if e.kind in ("ReadArtifact", "StatArtifact") and e.message.digest.hex in digests
    ]


def expect_ended(
    reported: device_state_pb2.ReportedDeployment, phase: int, reason: str, what: str
) -> None:
    attempt = reported.last_update
    code = CODES[reason].value[0]
    if (attempt.phase, attempt.error.reason, attempt.error.code) != (phase, reason, code):
        raise Failed(
            f"{what}: {Phase.Name(phase)} with reason {reason} (code {code})",
            describe_attempt(attempt),
        )


def expect_running(
    reported: device_state_pb2.ReportedDeployment, release: Release, what: str
) -> None:
    if reported.running.artifact_digest.hex != release.model_digest:
        raise Failed(
            f"{what}: {release.release.model_version} still running",
            f"running {reported.running.model_version or 'nothing'}",
        )


def expect_unchanged(
    r: AgentRig, reported: device_state_pb2.ReportedDeployment, base: Release, what: str
) -> None:
    """The baseline release still runs and serves."""
    expect_running(reported, base, what)
    r.expect_answers(BASELINE_FACTOR, f"the running release after {what}")


@CASES.case(AGENT, "updates.commit", "EDG-095", "EDG-096", "EDG-108", "EDG-120")
def trusted_release_is_committed_and_served(ctx: CaseContext) -> None:
    """A trusted release is downloaded with all its files, committed after its health check
    and served as the deployment's model, no request failing during the swap; its
    generation counts as applied only then"""
    r = rig(ctx)
    r.ensure_baseline()
    since = r.fleet.mark()
    release = r.release(3.0)
    with r.inferring() as (answers, failures):
        generation, _ = r.deploy(release)
        reported = r.outcome(release, since)
        time.sleep(SWAP_MARGIN_S)
    if reported.last_update.phase != Phase.UPDATE_PHASE_COMMITTED:
        raise Failed(
            "a trusted, intact, healthy release COMMITTED", describe_attempt(reported.last_update)
        )
    if failures:
        raise Failed("every request during the install and swap answered", failures[0])
    expected = (INPUT * BASELINE_FACTOR, INPUT * 3.0)
    if wrong := [a for a in answers if not any(np.allclose(a, e) for e in expected)]:
        raise Failed("answers of the previous or the new release during the swap", str(wrong[0]))
    expect_running(reported, release, "after the commit")
    fetched = {e.message.digest.hex for e in r.fleet.since(since, "ReadArtifact")}
    if missing := release.digests - fetched:
        raise Failed(
            "ReadArtifact of the model and every release file", f"{len(missing)} never read"
        )
    for state in r.reported_states(since):
        found = deployment_of(state)
        if state.applied_generation >= generation and (
            found is None or found.last_update.phase != Phase.UPDATE_PHASE_COMMITTED
        ):
            raise Failed(
                f"applied_generation {generation} only once its release is committed",
                describe_state(state),
            )
    r.expect_answers(3.0, f"the committed release, as model {DEPLOYMENT_ID!r}")


@CASES.case(AGENT, "updates.golden-vector-mismatch-rolls-back", "EDG-095", "EDG-109")
def golden_vector_mismatch_rolls_back(ctx: CaseContext) -> None:
    """A release whose model does not give its golden vectors' outputs is ROLLED_BACK with
    HEALTH_CHECK_FAILED and the previous release serves again"""
    r = rig(ctx)
    base = r.ensure_baseline()
    since = r.fleet.mark()
    release = r.release(3.0, expected=4.0)
    r.deploy(release)
    reported = r.outcome(release, since)
    expect_ended(
        reported,
        Phase.UPDATE_PHASE_ROLLED_BACK,
        "HEALTH_CHECK_FAILED",
        "golden vectors y = 4x against a model y = 3x",
    )
    expect_unchanged(r, reported, base, "the rollback")


def _fails_before_fetching(r: AgentRig, release: Release, base: Release, what: str) -> None:
    since = r.fleet.mark()
    r.deploy(release)
    reported = r.outcome(release, since)
    expect_ended(reported, Phase.UPDATE_PHASE_FAILED, "RELEASE_SIGNATURE_INVALID", what)
    if fetched := reads(r, since, release.digests):
        raise Failed(f"nothing fetched for {what}", f"{fetched[0].kind} of one of its artifacts")
    expect_unchanged(r, reported, base, what)


@CASES.case(AGENT, "updates.untrusted-signer", "EDG-105")
def untrusted_signer_fails_before_fetching(ctx: CaseContext) -> None:
    """A release signed under a trusted key ID by a key that is not the trusted one fails
    with RELEASE_SIGNATURE_INVALID and nothing of it is fetched"""
    r = rig(ctx)
    base = r.ensure_baseline()
    release = r.release(3.0, key=r.untrusted_key)
    _fails_before_fetching(r, release, base, "a release signed by an untrusted key")


@CASES.case(AGENT, "updates.altered-release", "EDG-105")
def altered_release_fails_before_fetching(ctx: CaseContext) -> None:
    """A release changed after it was signed (its digest no longer matches) fails with
    RELEASE_SIGNATURE_INVALID and nothing of it is fetched"""
    r = rig(ctx)
    base = r.ensure_baseline()
    release = r.release(3.0)
    release.release.parameters["threshold"] = "0.9"
    _fails_before_fetching(r, release, base, "a release altered after signing")


@CASES.case(AGENT, "downloads.digest-mismatch", "EDG-093", "EDG-097")
def digest_mismatch_refetches_then_fails(ctx: CaseContext) -> None:
    """A model whose bytes do not match its digest is fetched once more from offset 0, then
    the attempt FAILS with DIGEST_MISMATCH, the running release untouched, and it is not
    retried within the generation"""
    r = rig(ctx)
    base = r.ensure_baseline()
    since = r.fleet.mark()
    release = r.release(3.0)
    r.fleet.faults[release.model_digest] = ArtifactFault(corrupt=True)
    r.deploy(release)
    reported = r.outcome(release, since)
    expect_ended(reported, Phase.UPDATE_PHASE_FAILED, "DIGEST_MISMATCH", "a model served corrupt")
    from_zero = [
        e
        for e in reads(r, since, {release.model_digest})
        if e.kind == "ReadArtifact" and e.message.offset == 0
    ]
    if len(from_zero) < 2:
        raise Failed(
            "after the mismatch, a second ReadArtifact of the model from offset 0",
            f"{len(from_zero)} read(s) from offset 0",
        )
    expect_unchanged(r, reported, base, "the failed download")
    # The stream breaks; the agent gets the same generation again and must not retry.
    again = r.fleet.mark()
    r.fleet.end_streams(grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE")
    r.wait_for_stream(again)
    time.sleep(QUIET_S)
    if reads(r, again, release.digests):
        raise Failed(
            "no new attempt of the failed release within its generation", "it was fetched again"
        )


@CASES.case(AGENT, "downloads.resume-after-cut", "EDG-094")
def cut_download_resumes(ctx: CaseContext) -> None:
    """A download cut off after some bytes resumes at the bytes stored, not at 0"""
    r = rig(ctx)
    r.ensure_baseline()
    since = r.fleet.mark()
    release = r.release(BASELINE_FACTOR, padding=LARGE_MODEL_PADDING)
    r.fleet.faults[release.model_digest] = ArtifactFault(cut_after=CUT_AFTER)
    r.install(release)
    r.baseline = release
    model_reads = [e for e in reads(r, since, {release.model_digest}) if e.kind == "ReadArtifact"]
    cut = next((i for i, e in enumerate(model_reads) if e.info["cut"]), None)
    if cut is None or cut + 1 >= len(model_reads):
        raise Failed("a ReadArtifact after the cut one", f"{len(model_reads)} reads of the model")
    stored = model_reads[cut].info["sent"] + model_reads[cut].message.offset
    resumed = model_reads[cut + 1].message.offset
    if not 0 < resumed <= stored:
        raise Failed(
            f"the next ReadArtifact at the offset stored (at most {stored}, not 0)",
            f"offset {resumed}",
        )


@CASES.case(AGENT, "updates.file-mismatch", "EDG-108")
def corrupt_release_file_fails_the_attempt(ctx: CaseContext) -> None:
    """A release file whose bytes do not match its digest fails the attempt; the running
    release keeps serving"""
    r = rig(ctx)
    base = r.ensure_baseline()
    since = r.fleet.mark()
    release = r.release(3.0)
    r.fleet.faults[release.file_digest(LABELS_PATH)] = ArtifactFault(corrupt=True)
    r.deploy(release)
    reported = r.outcome(release, since)
    expect_ended(
        reported, Phase.UPDATE_PHASE_FAILED, "DIGEST_MISMATCH", "a release file served corrupt"
    )
    expect_unchanged(r, reported, base, "the failed attempt")


def _window_around(now: dt.datetime) -> update_window_pb2.UpdateWindow:
    """A daily UTC window open from 30 minutes before `now` for 2 hours."""
    opens = now - dt.timedelta(minutes=30)
    return update_window_pb2.UpdateWindow(
        start_minute=opens.hour * 60 + opens.minute,
        duration=duration_pb2.Duration(seconds=2 * 3600),
        time_zone="UTC",
    )


@CASES.case(AGENT, "updates.install-window", "EDG-121")
def install_waits_for_a_window_on_the_server_clock(ctx: CaseContext) -> None:
    """A release is downloaded at once but not installed while its install window is closed
    on the server's clock (open only on the device's); it installs once a window is open"""
    r = rig(ctx)
    base = r.ensure_baseline()
    since = r.fleet.mark()
    release = r.release(3.0)
    host_now = dt.datetime.now(dt.timezone.utc)
    r.deploy(release, install_windows=[_window_around(host_now)])

    def waiting_or_done(state: device_state_pb2.ReportedState) -> bool:
        found = deployment_of(state)
        return (
            found is not None
            and found.last_update.artifact_digest.hex == release.model_digest
            and found.last_update.phase
            in (
                Phase.UPDATE_PHASE_AWAITING_INSTALL_WINDOW,
                Phase.UPDATE_PHASE_COMMITTED,
                Phase.UPDATE_PHASE_FAILED,
                Phase.UPDATE_PHASE_ROLLED_BACK,
            )
        )

    state = r.wait_reported(waiting_or_done, "AWAITING_INSTALL_WINDOW reported", since)
    reported = deployment_of(state)
    if reported.last_update.phase != Phase.UPDATE_PHASE_AWAITING_INSTALL_WINDOW:
        raise Failed(
            f"AWAITING_INSTALL_WINDOW: the window is closed on the server clock "
            f"({CLOCK_OFFSET} ahead of the device's)",
            describe_attempt(reported.last_update),
        )
    fetched = {e.message.digest.hex for e in r.fleet.since(since, "ReadArtifact")}
    if missing := release.digests - fetched:
        raise Failed(
            "the release downloaded at once, before the window", f"{len(missing)} files never read"
        )
    time.sleep(QUIET_S)
    for state in r.reported_states(since):
        if (
            found := deployment_of(state)
        ) and found.running.artifact_digest.hex == release.model_digest:
            raise Failed("no install while the window is closed", describe_state(state))
    expect_unchanged(r, deployment_of(r.reported_states(since)[-1]), base, "the closed window")
    since = r.fleet.mark()
    r.deploy(release, install_windows=[_window_around(r.fleet.now())])
    reported = r.outcome(release, since)
    if reported.last_update.phase != Phase.UPDATE_PHASE_COMMITTED:
        raise Failed(
            "COMMITTED once a window is open on the server clock",
            describe_attempt(reported.last_update),
        )
    r.expect_answers(3.0, "the release installed in its window")


@CASES.case(AGENT, "updates.absent-deployment-removed", "EDG-096")
def absent_deployment_is_removed(ctx: CaseContext) -> None:
    """A deployment absent from the desired state is removed and no longer served before
    the generation is reported applied"""
    r = rig(ctx)
    r.ensure_baseline()
    since = r.fleet.mark()
    generation = r.fleet.set_desired()
    state = r.wait_reported(
        lambda s: s.applied_generation >= generation,
        f"applied_generation {generation} reported",
        since,
    )
    if deployment_of(state) is not None:
        raise Failed(
            f"{DEPLOYMENT} removed before generation {generation} is reported applied",
            describe_state(state),
        )
    deadline = time.monotonic() + PROMPT_S
    while r.model_ready():
        if time.monotonic() > deadline:
            raise Failed(
                f"model {DEPLOYMENT_ID!r} no longer served after its removal", "still ready"
            )
        time.sleep(0.2)

"""The agent harness of the edge-agent profile (spec/edge.md 5.10): one fake fleet server,
one agent process under test that the cases share (its state carries from case to case,
as a device's does), the release keys and trust roots, and what the cases ask of them:
deploy a release and wait for its outcome in the reported state, infer over the agent's
Open Inference Protocol endpoint, restart or kill the agent.

Every case starts from the baseline: a committed release of the deployment that answers
x * 2. A case that leaves something else behind (or an agent that lost it) gets a fresh
baseline release first, so one case's failure does not fail the next."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.edge.v1 import device_state_pb2
from lepton.inference.v1 import inference_service_pb2 as infer_pb
from lepton_conformance.harness.case import Failed, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.edge.agent_process import AgentProcess, command
from lepton_conformance.suites.edge.agent_releases import INPUT, Release, make_release
from lepton_conformance.suites.edge.fake_fleet import Event, FakeFleet
from lepton_conformance.suites.edge.release_signatures import write_trust_roots
from lepton_conformance.suites.inference import oip

DEVICE_ID = "conformance-agent"
DEPLOYMENT_ID = "conformance-cam"
DEPLOYMENT = f"deployments/{DEPLOYMENT_ID}"
TRUSTED_KEY_ID = "conformance-release-key"
BASELINE_FACTOR = 2.0
# The fleet's clock runs this far ahead of the host's, so that install windows read on the
# device clock rather than the agent's estimate of the server clock are caught (EDG-121).
CLOCK_OFFSET = dt.timedelta(hours=12)
# How long an agent may take to finish an update attempt of the harness's small releases.
UPDATE_TIMEOUT_S = 30.0
# How long an agent may take to react on its Sync stream or to upload.
PROMPT_S = 10.0
OIP = "inference.GRPCInferenceService"
Phase = device_state_pb2.UpdatePhase
TERMINAL = (Phase.UPDATE_PHASE_COMMITTED, Phase.UPDATE_PHASE_FAILED, Phase.UPDATE_PHASE_ROLLED_BACK)
CACHE_KEY = "edge-agent-rig"


def phase_name(phase: int) -> str:
    return Phase.Name(phase)


class AgentRig:
    """The fleet, the agent and the releases of one run."""

    def __init__(self, template: str, serve: str, timeout: float) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="lepton-agent-harness-"))
        self.state_dir = self.workdir / "state"
        self.timeout = timeout
        self.trusted_key = Ed25519PrivateKey.generate()
        self.untrusted_key = Ed25519PrivateKey.generate()
        self.trust_roots = self.workdir / "trust-roots.json"
        write_trust_roots(self.trust_roots, {TRUSTED_KEY_ID: self.trusted_key})
        self.bootstrap_token = "conformance-bootstrap-token"
        self.fleet = FakeFleet(DEVICE_ID, self.bootstrap_token, CLOCK_OFFSET)
        fleet_address = self.fleet.start()
        self.serve = serve
        values = {
            "fleet": fleet_address,
            "state_dir": str(self.state_dir),
            "serve": serve,
            "trust_roots": str(self.trust_roots),
            "bootstrap_token": self.bootstrap_token,
            "device_id": DEVICE_ID,
        }
        self.agent = AgentProcess(command(template, values), serve, self.workdir)
        self._names = itertools.count(1)
        self._rollouts = itertools.count(1)
        self.baseline: Release | None = None
        # How the first attempt at a baseline failed: an agent that cannot install a valid
        # release fails every later case at once instead of waiting out each one's timeout.
        self._baseline_failure: Failed | None = None
        self._channel: grpc.Channel | None = None

    def close(self) -> None:
        self.agent.stop()
        if self._channel is not None:
            self._channel.close()
        self.fleet.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- the agent --------------------------------------------------------------------

    def start(self) -> None:
        self.agent.start()
        self._reset_channel()

    def restart(self, kill: bool = True) -> None:
        self.agent.restart(kill)
        self._reset_channel()

    def _reset_channel(self) -> None:
        # A new channel per agent process: an old one may sit in reconnect backoff.
        if self._channel is not None:
            self._channel.close()
        self._channel = grpc.insecure_channel(self.serve)

    def wait_for_stream(self, since: int) -> Event:
        """The hello of the next Sync stream the agent opens after `since`."""
        return self.expect(
            lambda e: e.kind == "hello", "the agent to open a Sync stream with a hello", since
        )

    # --- waiting on the record --------------------------------------------------------

    def expect(
        self,
        until: Callable[[Event], bool],
        wanted: str,
        since: int = 0,
        timeout: float = PROMPT_S,
    ) -> Event:
        event = self.fleet.wait(until, timeout, since)
        if event is None:
            raise Failed(wanted, f"nothing of the kind within {timeout:g} s")
        return event

    def reported_states(self, since: int) -> list[device_state_pb2.ReportedState]:
        """Every complete reported state the agent sent after `since`: hellos' and
        reported_state messages, in order."""
        return [_reported(e) for e in self.fleet.since(since) if _reported(e) is not None]

    def wait_reported(
        self,
        until: Callable[[device_state_pb2.ReportedState], bool],
        wanted: str,
        since: int,
        timeout: float = UPDATE_TIMEOUT_S,
    ) -> device_state_pb2.ReportedState:
        event = self.fleet.wait(
            lambda e: _reported(e) is not None and until(_reported(e)), timeout, since
        )
        if event is None:
            states = self.reported_states(since)
            last = describe_state(states[-1]) if states else "no reported state"
            raise Failed(wanted, f"within {timeout:g} s the last reported state was {last}")
        return _reported(event)

    # --- releases ---------------------------------------------------------------------

    def release(
        self,
        factor: float,
        *,
        expected: float | None = None,
        padding: int = 0,
        key: Ed25519PrivateKey | None = None,
    ) -> Release:
        """A new release (unique name, files and digests) signed under the trusted key ID
        by `key` (default: the trusted key); the fleet serves its artifacts."""
        release = make_release(
            f"r{next(self._names)}",
            factor,
            key or self.trusted_key,
            TRUSTED_KEY_ID,
            expected=expected,
            padding=padding,
        )
        self.fleet.add_blobs(release.blobs)
        return release

    def desired(self, release: Release, **fields: object) -> device_state_pb2.DesiredDeployment:
        return device_state_pb2.DesiredDeployment(
            deployment=DEPLOYMENT,
            rollout=f"{DEPLOYMENT}/rollouts/c{next(self._rollouts)}",
            release=release.release,
            **fields,  # type: ignore[arg-type]
        )

    def deploy(
        self, release: Release, **fields: object
    ) -> tuple[int, device_state_pb2.DesiredDeployment]:
        """Make `release` the deployment's desired release; (generation, the deployment)."""
        deployment = self.desired(release, **fields)
        return self.fleet.set_desired(deployment), deployment

    def outcome(self, release: Release, since: int) -> device_state_pb2.ReportedDeployment:
        """The deployment as reported once the attempt for `release` ended."""

        def ended(state: device_state_pb2.ReportedState) -> bool:
            found = deployment_of(state)
            return (
                found is not None
                and found.last_update.artifact_digest.hex == release.model_digest
                and found.last_update.phase in TERMINAL
            )

        state = self.wait_reported(
            ended, f"the update attempt for {release.release.model_version} to end", since
        )
        return deployment_of(state)

    def install(self, release: Release, **fields: object) -> device_state_pb2.ReportedDeployment:
        """Deploy `release` and wait until the agent reports it committed and serving."""
        since = self.fleet.mark()
        self.deploy(release, **fields)
        reported = self.outcome(release, since)
        if reported.last_update.phase != Phase.UPDATE_PHASE_COMMITTED:
            raise Failed(
                f"{release.release.model_version} (trusted, verified, passing its golden "
                "vectors) committed",
                describe_attempt(reported.last_update),
            )
        return reported

    def ensure_baseline(self) -> Release:
        """The agent runs and serves a committed baseline release answering x * 2; a new
        baseline release is installed when it does not."""
        if not self.agent.running:
            self.start()
        if self.baseline is not None and self.answers(BASELINE_FACTOR):
            return self.baseline
        if self._baseline_failure is not None:
            failure = self._baseline_failure
            raise Failed(failure.wanted, f"{failure.got} (in an earlier case)")
        release = self.release(BASELINE_FACTOR)
        try:
            self.install(release)
            self.expect_answers(BASELINE_FACTOR, "the committed baseline release")
        except Failed as failure:
            self._baseline_failure = failure
            raise
        self.baseline = release
        return release

    # --- inference --------------------------------------------------------------------

    def infer(self, request_id: str = "", model: str = DEPLOYMENT_ID) -> np.ndarray:
        request = oip.request(model, [oip.Tensor("x", "FP32", INPUT)], request_id=request_id)
        method = self._channel.unary_unary(
            f"/{OIP}/ModelInfer",
            request_serializer=infer_pb.ModelInferRequest.SerializeToString,
            response_deserializer=infer_pb.ModelInferResponse.FromString,
        )
        response = method(request, timeout=self.timeout, wait_for_ready=True)
        return oip.decode_outputs(response)["y"].array

    @contextlib.contextmanager
    def inferring(self) -> Iterator[tuple[list[np.ndarray], list[str]]]:
        """Infer without pause from a thread while the block runs: (the answers, the
        failures as "CODE: details")."""
        answers: list[np.ndarray] = []
        failures: list[str] = []
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    answers.append(self.infer())
                except grpc.RpcError as error:
                    failures.append(f"{error.code().name}: {error.details()}")
                stop.wait(0.005)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield answers, failures
        finally:
            stop.set()
            thread.join()

    def answers(self, factor: float) -> bool:
        try:
            return bool(np.allclose(self.infer(), INPUT * factor))
        except (grpc.RpcError, Failed, KeyError):
            return False

    def expect_answers(self, factor: float, what: str) -> None:
        """The deployment's model, over OIP as model `DEPLOYMENT_ID`, answers x * factor."""
        try:
            got = self.infer()
        except grpc.RpcError as error:
            raise Failed(
                f"{what} to answer ModelInfer of model {DEPLOYMENT_ID!r} at {self.serve}",
                f"{error.code().name}: {error.details()}",
            ) from error
        if not np.allclose(got, INPUT * factor):
            raise Failed(f"{what} to answer y = x * {factor:g}", f"y = {got.tolist()}")

    def model_ready(self) -> bool:
        method = self._channel.unary_unary(
            f"/{OIP}/ModelReady",
            request_serializer=infer_pb.ModelReadyRequest.SerializeToString,
            response_deserializer=infer_pb.ModelReadyResponse.FromString,
        )
        try:
            return method(
                infer_pb.ModelReadyRequest(name=DEPLOYMENT_ID), timeout=self.timeout
            ).ready
        except grpc.RpcError:
            return False


def _reported(event: Event) -> device_state_pb2.ReportedState | None:
    if event.kind == "hello":
        return event.message.reported_state
    if event.kind == "reported_state":
        return event.message
    return None


def deployment_of(
    state: device_state_pb2.ReportedState, name: str = DEPLOYMENT
) -> device_state_pb2.ReportedDeployment | None:
    return next((d for d in state.deployments if d.deployment == name), None)


def describe_attempt(attempt: device_state_pb2.UpdateAttempt) -> str:
    error = f" {attempt.error.reason} (code {attempt.error.code})" if attempt.error.reason else ""
    return f"{phase_name(attempt.phase)}{error}"


def describe_state(state: device_state_pb2.ReportedState) -> str:
    parts = [f"applied_generation {state.applied_generation}"]
    for deployment in state.deployments:
        running = deployment.running.model_version or "nothing"
        parts.append(
            f"{deployment.deployment}: running {running}, last update "
            f"{deployment.last_update.model_version} {describe_attempt(deployment.last_update)}"
        )
    return "; ".join(parts)


def rig(ctx: CaseContext) -> AgentRig:
    """The run's agent rig, started by the first case that asks for it."""
    found = ctx.cache.get(CACHE_KEY)
    if found is None:
        template = ctx.options.agent_command
        if template is None:
            raise Skipped("the edge-agent profile needs the agent's command", "--agent-command")
        found = AgentRig(template, ctx.options.address, ctx.timeout)
        ctx.closing.callback(found.close)
        ctx.cache[CACHE_KEY] = found
        found.start()
    return found

"""Mutants of the device agent (spec/edge.md 5.10): `lepton agent` with one MUST broken, run
by the edge-agent profile's harness (`serve.py MUTANT agent ...`). The agent's modules are
imported when a mutation is applied: they load onnxruntime, which other mutants never need."""

from __future__ import annotations

import asyncio
import os

from mutants.mutation import Mutant

P = "edge-agent."


def _trust_every_release() -> None:
    from lepton_server.agent import installs  # noqa: PLC0415

    installs.check_trusted = lambda _release, _roots: "any key"


def _skip_golden_vectors() -> None:
    from lepton_server.agent import health_checks  # noqa: PLC0415

    health_checks.check_vectors = lambda _model, _vectors: None


def _roll_back_to_nothing() -> None:
    """A failed health check restores no release: the deployment stops serving."""
    from lepton_server.agent.installs import Installer  # noqa: PLC0415

    original = Installer._roll_back

    def mutated(self, desired, directory, previous, served):
        return original(self, desired, directory, None, served)

    Installer._roll_back = mutated


def _delete_records_on_read() -> None:
    """The outbox forgets records as soon as an upload reads them, whatever the answer."""
    from lepton_server.agent.outbox import Outbox  # noqa: PLC0415

    original = Outbox.pending_segments

    def mutated(self, max_records, max_bytes):
        segments = original(self, max_records, max_bytes)
        for segment in segments:
            top = max(record.sequence for record in segment.records)
            self.acknowledge(segment.stream, segment.boot_id, top)
        return segments

    Outbox.pending_segments = mutated


def _download_from_zero() -> None:
    """Every ReadArtifact starts at offset 0 and replaces what was stored."""
    from grpc import aio  # noqa: PLC0415

    from lepton.edge.v1 import device_agent_service_pb2 as agent_pb  # noqa: PLC0415
    from lepton_server.agent.downloads import Downloads  # noqa: PLC0415

    async def mutated(self, descriptor, partial, on_progress):
        while True:
            request = agent_pb.ReadArtifactRequest(
                digest=descriptor.digest, length_bytes=descriptor.size_bytes
            )
            try:
                with partial.open("wb") as out:
                    async for response in self.stub.ReadArtifact(
                        request, metadata=tuple(self.metadata())
                    ):
                        if response.HasField("chunk"):
                            out.write(response.chunk.data)
                    out.flush()
                    os.fsync(out.fileno())
                return
            except aio.AioRpcError:
                await asyncio.sleep(0.2)

    Downloads._download = mutated


def _acknowledge_without_persisting() -> None:
    """Desired states are held in memory only: acknowledged, but lost at a restart."""
    from lepton_server.agent.agent_state import AgentState  # noqa: PLC0415

    def hold(self, desired):
        if desired.generation <= self.held_generation:
            return False
        self._unpersisted = desired
        return True

    AgentState.hold_desired_state = hold
    AgentState.desired_state = lambda self: getattr(self, "_unpersisted", None)


def _accept_older_generations() -> None:
    """Any generation but the one held is persisted, acknowledged and applied."""
    from lepton_server.agent.agent_state import AgentState  # noqa: PLC0415

    def hold(self, desired):
        if desired.generation == self.held_generation:
            return False
        self._set("desired_state", desired.SerializeToString())
        return True

    AgentState.hold_desired_state = hold


def _events_without_deployment() -> None:
    """Inference events lose the deployment and rollout they belong to."""
    from lepton_server.agent.local_inference import LocalInference  # noqa: PLC0415

    original = LocalInference.__init__

    def mutated(self, address, state_dir, append_event):
        def append(stream, record):
            record.ClearField("deployment")
            record.ClearField("rollout")
            return append_event(stream, record)

        original(self, address, state_dir, append)

    LocalInference.__init__ = mutated


def _device_clock_for_windows() -> None:
    """The agent never corrects its clock by the skew to the server's."""
    from lepton_server.agent.fleet_link import FleetLink  # noqa: PLC0415

    FleetLink._measure_skew = lambda self, server_time: None


def _no_second_download() -> None:
    """A download whose bytes do not match fails at once, without fetching it again."""
    from lepton_server.agent.downloads import DigestMismatch, Downloads  # noqa: PLC0415

    original = Downloads._download

    async def mutated(self, descriptor, partial, on_progress):
        tried = self.__dict__.setdefault("_tried", set())
        if descriptor.digest.hex in tried:
            raise DigestMismatch("the first download did not match")
        tried.add(descriptor.digest.hex)
        return await original(self, descriptor, partial, on_progress)

    Downloads._download = mutated


def _keep_absent_deployments() -> None:
    from lepton_server.agent.installs import Installer  # noqa: PLC0415

    Installer._remove = lambda self, deployment: None


def _ignore_unauthenticated() -> None:
    """A refused access token is kept: the agent never registers again while it runs."""
    from lepton_server.agent.fleet_link import FleetLink  # noqa: PLC0415

    FleetLink.credentials_rejected = lambda self: None


def _agent(breaks: str, apply, *cases: str) -> Mutant:
    return Mutant(breaks, apply, frozenset(P + case for case in cases), agent=True)


MUTANTS: dict[str, Mutant] = {
    "agent-trusts-every-release": _agent(
        "EDG-105: releases are installed without checking their signature against the trust roots",
        _trust_every_release,
        "updates.untrusted-signer",
        "updates.altered-release",
    ),
    "agent-skips-golden-vectors": _agent(
        "EDG-109: the health check only loads the model",
        _skip_golden_vectors,
        "updates.golden-vector-mismatch-rolls-back",
    ),
    "agent-rolls-back-to-nothing": _agent(
        "EDG-095: a failed health check does not restore the previous release",
        _roll_back_to_nothing,
        "updates.golden-vector-mismatch-rolls-back",
    ),
    "agent-outbox-deletes-on-read": _agent(
        "EDG-099: records leave the outbox when an upload reads them, not when acknowledged",
        _delete_records_on_read,
        "telemetry.outbox-survives-sigkill",
    ),
    "agent-fails-on-first-mismatch": _agent(
        "EDG-093: a download that does not match its digest is not fetched again from 0",
        _no_second_download,
        "downloads.digest-mismatch",
    ),
    "agent-keeps-absent-deployments": _agent(
        "EDG-096: a deployment absent from the desired state stays installed and served",
        _keep_absent_deployments,
        "updates.absent-deployment-removed",
    ),
    "agent-ignores-unauthenticated": _agent(
        "EDG-088: after UNAUTHENTICATED the agent keeps its token and never registers again",
        _ignore_unauthenticated,
        "registration.after-unauthenticated",
        "registration.pending-retry-after",
        "registration.decommissioned-stops",
    ),
    "agent-downloads-from-zero": _agent(
        "EDG-094: a cut download starts again at offset 0",
        _download_from_zero,
        "downloads.resume-after-cut",
    ),
    "agent-acknowledges-without-persisting": _agent(
        "EDG-092: desired states are acknowledged but held in memory only",
        _acknowledge_without_persisting,
        "desired.persisted-before-ack",
    ),
    "agent-accepts-older-generations": _agent(
        "EDG-092: a desired state of an older generation is acknowledged and applied",
        _accept_older_generations,
        "desired.older-generation-ignored",
    ),
    "agent-events-without-deployment": _agent(
        "EDG-119: inference events carry no deployment or rollout",
        _events_without_deployment,
        "telemetry.inference-events-attributed",
    ),
    "agent-windows-on-device-clock": _agent(
        "EDG-121: install windows are read on the device clock, not the server's",
        _device_clock_for_windows,
        "updates.install-window",
    ),
}

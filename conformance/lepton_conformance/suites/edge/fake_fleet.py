"""The agent harness's fleet server: a DeviceAgentService on 127.0.0.1 that plays the fleet
for one device agent under test and records everything the agent does (spec/edge.md 1.2).

It issues registration challenges and verifies each Register proof with the key the request
carries (section 2.1), hands out access tokens and can revoke them, runs the Sync stream
(welcome and the current desired state first, then whatever a case pushes) and records the
hello, heartbeats, reported states and acknowledgements it reads, serves artifacts from
memory (ReadArtifact can be cut after some bytes or serve wrong bytes), and stores uploaded
telemetry per (stream, boot id) with an acknowledged high-water mark (section 2.8). It can
play unreachable: every call then fails UNAVAILABLE. Cases wait on its record with `wait`."""

from __future__ import annotations

import datetime as dt
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import device_pb2, device_state_pb2, telemetry_pb2
from lepton.type.v1 import artifact_pb2
from lepton_conformance.suites.edge.agent_releases import descriptor
from lepton_conformance.suites.edge.edge_client import registration_proof

REPORT_INTERVAL_S = 1
CHUNK_BYTES = 64 * 1024
TOKEN_LIFETIME = dt.timedelta(hours=1)
STATUS_DETAILS = "grpc-status-details-bin"


@dataclass(frozen=True)
class Event:
    """One thing the agent did: `kind` is the RPC (or, on Sync, "hello", "heartbeat",
    "reported_state", "desired_state_ack", "command_update", "sync_end"; "refused" for a
    call refused before it was read, naming the `method` in `info`), `message` what it
    sent, `stream` the number of the Sync stream it belongs to, `info` what the fleet made
    of it."""

    kind: str
    message: Any
    time: float
    stream: int = 0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class ArtifactFault:
    """How ReadArtifact serves one digest: `cut_after` ends the next stream with
    UNAVAILABLE once that many bytes went out (then it is cleared); `corrupt` serves bytes
    that differ from the digest, of the right length."""

    cut_after: int | None = None
    corrupt: bool = False


class _End:
    """Ends a Sync stream with `code` (and ErrorInfo `reason`)."""

    def __init__(self, code: grpc.StatusCode, reason: str) -> None:
        self.code = code
        self.reason = reason


class FakeFleet(agent_grpc.DeviceAgentServiceServicer):
    """The fleet side of one agent. Thread safe: gRPC calls run on a thread pool."""

    def __init__(self, device_id: str, bootstrap_token: str, clock_offset: dt.timedelta) -> None:
        self.device_id = device_id
        self.bootstrap_token = bootstrap_token
        self.clock_offset = clock_offset
        self.events: list[Event] = []
        self._changed = threading.Condition()
        self._challenges: dict[bytes, str] = {}
        self._tokens: set[str] = set()
        self.blobs: dict[str, bytes] = {}
        self.faults: dict[str, ArtifactFault] = {}
        self.desired = device_state_pb2.DesiredState(generation=1)
        self.reachable = True
        # Answers for the next Register calls, in order: PENDING (with retry_after), or
        # PERMISSION_DENIED with the reason DEVICE_REJECTED or DEVICE_DECOMMISSIONED.
        self.register_answers: list[str] = []
        self.pending_retry_after = dt.timedelta(seconds=2)
        self.uploads_fail = False
        # (stream, boot id) -> acknowledged high-water mark; (stream, boot id, sequence) ->
        # the stored record.
        self.marks: dict[tuple[str, str], int] = {}
        self.stored: dict[tuple[str, str, int], telemetry_pb2.TelemetryRecord] = {}
        self._streams: dict[int, queue.Queue] = {}
        self._stream_count = 0
        self._server: grpc.Server | None = None
        self.address = ""

    # --- life -------------------------------------------------------------------------

    def start(self) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        agent_grpc.add_DeviceAgentServiceServicer_to_server(self, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        self.address = f"127.0.0.1:{port}"
        return self.address

    def stop(self) -> None:
        self.end_streams(grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE")
        if self._server is not None:
            self._server.stop(None)

    def now(self) -> dt.datetime:
        """The fleet's clock: the host's shifted by `clock_offset`, so an agent that reads
        install windows on its own clock instead of its estimate of the server's is seen."""
        return dt.datetime.now(dt.timezone.utc) + self.clock_offset

    def _timestamp(self, when: dt.datetime | None = None) -> timestamp_pb2.Timestamp:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(when or self.now())
        return stamp

    # --- the record -------------------------------------------------------------------

    def _record(self, kind: str, message: Any, stream: int = 0, **info: Any) -> Event:
        event = Event(kind, message, time.monotonic(), stream, info)
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()
        return event

    def mark(self) -> int:
        """A position in the record: `wait` and `since` look only after it."""
        with self._changed:
            return len(self.events)

    def since(self, mark: int, kind: str | None = None) -> list[Event]:
        with self._changed:
            return [e for e in self.events[mark:] if kind is None or e.kind == kind]

    def wait(self, until: Callable[[Event], bool], timeout: float, since: int = 0) -> Event | None:
        """The first event after `since` for which `until` holds, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            position = since
            while True:
                for event in self.events[position:]:
                    if until(event):
                        return event
                position = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    # --- what a case changes ----------------------------------------------------------

    def add_blobs(self, blobs: dict[str, bytes]) -> None:
        self.blobs.update(blobs)

    def set_desired(self, *deployments: device_state_pb2.DesiredDeployment) -> int:
        """A new desired generation holding `deployments`, pushed to the open stream; its
        generation."""
        desired = device_state_pb2.DesiredState(
            generation=self.desired.generation + 1,
            deployments=sorted(deployments, key=lambda d: d.deployment),
            update_time=self._timestamp(),
        )
        self.desired = desired
        self.push(agent_pb.SyncResponse(desired_state=desired))
        return desired.generation

    def push(self, response: agent_pb.SyncResponse | _End) -> None:
        """Send `response` on every open Sync stream."""
        with self._changed:
            streams = list(self._streams.values())
        for outgoing in streams:
            outgoing.put(response)

    def end_streams(self, code: grpc.StatusCode, reason: str) -> None:
        self.push(_End(code, reason))

    def revoke_tokens(self) -> None:
        """Every access token stops being valid; the open stream ends UNAUTHENTICATED."""
        with self._changed:
            self._tokens.clear()
        self.end_streams(grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS")

    def set_reachable(self, reachable: bool) -> None:
        self.reachable = reachable
        if not reachable:
            self.end_streams(grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE")

    # --- checks every call goes through -----------------------------------------------

    def _abort(
        self, context: grpc.ServicerContext, code: grpc.StatusCode, reason: str, message: str
    ) -> None:
        info = error_details_pb2.ErrorInfo(reason=reason, domain="lepton.ai")
        status = status_pb2.Status(code=code.value[0], message=message)
        status.details.add().Pack(info)
        context.set_trailing_metadata(((STATUS_DETAILS, status.SerializeToString()),))
        context.abort(code, message)

    def _reachable(self, context: grpc.ServicerContext, method: str) -> None:
        if not self.reachable:
            self._record("refused", None, method=method, code="UNAVAILABLE")
            self._abort(
                context, grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE", "fleet unreachable"
            )

    def _authenticated(self, context: grpc.ServicerContext, method: str) -> None:
        self._reachable(context, method)
        metadata = dict(context.invocation_metadata())
        token = str(metadata.get("authorization", "")).removeprefix("Bearer ")
        with self._changed:
            valid = token in self._tokens
        if not valid:
            self._record("refused", None, method=method, code="UNAUTHENTICATED")
            self._abort(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                "INVALID_CREDENTIALS",
                "the access token is unknown or revoked",
            )

    # --- registration -----------------------------------------------------------------

    def CreateRegistrationChallenge(self, request, context):
        self._reachable(context, "CreateRegistrationChallenge")
        challenge = secrets.token_bytes(32)
        with self._changed:
            self._challenges[challenge] = request.device_id
        self._record("CreateRegistrationChallenge", request, challenge=challenge)
        return agent_pb.CreateRegistrationChallengeResponse(
            challenge=challenge, expire_time=self._timestamp(self.now() + dt.timedelta(minutes=5))
        )

    def Register(self, request, context):
        self._reachable(context, "Register")
        problem = self._proof_problem(request)
        self._record("Register", request, problem=problem)
        if problem:
            reason = (
                "DEVICE_KEY_SIGNATURE_INVALID"
                if problem.startswith("signature")
                else "REGISTRATION_CHALLENGE_INVALID"
            )
            self._abort(context, grpc.StatusCode.UNAUTHENTICATED, reason, problem)
        if request.device_id not in ("", self.device_id):
            self._abort(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                "BOOTSTRAP_TOKEN_INVALID",
                "unknown device",
            )
        with self._changed:
            answer = self.register_answers.pop(0) if self.register_answers else "APPROVED"
        now = self.now()
        if answer == "PENDING":
            retry_after = duration_pb2.Duration()
            retry_after.FromTimedelta(self.pending_retry_after)
            return agent_pb.RegisterResponse(
                device=f"devices/{self.device_id}",
                approval_state=device_pb2.DEVICE_APPROVAL_STATE_PENDING,
                retry_after=retry_after,
                server_time=self._timestamp(now),
            )
        if answer != "APPROVED":
            self._abort(
                context, grpc.StatusCode.PERMISSION_DENIED, answer, "refused by the harness"
            )
        token = secrets.token_urlsafe(16)
        with self._changed:
            self._tokens.add(token)
        return agent_pb.RegisterResponse(
            device=f"devices/{self.device_id}",
            approval_state=device_pb2.DEVICE_APPROVAL_STATE_APPROVED,
            access_token=token,
            access_token_expire_time=self._timestamp(now + TOKEN_LIFETIME),
            settings=self.settings(),
            server_time=self._timestamp(now),
        )

    def _proof_problem(self, request: agent_pb.RegisterRequest) -> str:
        """What is wrong with the registration proof (section 2.1), or ""."""
        with self._changed:
            issued_for = self._challenges.pop(request.challenge, None)
        if issued_for is None:
            return "challenge not issued, or used before"
        if issued_for != request.device_id:
            return f"challenge issued for {issued_for!r}, used for {request.device_id!r}"
        if len(request.device_public_key) != 32:
            return f"device_public_key of {len(request.device_public_key)} bytes, not 32"
        proof = registration_proof(request.challenge, request.device_id, request.boot_id)
        try:
            Ed25519PublicKey.from_public_bytes(request.device_public_key).verify(
                request.challenge_signature, proof
            )
        except (InvalidSignature, ValueError):
            return "signature does not verify over the registration proof"
        return ""

    def settings(self) -> agent_pb.AgentSettings:
        return agent_pb.AgentSettings(
            report_interval=duration_pb2.Duration(seconds=REPORT_INTERVAL_S),
            max_telemetry_batch_record_count=1000,
            max_telemetry_batch_bytes=4 * 1024 * 1024,
        )

    # --- Sync -------------------------------------------------------------------------

    def Sync(self, request_iterator, context):
        self._authenticated(context, "Sync")
        with self._changed:
            self._stream_count += 1
            number = self._stream_count
            outgoing: queue.Queue = queue.Queue()
            self._streams[number] = outgoing
        try:
            first = next(request_iterator, None)
            kind = first.WhichOneof("message") if first is not None else None
            self._record(kind or "empty", _field(first, kind), number, first=True)
            if kind != "hello":
                self._abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "SYNC_PROTOCOL_VIOLATION",
                    "the first Sync message must be a hello",
                )
            threading.Thread(
                target=self._read, args=(request_iterator, number), daemon=True
            ).start()
            yield agent_pb.SyncResponse(
                welcome=agent_pb.SyncWelcome(
                    device=f"devices/{self.device_id}",
                    settings=self.settings(),
                    server_time=self._timestamp(),
                )
            )
            yield agent_pb.SyncResponse(desired_state=self.desired)
            yield from self._outgoing(outgoing, context)
        finally:
            with self._changed:
                self._streams.pop(number, None)

    def _outgoing(
        self, outgoing: queue.Queue, context: grpc.ServicerContext
    ) -> Iterator[agent_pb.SyncResponse]:
        while context.is_active():
            try:
                item = outgoing.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(item, _End):
                self._abort(context, item.code, item.reason, "ended by the agent harness")
            yield item

    def _read(self, requests: Iterator[agent_pb.SyncRequest], number: int) -> None:
        try:
            for request in requests:
                kind = request.WhichOneof("message") or "empty"
                self._record(kind, _field(request, kind), number)
        except grpc.RpcError:
            pass
        self._record("sync_end", None, number)

    # --- artifacts --------------------------------------------------------------------

    def StatArtifact(self, request, context):
        self._authenticated(context, "StatArtifact")
        self._record("StatArtifact", request)
        data = self.blobs.get(request.digest.hex)
        if data is None:
            self._abort(context, grpc.StatusCode.NOT_FOUND, "ARTIFACT_NOT_FOUND", "no artifact")
        return agent_pb.StatArtifactResponse(artifact=descriptor(data))

    def ReadArtifact(self, request, context):
        self._authenticated(context, "ReadArtifact")
        digest = request.digest.hex
        data = self.blobs.get(digest)
        fault = self.faults.get(digest, ArtifactFault())
        cut, fault.cut_after = fault.cut_after, None
        sent = 0
        try:
            if data is None:
                self._abort(context, grpc.StatusCode.NOT_FOUND, "ARTIFACT_NOT_FOUND", "no artifact")
            if not 0 <= request.offset <= len(data):
                self._abort(
                    context, grpc.StatusCode.OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE", "bad offset"
                )
            yield agent_pb.ReadArtifactResponse(artifact=descriptor(data))
            content = bytes(b ^ 0xFF for b in data) if fault.corrupt else data
            end = len(data)
            if request.length_bytes:
                end = min(end, request.offset + request.length_bytes)
            size = min(request.chunk_size_bytes or CHUNK_BYTES, CHUNK_BYTES)
            offset = request.offset
            while offset < end:
                if cut is not None and sent >= cut:
                    self._abort(context, grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE", "cut")
                piece = content[offset : min(end, offset + size)]
                yield agent_pb.ReadArtifactResponse(
                    chunk=artifact_pb2.ArtifactChunk(offset=offset, data=piece)
                )
                offset += len(piece)
                sent += len(piece)
        finally:
            self._record("ReadArtifact", request, sent=sent, cut=cut is not None)

    # --- telemetry --------------------------------------------------------------------

    def UploadTelemetry(self, request, context):
        self._authenticated(context, "UploadTelemetry")
        if self.uploads_fail:
            self._record("UploadTelemetry", request, failed=True)
            self._abort(context, grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE", "try later")
        response = agent_pb.UploadTelemetryResponse()
        acks = {}
        with self._changed:
            for segment in request.segments:
                pair = (segment.stream, segment.boot_id)
                accepted = duplicates = 0
                for record in segment.records:
                    key = (*pair, record.sequence)
                    if record.sequence <= self.marks.get(pair, 0) or key in self.stored:
                        duplicates += 1
                        continue
                    self.stored[key] = record
                    accepted += 1
                # Gaps are records the agent dropped (EDG-100): the mark is the highest stored.
                mark = max([self.marks.get(pair, 0), *(r.sequence for r in segment.records)])
                self.marks[pair] = acks[pair] = mark
                response.acknowledgements.add(
                    stream=segment.stream,
                    boot_id=segment.boot_id,
                    acknowledged_sequence=mark,
                    accepted_record_count=accepted,
                    duplicate_record_count=duplicates,
                )
        self._record("UploadTelemetry", request, failed=False, acks=acks)
        return response


def _field(request: Message | None, kind: str | None) -> Any:
    return getattr(request, kind) if request is not None and kind else None

"""A Sync stream driven as a device's agent would drive it (spec/edge.md section 2.3): the
suite sends messages when it likes, a reader thread collects the server's messages and the
status the stream ends with, and a case takes them one at a time with a short deadline."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_state_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.suites.edge.edge_client import (
    AGENT_SERVICE,
    PROMPT_S,
    AgentClient,
    bearer,
    method,
)

_END = object()
# A Sync stream lives as long as its case: long enough for the slowest "promptly".
STREAM_S = 120.0


def hello(
    boot_id: str = "boot-1", acknowledged_generation: int = 0, **reported: Any
) -> agent_pb.SyncRequest:
    """A hello with a complete reported state (`reported` are its fields)."""
    state = device_state_pb2.ReportedState(**reported)
    return agent_pb.SyncRequest(
        hello=agent_pb.SyncHello(
            boot_id=boot_id,
            agent_version="lepton-conformance/1",
            acknowledged_generation=acknowledged_generation,
            reported_state=state,
        )
    )


class SyncStream:
    """One Sync stream of a device. Use it in a `with` block; it is cancelled at the end."""

    def __init__(self, agent: AgentClient, token: str | None, first: Any = None) -> None:
        self._requests: queue.Queue[Any] = queue.Queue()
        self._responses: queue.Queue[Any] = queue.Queue()
        self.ended: grpc.RpcError | None = None
        self.ended_ok = False
        call = method(agent.ctx.channel, agent_pb, AGENT_SERVICE, "Sync")
        self._call = call(
            self._outgoing(),
            metadata=bearer(token) if token is not None else (),
            timeout=STREAM_S,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if first is not None:
            self.send(first)

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _outgoing(self) -> Iterator[agent_pb.SyncRequest]:
        while True:
            message = self._requests.get()
            if message is _END:
                return
            yield message

    def _read(self) -> None:
        try:
            for response in self._call:
                self._responses.put(response)
            self.ended_ok = True
        except grpc.RpcError as error:
            self.ended = error
        self._responses.put(_END)

    def send(self, message: agent_pb.SyncRequest | None = None, **fields: Any) -> None:
        """Send `message`, or a SyncRequest built from `fields` (e.g. heartbeat=...)."""
        self._requests.put(message if message is not None else agent_pb.SyncRequest(**fields))

    def close(self) -> None:
        self._requests.put(_END)
        self._call.cancel()

    def receive(self, timeout: float = PROMPT_S) -> agent_pb.SyncResponse:
        """The next message from the server; Failed when none comes in time or the stream
        ended."""
        try:
            message = self._responses.get(timeout=timeout)
        except queue.Empty:
            raise Failed(f"a Sync message within {timeout:g} s", "nothing") from None
        if message is _END:
            self._responses.put(_END)
            raise Failed("a Sync message", f"the stream ended: {self._end_text()}")
        return message

    def expect(self, kind: str, timeout: float = PROMPT_S) -> Any:
        """The next message, which must be of `kind` (welcome, desired_state, command,
        settings); its content."""
        message = self.receive(timeout)
        got = message.WhichOneof("message")
        expect.equal(got, kind, "the kind of the next Sync message")
        return getattr(message, kind)

    def next_of(self, kind: str, timeout: float = PROMPT_S) -> Any:
        """The next message of `kind`, skipping others (e.g. commands); its content."""
        while True:
            message = self.receive(timeout)
            if message.WhichOneof("message") == kind:
                return getattr(message, kind)

    def opened(self) -> tuple[agent_pb.SyncWelcome, Any]:
        """The welcome and the desired state a valid hello is answered with (EDG-030)."""
        return self.expect("welcome"), self.expect("desired_state")

    def ending(self, timeout: float = PROMPT_S) -> grpc.RpcError:
        """The error the stream ends with, skipping any messages before it; Failed when it
        stays open or ends OK."""
        self._reader.join(timeout)
        if self._reader.is_alive():
            raise Failed(f"the Sync stream to end within {timeout:g} s", "it stayed open")
        if self.ended is None:
            raise Failed("the Sync stream to end with an error", "it ended OK")
        return self.ended

    def ends_with(self, code: grpc.StatusCode, reason: str, timeout: float = PROMPT_S) -> None:
        """The stream ends with `code` [`reason`] (checked as expect.fails_with does)."""
        error = self.ending(timeout)

        def again() -> None:
            raise error

        expect.fails_with(again, code, reason)

    def still_open(self) -> bool:
        return self._reader.is_alive()

    def _end_text(self) -> str:
        return expect.describe(self.ended) if self.ended is not None else "OK"

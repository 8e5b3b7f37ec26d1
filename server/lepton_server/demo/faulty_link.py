"""A fault-injecting TCP link between an edge agent and its fleet server, for the demo's
offline scene and the tests of spec/edge.md's offline and resume behaviour: the agent dials
the link's loopback address and the link forwards to the fleet, counting the bytes each way.
The link can be taken down (open connections are cut and new ones are closed at once),
brought up again, and cut once a number of further bytes has flowed towards the device
(mid-download). It runs its own event loop on a thread, so blocking code can drive it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CHUNK = 64 * 1024


class FaultyLink:
    """The proxy; use `faulty_link(fleet_address)`."""

    def __init__(self, fleet: str) -> None:
        self.fleet_host, _, port = fleet.rpartition(":")
        self.fleet_port = int(port)
        self.address = ""
        self.to_device = 0  # bytes forwarded fleet -> agent
        self.to_fleet = 0  # bytes forwarded agent -> fleet
        self.cuts = 0  # connections cut by the link
        self._up = True
        self._cut_at: int | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    # ------------------------------------------------------------------ what tests call

    def down(self) -> None:
        """Cut every open connection and refuse new ones until `up`."""
        self._call(self._down)

    def up(self) -> None:
        self._call(self._set_up)

    def cut_after(self, to_device_bytes: int) -> None:
        """Cut every open connection once `to_device_bytes` more bytes have been forwarded
        towards the device (once; the link stays up)."""
        self._call(lambda: setattr(self, "_cut_at", self.to_device + to_device_bytes))

    # ------------------------------------------------------------------------ the proxy

    def _call(self, action) -> None:
        done = threading.Event()

        def run() -> None:
            action()
            done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def _down(self) -> None:
        self._up = False
        self._cut_all()

    def _set_up(self) -> None:
        self._up = True

    def _cut_all(self) -> None:
        for writer in list(self._writers):
            self.cuts += 1
            writer.transport.abort()
        self._writers.clear()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._server = server
        self._ready.set()
        self._loop.run_forever()

    async def _accept(self, agent_reader, agent_writer) -> None:
        if not self._up:
            agent_writer.transport.abort()
            return
        try:
            fleet_reader, fleet_writer = await asyncio.open_connection(
                self.fleet_host, self.fleet_port
            )
        except OSError:
            agent_writer.transport.abort()
            return
        self._writers.update((agent_writer, fleet_writer))
        await asyncio.gather(
            self._pipe(agent_reader, fleet_writer, towards_device=False),
            self._pipe(fleet_reader, agent_writer, towards_device=True),
            return_exceptions=True,
        )
        for writer in (agent_writer, fleet_writer):
            self._writers.discard(writer)
            writer.transport.abort()

    async def _pipe(self, reader, writer, *, towards_device: bool) -> None:
        while data := await reader.read(CHUNK):
            if towards_device:
                if self._cut_at is not None and self.to_device + len(data) >= self._cut_at:
                    self._cut_at = None
                    self._cut_all()
                    return
                self.to_device += len(data)
            else:
                self.to_fleet += len(data)
            writer.write(data)
            await writer.drain()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def close(self) -> None:
        async def stop() -> None:
            self._cut_all()
            self._server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            self._loop.stop()

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(stop(), self._loop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()


@contextmanager
def faulty_link(fleet: str) -> Iterator[FaultyLink]:
    """A FaultyLink to `fleet` ("host:port" on loopback), running until the block ends."""
    link = FaultyLink(fleet)
    link.start()
    try:
        yield link
    finally:
        link.close()

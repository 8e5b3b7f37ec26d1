"""The registry's event log (spec/registry.md "Events", REG-039 to REG-042, GEN-083): events
are stored in the transaction of the change they report, numbered by SQLite from 1 without
gaps; `watch` replays the retained events from a sequence and then follows live ones by
reading the same log, so replay and live delivery can neither skip nor repeat an event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from lepton.registry.v1 import model_event_pb2 as ev
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.registry import model_names
from lepton_server.registry.registry_store import RegistryStore
from lepton_server.runtime.errors import Unimplemented, invalid_field

_BATCH = 100


@dataclass(frozen=True)
class Retention:
    """Events are kept while they are among the last `count` or younger than `seconds`
    (REG-042: at least 10,000 events or 24 hours, whichever is more)."""

    count: int = 10_000
    seconds: float = 24 * 3600


class EventLog:
    """Appends events with the changes they report and wakes the watchers after commits."""

    def __init__(
        self,
        store: RegistryStore,
        retention: Retention,
        *,
        enabled: bool = True,
        keepalive_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.retention = retention
        self.enabled = enabled
        self.keepalive_seconds = keepalive_seconds
        self._wakeups: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @contextmanager
    def committing(self) -> Iterator[None]:
        """A store transaction; watchers wake after it commits."""
        with self.store.transaction():
            yield
        self._wake()

    def record(
        self,
        event_type: int,
        model: str,
        model_version: str = "",
        alias: str = "",
        previous_model_version: str = "",
    ) -> None:
        """Append one event; call inside `committing`."""
        now = now_ns()
        event = ev.ModelEvent(
            type=event_type,
            time=timestamp(now),
            model=model,
            model_version=model_version,
            alias=alias,
            previous_model_version=previous_model_version,
        )
        self.store.append_event(event.SerializeToString(), model, event_type, now)
        self.store.prune_events(
            self.retention.count, now - int(self.retention.seconds * 1_000_000_000)
        )

    def _wake(self) -> None:
        for loop, wakeup in list(self._wakeups):
            loop.call_soon_threadsafe(wakeup.set)

    async def watch(
        self, request: pb.WatchModelEventsRequest
    ) -> AsyncIterator[pb.WatchModelEventsResponse]:
        """The responses of one WatchModelEvents stream (REG-040, REG-041); never ends."""
        models, types = self._check(request)
        wakeup = asyncio.Event()
        waiter = (asyncio.get_running_loop(), wakeup)
        self._wakeups.add(waiter)
        try:
            following, truncated = self._start(request)
            # The first message goes out at once: it tells the client the stream is open.
            first = True
            loop = asyncio.get_running_loop()
            last_sent = loop.time()
            while True:
                wakeup.clear()
                rows = self.store.events_from(following, _BATCH)
                events = []
                for sequence, message in rows:
                    following = sequence + 1
                    event = ev.ModelEvent.FromString(message)
                    event.sequence = sequence
                    if (not models or event.model in models) and (not types or event.type in types):
                        events.append(event)
                if events or first:
                    yield pb.WatchModelEventsResponse(events=events, start_truncated=truncated)
                    first, truncated = False, False
                    last_sent = loop.time()
                if len(rows) == _BATCH:
                    continue
                # Events filtered out do not count: the keep-alive is due after this long
                # without a message (REG-042).
                quiet = max(0.0, last_sent + self.keepalive_seconds - loop.time())
                try:
                    await asyncio.wait_for(wakeup.wait(), quiet)
                except TimeoutError:
                    yield pb.WatchModelEventsResponse()
                    last_sent = loop.time()
        finally:
            self._wakeups.discard(waiter)

    def _check(self, request: pb.WatchModelEventsRequest) -> tuple[set[str], set[int]]:
        """The models and types a valid request restricts the stream to."""
        if not self.enabled:
            raise Unimplemented(
                reason="FEATURE_NOT_SUPPORTED",
                message="this server does not implement the optional feature 'registry.watch'",
                metadata={"feature": "registry.watch"},
            )
        models = {
            model_names.model_name(model_names.parse_model(name, f"models[{i}]"))
            for i, name in enumerate(request.models)
        }
        for i, event_type in enumerate(request.types):
            if event_type == ev.MODEL_EVENT_TYPE_UNSPECIFIED:
                raise invalid_field(f"types[{i}]", "MODEL_EVENT_TYPE_UNSPECIFIED is not a type")
        if request.start_sequence < 0:
            raise invalid_field("start_sequence", "must not be negative")
        if request.from_now and request.start_sequence:
            raise invalid_field("start_sequence", "must be 0 when from_now is true")
        return models, set(request.types)

    def _start(self, request: pb.WatchModelEventsRequest) -> tuple[int, bool]:
        """The first sequence to deliver, and whether retention cut the requested start."""
        oldest, newest = self.store.event_bounds()
        lowest = oldest if oldest is not None else newest + 1
        if request.from_now:
            return newest + 1, False
        if request.start_sequence == 0:
            return lowest, False
        if request.start_sequence < lowest:
            return lowest, True
        return request.start_sequence, False

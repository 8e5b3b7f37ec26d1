"""Long-running jobs as resources (spec/general.md §7): state machine, history, progress,
cooperative cancel and Watch, persisted (store.JobTable) so a job outlives the request that
created it.

A job's work is a coroutine that gets a JobHandle: it reports progress, checks
`handle.stopping` at safe points, and enters `handle.committing()` before the step that makes
its output visible; from then on a cancel no longer stops it and the job ends SUCCEEDED
(DAT-086). A LeptonError raised by the work ends the job FAILED with that code and reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager

from google.protobuf.message import Message

from lepton.type.v1 import error_pb2, job_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.jobs.store import JobTable
from lepton_server.runtime.errors import (
    ERROR_DOMAIN,
    AlreadyExists,
    FailedPrecondition,
    LeptonError,
    NotFound,
)

log = logging.getLogger(__name__)
TERMINAL = frozenset(
    {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}
)
PROGRESS_INTERVAL_S = 1.0  # GEN-061: at most one progress-only message per second per Watch
INTERRUPTED = "JOB_INTERRUPTED"

Work = Callable[["JobHandle"], Awaitable[None]]


class JobHandle:
    """What a job's work sees: its resource, progress, cancellation and the commit point."""

    def __init__(self, runner: JobRunner, name: str) -> None:
        self._runner = runner
        self.name = name
        self.committed = False

    @property
    def job(self) -> Message:
        return self._runner.resource(self.name)

    @property
    def stopping(self) -> bool:
        """True once a cancel was requested and the job has not committed yet."""
        return self._runner.state(self.name) == job_pb2.JOB_STATE_CANCELLING and not self.committed

    def progress(self, completed: int, total: int, unit: str) -> None:
        self._runner.progress(self.name, completed, total, unit)

    def update(self, change: Callable[[Message], None]) -> None:
        """Apply `change` to the job resource (output fields) and persist it."""
        self._runner.update(self.name, change)

    async def set_state(self, state: int, message: str = "") -> None:
        """Move the job to `state` (work that manages its own queueing: see `create`)."""
        await self._runner.set_state(self.name, state, message)

    @contextmanager
    def committing(self) -> Iterator[None]:
        """The step that makes the output visible: a cancel no longer stops the job."""
        self.committed = True
        yield


class Cancelled(Exception):
    """Raised by work that saw `handle.stopping` at a safe point."""


class JobRunner:
    """Runs jobs of several kinds and keeps their resources current."""

    def __init__(
        self,
        table: JobTable,
        kinds: dict[str, type[Message]],
        *,
        on_change: Callable[[Message], None] | None = None,
    ) -> None:
        self._table = table
        # Called with a live job before each change is persisted (e.g. to stamp update_time).
        self._on_change = on_change
        self._kinds = kinds
        # Jobs not yet terminal, and terminal ones whose work still runs; a finished job is
        # read from the table (`_retire`), so a long-running server keeps no finished job in
        # memory but in the table.
        self._live: dict[str, Message] = {}
        self._meta: dict[str, tuple[str, str, int]] = {}  # name -> (kind, parent, create ns)
        self._changed: dict[str, asyncio.Condition] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._last_progress_notice: dict[str, float] = {}
        self._notices: set[asyncio.Task[None]] = set()
        self._revision: dict[str, int] = {}  # bumped on every notified change
        for name, kind, raw in table.stateless():  # rows an earlier server wrote
            if kind in kinds:
                table.record_state(name, kinds[kind].FromString(raw).status.state)

    # --- lifecycle -------------------------------------------------------------------------

    def fail_interrupted(self, committed: Callable[[str, Message], bool] | None = None) -> int:
        """Jobs a previous process left unfinished end FAILED (their work is gone), but for
        those `committed(kind, job)` finds the output of, which it records on the job: a
        process stopped between a job's commit and its record of it, and the job SUCCEEDED."""
        count = 0
        for kind, raw in self._table.rows():
            job = self._kinds[kind].FromString(raw)
            if job.status.state not in TERMINAL:
                if committed is not None and committed(kind, job):
                    message = "the server stopped after the job's commit"
                    _transition(job.status, job_pb2.JOB_STATE_SUCCEEDED, message)
                else:
                    _transition(job.status, job_pb2.JOB_STATE_FAILED, "the server stopped")
                    job.status.error.CopyFrom(
                        error_pb2.ErrorStatus(
                            code=14,
                            reason=INTERRUPTED,
                            domain=ERROR_DOMAIN,
                            message="the server stopped while the job ran",
                        )
                    )
                self._table.put(
                    job.name,
                    kind,
                    _parent_of(job.name),
                    job.status.create_time.ToNanoseconds(),
                    job.SerializeToString(),
                    state=job.status.state,
                )
                count += 1
        return count

    def new_name(
        self, collection: str, job_id: str, field: str, prefix: str, what: str = "job id"
    ) -> str:
        """`{collection}/{job_id}` for a new job: `job_id` checked (INVALID_NAME on `field`) or,
        when empty, generated as `{prefix}-` and 12 hex digits; ALREADY_EXISTS if it is taken."""
        if job_id:
            resource_names.check_id(job_id, field, what)
        else:
            job_id = f"{prefix}-{uuid.uuid4().hex[:12]}"
        name = f"{collection}/{job_id}"
        if name in self._live or self._table.get(name) is not None:
            raise AlreadyExists(
                reason="RESOURCE_ALREADY_EXISTS",
                message=f"{name} exists",
                metadata={"resource_name": name},
            )
        return name

    def create(
        self, kind: str, parent: str, job: Message, work: Work, *, queues_itself: bool = False
    ) -> Message:
        """Persist `job` QUEUED and start its work; the job as created. Work that
        `queues_itself` starts while the job is QUEUED and moves it to RUNNING (and back, for
        restarts and pauses) with `handle.set_state`; other work starts RUNNING."""
        self._admit(kind, parent, job)
        self._persist(job.name)
        created = _copy(job)
        self.start(job.name, work, queues_itself=queues_itself)
        return created

    def adopt(self, kind: str, parent: str, job: Message) -> None:
        """Take over `job`, persisted by an earlier process and not terminal, as it is; its
        work is then started with `start`."""
        self._live[job.name] = job
        self._meta[job.name] = (kind, parent, job.status.create_time.ToNanoseconds())
        self._changed[job.name] = asyncio.Condition()

    def start(self, name: str, work: Work, *, queues_itself: bool = False) -> None:
        """Run `work` for the live job `name` (see `create`)."""
        task = asyncio.ensure_future(self._run(name, work, queues_itself))
        self._tasks[name] = task
        # A finished job's task (and the frames it holds) goes; its resource stays.
        task.add_done_callback(lambda done: self._forget_task(name, done))

    def _forget_task(self, name: str, done: asyncio.Task[None]) -> None:
        if self._tasks.get(name) is done:  # not a later run of the same job (a resume)
            del self._tasks[name]
            self._retire(name)

    def _retire(self, name: str) -> None:
        """Drop what the runner keeps in memory of `name` once it is terminal and no work of
        it runs: its resource is read from the table from then on. A watcher still waiting
        on its condition was woken by the terminal change, and reads the job from there."""
        job = self._live.get(name)
        if job is None or job.status.state not in TERMINAL or name in self._tasks:
            return
        self._drop(name)

    def _drop(self, name: str) -> None:
        self._live.pop(name, None)
        self._meta.pop(name, None)
        self._changed.pop(name, None)
        self._revision.pop(name, None)
        self._last_progress_notice.pop(name, None)

    def create_succeeded(
        self, kind: str, parent: str, job: Message, finish: Callable[[Message], None]
    ) -> Message:
        """Persist `job` already SUCCEEDED, with `finish` applied to its outputs: for work
        done at creation, such as a pipeline run that reuses an earlier output (DAT-102)."""
        self._admit(kind, parent, job)
        _transition(job.status, job_pb2.JOB_STATE_RUNNING, "")
        finish(job)
        _transition(job.status, job_pb2.JOB_STATE_SUCCEEDED, "")
        self._persist(job.name)
        self._retire(job.name)
        return _copy(job)

    def _admit(self, kind: str, parent: str, job: Message) -> None:
        """Register `job` as new and QUEUED, not yet persisted."""
        now = time.time_ns()
        job.status.Clear()
        job.status.create_time.FromNanoseconds(now)
        _transition(job.status, job_pb2.JOB_STATE_QUEUED, "")
        self._live[job.name] = job
        self._meta[job.name] = (kind, parent, now)
        self._changed[job.name] = asyncio.Condition()

    async def _run(self, name: str, work: Work, queues_itself: bool = False) -> None:
        handle = JobHandle(self, name)
        if self.state(name) == job_pb2.JOB_STATE_QUEUED and not queues_itself:
            await self._set_state(name, job_pb2.JOB_STATE_RUNNING, "")
        try:
            if handle.stopping:
                raise Cancelled
            await work(handle)
        except Cancelled:
            if self.state(name) not in TERMINAL:
                await self._set_state(name, job_pb2.JOB_STATE_CANCELLED, "cancelled")
            return
        except LeptonError as error:
            if self.state(name) not in TERMINAL:
                await self._fail(
                    name, error.code.value[0], error.reason, error.message, dict(error.metadata)
                )
            return
        except Exception:
            log.exception("job %s broke", name)
            if self.state(name) not in TERMINAL:
                await self._fail(name, 13, "INTERNAL_ERROR", "internal error", {})
            return
        if self.state(name) not in TERMINAL:
            await self._set_state(name, job_pb2.JOB_STATE_SUCCEEDED, "")

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # --- reading ---------------------------------------------------------------------------

    def resource(self, name: str) -> Message:
        live = self._live.get(name)
        if live is not None:
            return live
        row = self._table.get(name)
        if row is None:
            raise NotFound(
                reason="RESOURCE_NOT_FOUND",
                message=f"{name} does not exist",
                metadata={"resource_name": name},
            )
        kind, raw = row
        return self._kinds[kind].FromString(raw)

    def get(self, name: str) -> Message:
        return _copy(self.resource(name))

    def state(self, name: str) -> int:
        return self.resource(name).status.state

    def list(self, kind: str, parent: str | None) -> list[Message]:
        """Every job of `kind` (under `parent` when given), current."""
        jobs = []
        for _, raw in self._table.rows(kind, parent):
            job = self._kinds[kind].FromString(raw)
            jobs.append(_copy(self._live.get(job.name, job)))
        return jobs

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of job this runner runs."""
        return tuple(self._kinds)

    def counts(self) -> dict[tuple[str, int], int]:
        """How many jobs there are of each (kind, state): every change of a job is stored,
        so the table's states are current."""
        return self._table.counts()

    def forget(self, parent: str) -> None:
        """Jobs of a deleted parent (e.g. a dataset) disappear with it."""
        self._table.delete_under(parent)
        for name in [n for n, (_, p, _) in self._meta.items() if p == parent]:
            self._drop(name)

    def delete(self, name: str) -> None:
        """Forget the job `name` (a terminal job its layer deletes)."""
        self._table.delete(name)
        self._drop(name)
        self._tasks.pop(name, None)

    def running_under(self, parent: str) -> bool:
        return any(
            p == parent and self._live[n].status.state not in TERMINAL
            for n, (_, p, _) in self._meta.items()
            if n in self._live
        )

    # --- changing --------------------------------------------------------------------------

    async def cancel(self, name: str) -> Message:
        """GEN-062: QUEUED/RUNNING -> CANCELLING; CANCELLED stays; finished fails."""
        state = self.state(name)
        if state in (job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED):
            raise FailedPrecondition(
                reason="JOB_ALREADY_FINISHED",
                message=f"{name} has already finished",
                metadata={"resource_name": name},
            )
        if state in (job_pb2.JOB_STATE_QUEUED, job_pb2.JOB_STATE_RUNNING, job_pb2.JOB_STATE_PAUSED):
            await self._set_state(name, job_pb2.JOB_STATE_CANCELLING, "cancel requested")
        return self.get(name)

    async def watch(self, name: str) -> AsyncIterator[Message]:
        """GEN-061: the job now, then after every change; ends after a terminal state."""
        # The revision is read before the job and before the first yield: a change made
        # while the first message is on its way bumps it, so the wait below cannot miss it.
        seen = self._revision.get(name, 0)
        job = self.get(name)
        yield job
        if job.status.state in TERMINAL:
            return
        sent = job.SerializeToString(deterministic=True)
        while True:
            # Waiting for a revision newer than the one read cannot miss a change made
            # between reading the job and starting to wait. A job retired meanwhile (see
            # `_retire`) is terminal: it is read once more, from the table.
            condition = self._changed.get(name)
            if condition is not None:
                async with condition:
                    await condition.wait_for(
                        lambda seen=seen: (
                            self._revision.get(name, 0) != seen or name not in self._changed
                        )
                    )
            seen = self._revision.get(name, 0)
            job = self.get(name)
            current = job.SerializeToString(deterministic=True)
            if current != sent:
                yield job
                sent = current
            if job.status.state in TERMINAL or condition is None:
                return

    def progress(self, name: str, completed: int, total: int, unit: str) -> None:
        job = self._live[name]
        progress = job.status.progress
        progress.completed = max(progress.completed, completed)
        progress.total, progress.unit = total, unit
        self._persist(name)
        now = time.monotonic()
        if now - self._last_progress_notice.get(name, 0.0) >= PROGRESS_INTERVAL_S:
            self._last_progress_notice[name] = now
            notice = asyncio.ensure_future(self._notify(name))
            self._notices.add(notice)
            notice.add_done_callback(self._notices.discard)

    def update(self, name: str, change: Callable[[Message], None]) -> None:
        """Apply `change` to the job `name` and persist it; a job no longer live (finished
        before this process started) is read from the table and written back."""
        if name not in self._live:
            kind, raw = self._table.get(name)
            job = self._kinds[kind].FromString(raw)
            change(job)
            if self._on_change is not None:
                self._on_change(job)
            created = job.status.create_time.ToNanoseconds()
            raw = job.SerializeToString()
            self._table.put(name, kind, _parent_of(name), created, raw, state=job.status.state)
            return
        change(self._live[name])
        self._persist(name)

    async def set_state(self, name: str, state: int, message: str = "") -> None:
        """Move the live job `name` to `state`, recorded in its history, and tell watchers."""
        await self._set_state(name, state, message)

    async def _set_state(self, name: str, state: int, message: str) -> None:
        _transition(self._live[name].status, state, message)
        self._persist(name)
        await self._notify(name)
        self._retire(name)  # a terminal job no work of which runs (one adopted, say)

    async def fail(self, name: str, error: LeptonError) -> None:
        """End the live job `name` FAILED with `error` (for a layer that ends a job its
        work does not run, such as one a restart left behind)."""
        await self._fail(
            name, error.code.value[0], error.reason, error.message, dict(error.metadata)
        )

    async def _fail(
        self, name: str, code: int, reason: str, message: str, metadata: dict[str, str]
    ) -> None:
        self._live[name].status.error.CopyFrom(
            error_pb2.ErrorStatus(
                code=code, reason=reason, domain=ERROR_DOMAIN, message=message, metadata=metadata
            )
        )
        await self._set_state(name, job_pb2.JOB_STATE_FAILED, message)

    async def _notify(self, name: str) -> None:
        condition = self._changed.get(name)
        if condition is None:  # retired: nobody waits on it any more
            return
        async with condition:
            self._revision[name] = self._revision.get(name, 0) + 1
            condition.notify_all()

    def _persist(self, name: str) -> None:
        if self._on_change is not None:
            self._on_change(self._live[name])
        kind, parent, created = self._meta[name]
        job = self._live[name]
        self._table.put(
            name, kind, parent, created, job.SerializeToString(), state=job.status.state
        )


def _parent_of(name: str) -> str:
    """The parent a stored job was created under: its collection, or "" for a top-level kind."""
    return name.rsplit("/", 1)[0] if name.count("/") >= 3 else ""


def _transition(status: job_pb2.JobStatus, state: int, message: str) -> None:
    now = time.time_ns()
    status.state = state
    entry = status.history.add(state=state, message=message)
    entry.time.FromNanoseconds(now)
    if state == job_pb2.JOB_STATE_RUNNING and not status.HasField("start_time"):
        status.start_time.FromNanoseconds(now)
    if state in TERMINAL:
        status.end_time.FromNanoseconds(now)


def _copy(message: Message) -> Message:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy

"""One attempt of a training job on local worker processes, the reference server's default
executor: the worker started with the runtime contract's environment (`attempts.prepare`),
its output and reports followed as they come, and a stop on request. The job lifecycle
around it (queue, restarts, pause, registration) is not this module's."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from lepton_server.training.attempts import (
    AttemptFollower,
    AttemptPlan,
    AttemptResult,
    LogSink,
    ReportSink,
    attempt_dir,
    prepare,
)
from lepton_server.training.group_guards import guarded_argv
from lepton_server.training.local_workers import LocalWorker
from lepton_server.training.report_lines import ReportReader

# How often the report file is read while the worker runs.
REPORT_POLL_SECONDS = 0.1


class LocalAttempt:
    """Runs one attempt; `stop` may be called while `run` is in progress."""

    def __init__(self, plan: AttemptPlan) -> None:
        self.plan = plan
        self._worker: LocalWorker | None = None
        self._stop: tuple[str, float] | None = None
        self._stopping: asyncio.Future[None] | None = None

    async def run(self, on_log: LogSink, on_report: ReportSink) -> AttemptResult:
        launch = prepare(self.plan)
        # The worker leads a session of its own, which a server killed without warning would
        # leave running with every process it started.
        launch = dataclasses.replace(launch, argv=guarded_argv(launch.argv, launch.env))
        reader = ReportReader(Path(launch.env["LEPTON_REPORT_FILE"]))
        follower = AttemptFollower(self.plan, on_log, on_report)
        self._worker = await LocalWorker.start(launch, follower.log)
        if self._stop is not None:  # asked to stop while it was starting
            self._stopping = asyncio.ensure_future(self.stop(*self._stop))
        waiting = asyncio.ensure_future(self._worker.wait())
        while not waiting.done():
            follower.drain(reader)
            await asyncio.wait({waiting}, timeout=REPORT_POLL_SECONDS)
        code = waiting.result()
        follower.drain(reader)
        worker = self._worker
        output = attempt_dir(self.plan, "output")
        return follower.result(code, worker.stop_reason, output, worker.out_of_memory)

    async def stop(self, reason: str, grace_seconds: float | None = None) -> None:
        """Stop the attempt (pause, cancel or deadline); `run` then returns the stop."""
        grace = self.plan.grace_seconds if grace_seconds is None else grace_seconds
        if self._worker is None:
            self._stop = (reason, grace)
            return
        await self._worker.stop(reason, grace)

    def kill(self) -> None:
        """End the worker's process group at once (the server is stopping)."""
        if self._worker is not None:
            self._worker.kill()

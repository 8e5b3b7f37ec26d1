"""One attempt of a training job on a Ray cluster (`--training-executor ray`, spec/training.md,
"Resources and executors"), with the interface of `LocalAttempt`, so the job lifecycle runs
either. The worker is a Ray actor scheduled with the attempt's CPUs and memory; on its node
it lays out the attempt's directory and environment (`attempts.prepare`) and runs the trainer
as a `LocalWorker` — its own process group, memory limit, stop file, SIGTERM, then SIGKILL
after the grace period — with a guard that ends the group should the actor die. Nothing
relies on a file system shared with the server: the data files and the resumed checkpoint
travel to the node through Ray's object store, and the server polls the actor for new output
lines, report lines, the files of each checkpoint as it is reported, and finally the output
directory.

The server is a driver of the cluster (`runtime.ray_connection`), so it runs on one of its
nodes, and each node runs this package in the server's Python environment. Ray is imported
only when an attempt runs, so a server that uses local processes needs no Ray installed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from lepton_server.runtime.ray_connection import connect
from lepton_server.training.attempts import (
    AttemptFailure,
    AttemptFollower,
    AttemptPlan,
    AttemptResult,
    LogSink,
    ReportSink,
    attempt_dir,
    prepare,
)
from lepton_server.training.group_guards import guard_group
from lepton_server.training.local_workers import LocalWorker
from lepton_server.training.report_lines import CheckpointReport, Report, ReportReader

# How often the server asks the actor for new lines while the worker runs.
POLL_SECONDS = 0.1

# A directory's files by path relative to it; None stands for an (empty) directory.
Files = dict[str, bytes | None]


@dataclasses.dataclass(frozen=True)
class Polled:
    """What the actor has to say since the last poll."""

    lines: list[tuple[str, str]]
    reports: list[Report]
    # The files of the checkpoints among `reports`, relative to the checkpoint directory.
    checkpoint_files: Files
    # Set once the worker and every process of its group are gone.
    exit_code: int | None
    stop_reason: str | None


class RayAttempt:
    """Runs one attempt on the Ray cluster at `address`; `stop` may be called while `run` is
    in progress, also before the cluster has placed the worker."""

    def __init__(self, plan: AttemptPlan, address: str) -> None:
        self.plan = plan
        self.address = address
        self._actor: Any = None
        self._started = False
        self._stop: tuple[str, float] | None = None
        self._stop_asked = asyncio.Event()

    async def run(self, on_log: LogSink, on_report: ReportSink) -> AttemptResult:
        plan = self.plan
        await asyncio.to_thread(connect, self.address)
        import ray  # noqa: PLC0415 - only a server that runs attempts on Ray needs it

        follower = AttemptFollower(plan, on_log, on_report)
        output_dir, checkpoint_dir = attempt_dir(plan, "output"), attempt_dir(plan, "checkpoints")
        for path in (output_dir, checkpoint_dir):
            path.mkdir(parents=True, exist_ok=True)
        inputs = await asyncio.to_thread(_shipped_inputs, plan)
        options: dict[str, Any] = {"num_cpus": plan.cpu, "max_restarts": 0}
        if plan.memory_bytes:
            options["memory"] = plan.memory_bytes
        self._actor = actor = _actor_class().options(**options).remote()
        placed = False
        try:
            placed = await self._placed(actor)
            if not placed:
                reason, _ = self._stop or ("cancel", 0.0)
                return AttemptResult(0, stop_reason=reason)  # no worker ever ran
            await actor.start.remote(plan, inputs, sys.executable, str(checkpoint_dir))
            self._started = True
            # Asked to stop while it was starting.
            stopping = asyncio.ensure_future(self.stop(*self._stop)) if self._stop else None
            polled = await self._follow(actor, follower, checkpoint_dir)
            if stopping is not None:
                await stopping
            if polled.exit_code == 0 and polled.stop_reason is None:
                _unpack(await actor.output.remote(), output_dir)
            return follower.result(polled.exit_code, polled.stop_reason, output_dir)
        except ray.exceptions.RayActorError as error:
            return AttemptResult(
                -1,
                failure=AttemptFailure(
                    "WORKER_LOST", f"the Ray worker was lost: {error}", {"worker_index": "0"}
                ),
            )
        finally:
            if placed:  # an actor never placed would answer nothing
                with contextlib.suppress(ray.exceptions.RayError):
                    await actor.close.remote()
            ray.kill(actor)

    async def stop(self, reason: str, grace_seconds: float | None = None) -> None:
        """Stop the attempt (pause, cancel or deadline); `run` then returns the stop."""
        grace = self.plan.grace_seconds if grace_seconds is None else grace_seconds
        if not self._started:
            self._stop = (reason, grace)
            self._stop_asked.set()
            return
        import ray  # noqa: PLC0415

        with contextlib.suppress(ray.exceptions.RayActorError):
            await self._actor.stop.remote(reason, grace)

    def kill(self) -> None:
        """Ask the worker's node to end its processes now (the server is stopping)."""
        if self._actor is not None and self._started:
            self._actor.close.remote()

    async def _placed(self, actor: Any) -> bool:
        """Whether the cluster placed the actor before a stop was asked. Until then it runs
        nothing, so a stop simply gives up the actor."""
        placed = asyncio.ensure_future(actor.ready.remote())
        asked = asyncio.ensure_future(self._stop_asked.wait())
        await asyncio.wait({placed, asked}, return_when=asyncio.FIRST_COMPLETED)
        asked.cancel()
        if placed.done():
            placed.result()  # raises if the actor could not be created
            return True
        placed.cancel()
        return False

    async def _follow(self, actor: Any, follower: AttemptFollower, checkpoint_dir: Path) -> Polled:
        """Pass on the worker's lines and reports until it is gone; its last poll."""
        while True:
            polled: Polled = await actor.poll.remote()
            _unpack(polled.checkpoint_files, checkpoint_dir)
            for stream, line in polled.lines:
                follower.log(stream, line)
            for item in polled.reports:
                follower.report(item)
            if polled.exit_code is not None:
                return polled
            await asyncio.sleep(POLL_SECONDS)


class AttemptActor:
    """The Ray actor of one worker; it runs on the node Ray chose. Its methods are
    coroutines, so a stop and the polls run while the worker does."""

    def __init__(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="lepton-attempt-")).resolve()
        self._lines: list[tuple[str, str]] = []
        self._worker: LocalWorker | None = None
        self._waiting: asyncio.Future[int] | None = None
        self._reader: ReportReader | None = None
        self._checkpoint_dir = self._root
        self._server_checkpoint_dir = ""
        self._output_dir = self._root

    async def ready(self) -> None:
        """Answers once the actor is placed and constructed."""

    async def start(
        self,
        plan: AttemptPlan,
        inputs: dict[str, Any],
        server_python: str,
        server_checkpoint_dir: str,
    ) -> None:
        """Lay out the attempt on this node and start its worker."""
        data = self._root / "data"
        data.mkdir()
        data_files = {}
        for role, ref in inputs["data"].items():
            data_files[role] = data / f"{role}.arrow"
            data_files[role].write_bytes(await ref)
        resume_dir = None
        if inputs["resume"] is not None:
            resume_dir = self._root / "resume"
            _unpack(await inputs["resume"], resume_dir)
        argv = list(plan.argv)
        if argv and argv[0] == server_python:  # a built-in trainer: this node's Python
            argv[0] = sys.executable
        node_plan = dataclasses.replace(
            plan, argv=argv, work_dir=self._root, data_files=data_files, resume_dir=resume_dir
        )
        launch = prepare(node_plan)
        self._reader = ReportReader(Path(launch.env["LEPTON_REPORT_FILE"]))
        self._checkpoint_dir = attempt_dir(node_plan, "checkpoints")
        self._output_dir = attempt_dir(node_plan, "output")
        self._server_checkpoint_dir = server_checkpoint_dir
        self._worker = await LocalWorker.start(launch, lambda *line: self._lines.append(line))
        self._waiting = asyncio.ensure_future(self._worker.wait())
        # Should this actor die without a stop, Ray would end the trainer but not its children,
        # and nothing the attempt's files.
        await guard_group(self._worker.pgid, self._root)

    async def poll(self) -> Polled:
        assert self._worker is not None and self._waiting is not None
        assert self._reader is not None
        # Whether it ended first: once it has, every line and report is in what follows.
        ended = self._waiting.done()
        lines, self._lines = self._lines, []
        reports, files = [], {}
        for item in self._reader.read():
            if isinstance(item, CheckpointReport):
                item, checkpoint_files = self._checkpoint(item)
                files.update(checkpoint_files)
            reports.append(item)
        code = self._waiting.result() if ended else None
        return Polled(lines, reports, files, code, self._worker.stop_reason)

    async def stop(self, reason: str, grace_seconds: float) -> None:
        assert self._worker is not None
        await self._worker.stop(reason, grace_seconds)

    async def output(self) -> Files:
        """The files the worker left in `LEPTON_OUTPUT_DIR`."""
        return _packed(self._output_dir)

    async def close(self) -> None:
        """End whatever is left of the worker (a server that gave up on the attempt) and
        remove the attempt's files from this node."""
        if self._worker is not None and self._waiting is not None and not self._waiting.done():
            await self._worker.stop("cancel", 0)
        shutil.rmtree(self._root, ignore_errors=True)

    def _checkpoint(self, item: CheckpointReport) -> tuple[CheckpointReport, Files]:
        """The checkpoint's files, and its report with the paths the server will have them
        at. A relative path is relative to `LEPTON_CHECKPOINT_DIR` and stays as it is;
        a path outside that directory is not the server's to copy."""
        files: Files = {}
        changes = {}
        for name in ("path", "model_path"):
            value = getattr(item, name)
            if not value:
                continue
            path = (self._checkpoint_dir / value).resolve()  # an absolute value replaces it
            try:
                relative = path.relative_to(self._checkpoint_dir)
            except ValueError:
                continue
            files.update(_packed(path, self._checkpoint_dir))
            if Path(value).is_absolute():
                changes[name] = str(Path(self._server_checkpoint_dir) / relative)
        return dataclasses.replace(item, **changes), files


@functools.cache
def _actor_class() -> Any:
    import ray  # noqa: PLC0415

    return ray.remote(AttemptActor)


def _shipped_inputs(plan: AttemptPlan) -> dict[str, Any]:
    """The attempt's data files and resumed checkpoint, put in Ray's object store so that a
    node reads them from there rather than from the server's file system."""
    import ray  # noqa: PLC0415

    resume = None
    if plan.resume_dir is not None:
        resume = ray.put(_packed(plan.resume_dir))
    data = {role: ray.put(path.read_bytes()) for role, path in plan.data_files.items()}
    return {"data": data, "resume": resume}


def _packed(path: Path, base: Path | None = None) -> Files:
    """The files of `path` (a file or a directory tree), by path relative to `base` (the
    directory `path` itself when omitted)."""
    base = path if base is None else base
    files: Files = {}
    if path.is_file():
        files[str(path.relative_to(base))] = path.read_bytes()
    elif path.is_dir():
        for entry in sorted([path, *path.rglob("*")]):
            if entry.is_file():
                files[str(entry.relative_to(base))] = entry.read_bytes()
            elif entry != base and not any(entry.iterdir()):
                files[str(entry.relative_to(base))] = None
    return files


def _unpack(files: Files, base: Path) -> None:
    """Write `files` (from `_packed`) under `base`."""
    base.mkdir(parents=True, exist_ok=True)
    for relative, data in files.items():
        target = base / relative
        if base.resolve() not in (target.resolve(), *target.resolve().parents):
            raise ValueError(f"{relative} is not under the attempt's directory")
        if data is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

"""The lifecycle every job resource follows (spec/general.md §7, spec/data.md §3.4, §8.9):
checks of one job's status, of a sequence of observations of it, of a Watch stream, a way
to wait for a job to end, and a way to catch a job before it ends. Shared by import jobs,
export jobs, pipeline runs and training jobs, each kind with its table of transitions
(`NEXT` for the data layer's jobs); written from the spec alone."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import grpc
from google.protobuf.message import Message

from lepton.type.v1 import job_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed, Skipped

QUEUED = job_pb2.JOB_STATE_QUEUED
RUNNING = job_pb2.JOB_STATE_RUNNING
SUCCEEDED = job_pb2.JOB_STATE_SUCCEEDED
FAILED = job_pb2.JOB_STATE_FAILED
CANCELLING = job_pb2.JOB_STATE_CANCELLING
CANCELLED = job_pb2.JOB_STATE_CANCELLED
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
# §3.4: the only transitions. Cancel may skip CANCELLING, and a job that had committed its
# output when the cancel came ends SUCCEEDED (DAT-086).
NEXT = {
    QUEUED: frozenset({RUNNING, CANCELLING, CANCELLED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, CANCELLING, CANCELLED}),
    CANCELLING: frozenset({CANCELLED, SUCCEEDED}),
}
Transitions = dict[int, frozenset[int]]
# Polling for the end of a job starts fast (most jobs of the suite take milliseconds) and
# settles at POLL_S.
FIRST_POLL_S, POLL_S = 0.004, 0.02
# How long a Watch may stay open after it sent a terminal state before the suite calls it
# stuck (GEN-061 says it ends right after).
WATCH_GRACE_S = 2.0


def name_of(state: int) -> str:
    return job_pb2.JobState.Name(state) if state in job_pb2.JobState.values() else str(state)


def check_succeeded(job: Message) -> Message:
    """`job`, which must have ended SUCCEEDED; a failure names its state and error."""
    if job.status.state != SUCCEEDED:
        error = job.status.error
        raise Failed(
            f"{job.name} to succeed",
            f"{name_of(job.status.state)} [{error.reason}]: {error.message}",
        )
    return job


def _ns(stamp: Any) -> int:
    return stamp.seconds * 1_000_000_000 + stamp.nanos


def check_status(job: Message, what: str, transitions: Transitions = NEXT) -> None:
    """One observation of a job on its own: history from QUEUED along §3.4 to the current
    state with non-decreasing times; start_time once RUNNING was entered, end_time once
    terminal; `status.error` exactly when FAILED, well formed; progress within its total
    (DAT-083, DAT-084, DAT-085, GEN-060, GEN-063, GEN-064)."""
    status = job.status
    states = [entry.state for entry in status.history]
    expect.holds(
        bool(states) and states[0] == QUEUED,
        f"status.history of {what} starting with JOB_STATE_QUEUED",
        str([name_of(s) for s in states]),
    )
    for before, after in itertools.pairwise(states):
        expect.holds(
            after in transitions.get(before, ()),
            f"only the transitions of the job's lifecycle in the history of {what}",
            f"{name_of(before)} -> {name_of(after)} in {[name_of(s) for s in states]}",
        )
    expect.equal(name_of(states[-1]), name_of(status.state), f"last history entry of {what}")
    times = [_ns(entry.time) for entry in status.history]
    expect.holds(
        times == sorted(times) and times[0] > 0,
        f"history times of {what} set and non-decreasing",
        str(times),
    )
    expect.holds(status.HasField("create_time"), f"status.create_time of {what}", "unset")
    entered_running = RUNNING in states
    expect.equal(
        status.HasField("start_time"),
        entered_running,
        f"status.start_time set of {what} (it entered RUNNING: {entered_running})",
    )
    terminal = status.state in TERMINAL
    expect.equal(status.HasField("end_time"), terminal, f"status.end_time set of {what} (terminal)")
    if entered_running and terminal:
        expect.holds(
            _ns(status.create_time) <= _ns(status.start_time) <= _ns(status.end_time),
            f"create_time <= start_time <= end_time of {what}",
            f"{status.create_time} / {status.start_time} / {status.end_time}",
        )
    check_error(job, what)
    progress = status.progress
    expect.holds(
        progress.total == 0 or 0 <= progress.completed <= progress.total,
        f"progress.completed within progress.total of {what}",
        f"{progress.completed} of {progress.total}",
    )


def check_error(job: Message, what: str) -> None:
    """`status.error` is set if and only if the job is FAILED, with a non-zero code, an
    UPPER_SNAKE_CASE reason and domain lepton.ai (DAT-084, GEN-063)."""
    status = job.status
    failed = status.state == FAILED
    expect.equal(
        status.HasField("error"), failed, f"status.error set of {what} ({name_of(status.state)})"
    )
    if failed:
        error = status.error
        expect.holds(
            error.code != 0
            and expect.REASON_PATTERN.match(error.reason) is not None
            and error.domain == expect.ERROR_DOMAIN,
            f"status.error of {what} with a code, a reason and domain {expect.ERROR_DOMAIN}",
            f"code {error.code}, reason {error.reason!r}, domain {error.domain!r}",
        )


def check_observations(jobs: Sequence[Message], what: str, transitions: Transitions = NEXT) -> None:
    """Successive observations of one job (Get or Watch): each is a valid status, the state
    only moves along §3.4 and never leaves a terminal state, the history only grows, and
    progress.completed never decreases (DAT-083, DAT-085, GEN-060, GEN-064)."""
    for job in jobs:
        check_status(job, what, transitions)
    for before, after in itertools.pairwise(jobs):
        old, new = list(before.status.history), list(after.status.history)
        expect.holds(
            new[: len(old)] == old,
            f"the history of {what} to keep its entries as it grows",
            f"{[name_of(h.state) for h in old]} then {[name_of(h.state) for h in new]}",
        )
        if before.status.state in TERMINAL:
            expect.equal(
                name_of(after.status.state),
                name_of(before.status.state),
                f"the state of {what} after it was terminal",
            )
        expect.holds(
            after.status.progress.completed >= before.status.progress.completed,
            f"progress.completed of {what} never to decrease",
            f"{before.status.progress.completed} then {after.status.progress.completed}",
        )


def wait(
    get: Callable[[], Message],
    what: str,
    timeout: float,
    transitions: Transitions = NEXT,
    poll_s: float = POLL_S,
) -> Message:
    """Poll `get` until the job is terminal (checking each observation); the last one."""
    deadline = time.monotonic() + timeout
    seen: list[Message] = []
    while True:
        job = get()
        seen.append(job)
        check_observations(seen[-2:], what, transitions)
        if job.status.state in TERMINAL:
            return job
        if time.monotonic() > deadline:
            raise Failed(
                f"{what} to end within {timeout:.0f} s", f"still {name_of(job.status.state)}"
            )
        time.sleep(min(poll_s, FIRST_POLL_S * 2 ** (len(seen) - 1)))


def while_live(sizes: Sequence[int], attempt: Callable[[int], bool], action: str) -> None:
    """Run `attempt` with a job of each size in turn, until one reports (by returning True)
    that its job had not ended when the case acted on it, so that the behaviour was
    exercised. A job that ended first shows nothing either way: when every one did, the case
    is Skipped, never passed."""
    for size in sizes:
        if attempt(size):
            return
    raise Skipped(
        f"every job, up to size {sizes[-1]}, had ended before {action}: the behaviour was "
        "never exercised",
        needs=f"a job that is still running when {action}",
    )


def follow(
    stream: Any, unwrap: Callable[[Any], Message], what: str, transitions: Transitions = NEXT
) -> list[Message]:
    """Every job a Watch stream sends, until it ends. The stream must end with OK right after
    the first message that carries a terminal state, and send nothing after it (GEN-061)."""
    jobs: list[Message] = []
    stuck = threading.Event()

    def give_up() -> None:
        stuck.set()
        stream.cancel()

    timer: threading.Timer | None = None
    try:
        for response in stream:
            job = unwrap(response)
            expect.holds(
                not jobs or jobs[-1].status.state not in TERMINAL,
                f"the Watch of {what} to end right after the terminal state",
                f"a further message in {name_of(job.status.state)}",
            )
            jobs.append(job)
            if job.status.state in TERMINAL and timer is None:
                timer = threading.Timer(WATCH_GRACE_S, give_up)
                timer.start()
    except grpc.RpcError as error:
        if stuck.is_set():
            raise Failed(
                f"the Watch of {what} to end with OK right after the terminal state",
                f"still open {WATCH_GRACE_S:.0f} s later",
            ) from None
        raise Failed(f"the Watch of {what} to end with OK", expect.describe(error)) from None
    finally:
        if timer is not None:
            timer.cancel()
    expect.holds(bool(jobs), f"the Watch of {what} to send the job", "no message")
    expect.holds(
        jobs[-1].status.state in TERMINAL,
        f"the Watch of {what} to end only after a terminal state",
        f"it ended after {name_of(jobs[-1].status.state)}",
    )
    check_transitions_visible(jobs, what, transitions)
    return jobs


def check_transitions_visible(
    jobs: Iterable[Message], what: str, transitions: Transitions = NEXT
) -> None:
    """Watch sends the job after every state change: consecutive messages differ by at most
    one transition of the job's lifecycle (GEN-061, DAT-088)."""
    messages = list(jobs)
    check_observations(messages, what, transitions)
    for before, after in itertools.pairwise(messages):
        old, new = before.status.state, after.status.state
        expect.holds(
            old == new or new in transitions.get(old, ()),
            f"a Watch message of {what} after every state change",
            f"{name_of(old)} then {name_of(new)}",
        )
        expect.holds(
            len(after.status.history) - len(before.status.history) <= 1,
            f"a Watch message of {what} after every state change",
            f"history {len(before.status.history)} then {len(after.status.history)} entries",
        )

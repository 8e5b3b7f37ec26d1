"""Progress bars for long uploads, downloads and jobs, drawn with rich on standard error when
it is a terminal. A bar appears only once a transfer has lasted `PROGRESS_DELAY_SECONDS`, so
quick calls print nothing; when standard error is not a terminal nothing is ever printed."""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PROGRESS_DELAY_SECONDS = 0.5


def progress_enabled(setting: bool | None) -> bool:
    """`setting` when given; otherwise whether standard error is attached to a terminal."""
    if setting is not None:
        return setting
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


class ProgressBar:
    """One task's progress, e.g. rows uploaded. Safe to advance from gRPC's sending thread.
    Close it when the task ends (`ServiceClient.progress_bar` does, as a context manager)."""

    def __init__(self, description: str, total: int | None, unit: str, enabled: bool) -> None:
        self._description = description
        self._total = total
        self._unit = unit
        self._enabled = enabled
        self._completed = 0
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self._note = ""

    def note(self, text: str) -> None:
        """Show `text` after the counts (e.g. the latest metric of a training job) from the
        next update on."""
        with self._lock:
            self._note = text

    def advance(self, amount: int) -> None:
        """Record `amount` more units done."""
        self.update(self._completed + amount)

    def update(self, completed: int, total: int | None = None, unit: str | None = None) -> None:
        """Record the units done so far (and the total and unit, when they become known)."""
        with self._lock:
            self._completed = completed
            if total:
                self._total = total
            if unit:
                self._unit = unit
            if not self._enabled:
                return
            if self._progress is None:
                if time.monotonic() - self._started < PROGRESS_DELAY_SECONDS:
                    return
                self._start()
            assert self._progress is not None and self._task is not None
            self._progress.update(
                self._task, completed=self._completed, total=self._total, counts=self._counts()
            )

    def _counts(self) -> str:
        counts = f"{self._completed:,}/{self._total:,}" if self._total else f"{self._completed:,}"
        return f"{counts} {self._unit}" + (f"  {self._note}" if self._note else "")

    def _start(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
        )
        self._task = self._progress.add_task(
            self._description,
            total=self._total,
            completed=self._completed,
            counts=self._counts(),
        )
        self._progress.start()

    def close(self) -> None:
        """Stop drawing; the finished bar stays on screen."""
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

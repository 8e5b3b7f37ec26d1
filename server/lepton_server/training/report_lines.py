"""The report file of the trainer runtime contract (spec/training.md, "Trainer runtime
contract"), read as it grows: complete LF-terminated lines only, each parsed into a typed
report. A line longer than 1 MiB, not a JSON object, or with unusable values becomes a
`Malformed` report (a LOG_STREAM_SYSTEM warning); unknown types and keys are ignored."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_LINE_BYTES = 1024 * 1024
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


@dataclass(frozen=True)
class Metric:
    name: str
    step: int
    value: float


@dataclass(frozen=True)
class Progress:
    completed: int
    total: int
    unit: str


@dataclass(frozen=True)
class CheckpointReport:
    path: str
    step: int
    trigger: str = ""
    model_path: str = ""
    format: str = ""
    signature: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputReport:
    entry_path: str
    format: str = ""
    framework: str = ""
    framework_version: str = ""
    signature: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Malformed:
    """A line the server could not use, and why."""

    why: str


Report = Metric | Progress | CheckpointReport | OutputReport | Malformed


class ReportReader:
    """Reads a worker's report file incrementally: each `read()` returns the reports of the
    lines completed since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._pending = b""
        self._skipping = False  # inside an over-long line, until its LF

    def read(self) -> list[Report]:
        try:
            with self.path.open("rb") as source:
                source.seek(self._offset)
                data = source.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        reports: list[Report] = []
        buffer = self._pending + data
        *lines, self._pending = buffer.split(b"\n")
        for line in lines:
            if self._skipping:
                self._skipping = False
                continue
            reports.append(_parse(line))
        if len(self._pending) > MAX_LINE_BYTES:
            reports.append(Malformed(f"a report line longer than {MAX_LINE_BYTES} bytes"))
            self._pending, self._skipping = b"", True
        return [r for r in reports if r is not None]


def _parse(line: bytes) -> Report | None:
    """The report of one complete line; None for an unknown type, which is ignored."""
    if len(line) > MAX_LINE_BYTES:
        return Malformed(f"a report line longer than {MAX_LINE_BYTES} bytes")
    try:
        item = json.loads(line)
    except (UnicodeDecodeError, ValueError):
        return Malformed("a report line that is not JSON")
    if not isinstance(item, dict):
        return Malformed("a report line that is not a JSON object")
    kind = item.get("type")
    build = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if build is None:
        return None
    try:
        return build(item)
    except (KeyError, TypeError, ValueError) as exc:
        return Malformed(f"a {kind} report line with {exc}")


def _metric(item: dict[str, Any]) -> Metric:
    return Metric(_text(item, "name"), _integer(item, "step"), _number(item["value"]))


def _progress(item: dict[str, Any]) -> Progress:
    return Progress(
        _integer(item, "completed"), _integer(item, "total", 0), str(item.get("unit", "steps"))
    )


def _checkpoint(item: dict[str, Any]) -> CheckpointReport:
    return CheckpointReport(
        _text(item, "path"),
        _integer(item, "step"),
        str(item.get("trigger", "")),
        str(item.get("model_path", "")),
        str(item.get("format", "")),
        _object(item, "signature"),
    )


def _output(item: dict[str, Any]) -> OutputReport:
    return OutputReport(
        _text(item, "entry_path"),
        str(item.get("format", "")),
        str(item.get("framework", "")),
        str(item.get("framework_version", "")),
        _object(item, "signature"),
    )


_BUILDERS = {
    "metric": _metric,
    "progress": _progress,
    "checkpoint": _checkpoint,
    "output": _output,
}


def _text(item: dict[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} not a non-empty string")
    return value


def _integer(item: dict[str, Any], key: str, default: int | None = None) -> int:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} not a non-negative integer")
    return value


def _number(value: Any) -> float:
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("value not a number")
    return float(value)


def _object(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key} not a JSON object")
    return value

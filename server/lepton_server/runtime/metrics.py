"""Prometheus metrics of one server process (spec/general.md §11), served over HTTP on
`--metrics-address`.

Calls are counted in the handler wrapper every method goes through on either data plane
(runtime/error_mapping.py), under the names go-grpc-prometheus made the convention, so
existing gRPC dashboards and alerts work (GEN-100, GEN-101). Everything else is read when
Prometheus scrapes, from what the server already keeps: each hosted service may name a
source of metric families (inference's Triton-named per-model counters, the job counts of a
layer), and the host adds the bytes under its data directory. Nothing is measured, and
nothing costs a call, when no metrics address is given."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
# What a hosted service contributes at each scrape (HostedService.metrics).
MetricSource = Callable[[], Iterable[Metric]]

# gRPC-Go's names of the status codes, which go-grpc-prometheus puts in `grpc_code`.
_GO_NAMES = {"OK": "OK", "CANCELLED": "Canceled"}
CODE_NAMES = {
    code: _GO_NAMES.get(code.name) or code.name.title().replace("_", "") for code in grpc.StatusCode
}
_LABELS = ("grpc_type", "grpc_service", "grpc_method")
# Seconds; finer than the client library's defaults at the low end, where inference calls end.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# runtime/error_mapping.py's handler kinds -> go-grpc-prometheus's grpc_type.
GRPC_TYPES = {
    "unary_unary": "unary",
    "unary_stream": "server_stream",
    "stream_unary": "client_stream",
    "stream_stream": "bidi_stream",
}


class CallRecorder:
    """The counters of one method, bound once at registration so a call costs two increments
    and one observation."""

    __slots__ = ("_counter", "_handled", "_labels", "_seconds", "_started")

    def __init__(self, metrics: RpcMetrics, labels: tuple[str, str, str]) -> None:
        self._labels = labels
        self._started = metrics.started.labels(*labels)
        self._seconds = metrics.seconds.labels(*labels)
        self._counter = metrics.handled
        # Bound on first use: a series per code every method has seen, not per code there is.
        self._handled: dict[grpc.StatusCode, Any] = {}

    def started(self, context: Any = None) -> float:
        """Counts the call as started; returns its start time for `ended`."""
        self._started.inc()
        return time.perf_counter()

    def ended(
        self, start: float, code: grpc.StatusCode, reason: str, request: Any, response: Any
    ) -> None:
        """Counts the call as ended with `code`, the status its client receives."""
        handled = self._handled.get(code)
        if handled is None:
            handled = self._handled[code] = self._counter.labels(*self._labels, CODE_NAMES[code])
        handled.inc()
        self._seconds.observe(time.perf_counter() - start)


def share_counters(directory: Path) -> None:
    """Keep this process's counters in `directory`, where the primary of `lepton serve
    --workers` adds up every process's at each scrape (the client library's multiprocess
    mode). Called before the process creates its counters."""
    directory.mkdir(mode=0o700, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()


class RpcMetrics:
    """The per-call families (GEN-101, GEN-102); in `registry`, or in none when the counters
    are shared between processes (`share_counters`)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.started = Counter(
            "grpc_server_started_total",
            "Calls started on the server.",
            _LABELS,
            registry=registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "Calls completed on the server, by the status code the client received.",
            (*_LABELS, "grpc_code"),
            registry=registry,
        )
        self.seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of a call to its end on the server, in seconds.",
            _LABELS,
            buckets=_BUCKETS,
            registry=registry,
        )

    def for_method(self, method: str, kind: str) -> CallRecorder:
        """The recorder of `method` ("/package.Service/Method"), a handler of `kind`."""
        service, _, name = method.lstrip("/").partition("/")
        return CallRecorder(self, (GRPC_TYPES[kind], service, name))


def gauge(name: str, documentation: str, labels: Sequence[str], values: dict) -> Metric:
    """A gauge family of `values` (label values, in `labels`' order -> value)."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for label_values, value in sorted(values.items()):
        family.add_metric(list(label_values), value)
    return family


def area_bytes(areas: Sequence[Path]) -> dict[str, int]:
    """The bytes each of `areas` takes on its disk, by name. `du` walks them in a process of
    its own: a walk in this interpreter takes its lock for a moment per file, and a
    long-running server keeps every version's segments, so each scrape would hold back the
    calls being served (at 60,000 files, scraping every second doubled the p99 of writes).
    Where there is no `du`, the walk runs here."""
    du = shutil.which("du")
    if du is None or not areas:
        return {area.name: _tree_bytes(area) for area in areas}
    names = {str(area): area.name for area in areas}
    # `du` exits 1 when a file vanished while it walked; the totals it printed still hold.
    completed = subprocess.run(
        [du, "-sk", "--", *names], capture_output=True, text=True, timeout=60, check=False
    )
    sizes = {}
    for line in completed.stdout.splitlines():
        kibibytes, _, path = line.partition("\t")
        if path in names:
            sizes[names[path]] = int(kibibytes) * 1024
    return sizes


def _tree_bytes(root: Path) -> int:
    """Bytes of the regular files under `root` (their allocated size is what fills a disk),
    read entry by entry so that the walk's memory stays the same however many files there
    are."""
    total = 0
    stack = [root]
    while stack:
        directory = stack.pop()
        with contextlib.suppress(OSError), os.scandir(directory) as entries:
            # An OSError here: the directory was removed while being read.
            for entry in entries:
                total += _entry_bytes(entry, stack)
    return total


def _entry_bytes(entry: os.DirEntry, directories: list[Path]) -> int:
    """The allocated bytes of a regular file; a directory goes on `directories`."""
    try:
        if entry.is_dir(follow_symlinks=False):
            directories.append(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            return entry.stat(follow_symlinks=False).st_blocks * 512
    except OSError:
        pass
    return 0


def storage_metrics(data_dir: Path) -> Iterator[Metric]:
    """The bytes each area of the data directory holds, and the room left on its disk."""
    areas = {}
    if data_dir.is_dir():
        sizes = area_bytes([p for p in data_dir.iterdir() if p.is_dir()])
        areas = {(name,): size for name, size in sizes.items()}
    yield gauge(
        "lepton_storage_bytes",
        "Bytes stored under each area of the server's data directory.",
        ("area",),
        areas,
    )
    if data_dir.is_dir():
        free = GaugeMetricFamily(
            "lepton_storage_free_bytes",
            "Bytes free on the file system of the server's data directory.",
        )
        free.add_metric([], shutil.disk_usage(data_dir).free)
        yield free


class _Sources(Collector):
    """Reads the sources at each scrape; a family several sources add to is exposed once."""

    def __init__(self, sources: Sequence[MetricSource]) -> None:
        self._sources = sources

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for source in self._sources:
            try:
                produced = list(source())
            except Exception:  # one source's fault leaves the others' metrics scraped
                log.exception("a metrics source failed")
                continue
            for family in produced:
                known = families.setdefault(family.name, family)
                if known is not family:
                    known.samples.extend(family.samples)
        return families.values()

    def describe(self) -> Iterable[Metric]:
        return ()  # read at scrape time only: their names are not known in advance


class ServerMetrics:
    """The metrics of one server process: the call counters its handlers update, and the
    sources read at each scrape, served on one HTTP endpoint."""

    def __init__(self, sources: Sequence[MetricSource] = (), shared: Path | None = None) -> None:
        # A `_created` series beside each counter doubles what is scraped for nothing asked.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        if shared is None:
            self.calls = RpcMetrics(self.registry)
        else:
            # Several processes serve the port: each counts its own calls in `shared`, and
            # this endpoint adds them up.
            share_counters(shared)
            self.calls = RpcMetrics(None)
            MultiProcessCollector(self.registry, path=str(shared))
        ProcessCollector(registry=self.registry)
        self.registry.register(_Sources(sources))
        self._http: Any = None

    def serve(self, address: str) -> str:
        """Serves `/metrics` on `address` (HOST:PORT, port 0 for any); returns the bound
        HOST:PORT."""
        host, _, port = address.rpartition(":")
        self._http, _thread = start_http_server(int(port), host or "0.0.0.0", self.registry)
        return f"{host or '0.0.0.0'}:{self._http.server_port}"

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

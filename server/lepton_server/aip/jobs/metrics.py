"""The jobs of a layer as a metric family (spec/general.md §11), read at each scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from lepton.type.v1 import job_pb2
from lepton_server.aip.jobs.runner import JobRunner
from lepton_server.runtime.metrics import MetricSource, gauge

# JOB_STATE_RUNNING -> "RUNNING": the states as the contract names them, without the prefix.
_STATES = {
    number: name.removeprefix("JOB_STATE_")
    for name, number in job_pb2.JobState.items()
    if number != job_pb2.JOB_STATE_UNSPECIFIED
}
_LABELS = ("layer", "kind", "state", "tenant")


def job_metrics(layer: str, runner: JobRunner, tenant: str = "") -> MetricSource:
    """`lepton_jobs{layer, kind, state, tenant}`: the jobs `runner` keeps for `tenant` ("" for
    the default tenant, which Prometheus reads as no label), every state of each kind present
    (zero included, so a rate or an alert sees a state empty out)."""

    def collect() -> Iterator[Metric]:
        counts = runner.counts()
        kinds = {kind for kind, _ in counts} | set(runner.kinds)
        values = {
            (layer, kind, name, tenant): counts.get((kind, number), 0)
            for kind in kinds
            for number, name in _STATES.items()
        }
        yield gauge("lepton_jobs", "Jobs kept by the server, by state.", _LABELS, values)

    return collect

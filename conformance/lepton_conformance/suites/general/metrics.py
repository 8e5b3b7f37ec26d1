"""The metrics profile (spec/general.md §11, spec/inference.md INF-075): a target's Prometheus
endpoint, given with `--metrics-url`, read with the Prometheus client library's own parser
before and after calls the case makes, so what a call did to each count is what is checked."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

import grpc
from prometheus_client.parser import text_string_to_metric_families

from lepton.discovery.v1 import discovery_service_pb2 as discovery_pb
from lepton.inference.v1 import inference_service_pb2 as inference_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList, Profile
from lepton_conformance.harness.target import DISCOVERY_SERVICE, TargetOptions
from lepton_conformance.suites.general.probes import GET_SERVER_INFO, NOT_PROTOBUF, raw_call
from lepton_conformance.suites.inference import oip

CONTENT_TYPE = "text/plain; version=0.0.4"
# The conformance model set's (spec/inference.md §9) model every metrics case infers with.
MODEL = "add_sub_fp32"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _given(options: TargetOptions) -> str | None:
    if options.metrics_url is None:
        return "no --metrics-url: the target's metrics were not named"
    return None


METRICS = Profile(
    "metrics",
    "Prometheus metrics: calls by the status their client received, models under Triton's names",
    applies=lambda _info: None,
    requires=_given,
)
CASES = CaseList()


def scrape(ctx: CaseContext) -> tuple[str, Samples]:
    """The Content-Type and every sample of the target's metrics, by name and labels."""
    try:
        with urllib.request.urlopen(ctx.options.metrics_url, timeout=ctx.timeout) as response:
            content_type = response.headers.get("Content-Type", "")
            text = response.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        raise AssertionError(f"GET {ctx.options.metrics_url} failed: {exc}") from exc
    samples: Samples = {}
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples[s.name, frozenset(s.labels.items())] = s.value
    except ValueError as exc:
        raise AssertionError(f"the metrics are not Prometheus text format: {exc}") from exc
    return content_type, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def _growth(ctx: CaseContext, calls: Callable[[], None]) -> Callable[..., float]:
    """Runs `calls` between two scrapes; how much a sum of samples grew across them."""
    _, before = scrape(ctx)
    calls()
    _, after = scrape(ctx)
    return lambda name, **labels: total(after, name, **labels) - total(before, name, **labels)


@CASES.case(METRICS, "exposition-is-prometheus-text", "GEN-100")
def exposition(ctx: CaseContext) -> None:
    """GET /metrics answers Prometheus text format 0.0.4 that the Prometheus parser reads."""
    expect.holds(
        ctx.options.metrics_url.rstrip("/").endswith("/metrics"),
        "the metrics URL's path to be /metrics",
        ctx.options.metrics_url,
    )
    content_type, samples = scrape(ctx)
    expect.holds(content_type.startswith(CONTENT_TYPE), CONTENT_TYPE, content_type)
    expect.holds(bool(samples), "at least one sample", "none")


@CASES.case(METRICS, "calls-counted-by-status", "GEN-101")
def calls_by_status(ctx: CaseContext) -> None:
    """A call that succeeds is counted under OK; one that fails (a request that does not parse)
    under InvalidArgument, never under OK."""
    ctx.require_service(DISCOVERY_SERVICE)

    def calls() -> None:
        raw_call(ctx, GET_SERVER_INFO, discovery_pb.GetServerInfoRequest().SerializeToString())
        expect.fails_with(
            lambda: raw_call(ctx, GET_SERVER_INFO, NOT_PROTOBUF, metadata=ctx.metadata),
            grpc.StatusCode.INVALID_ARGUMENT,
        )

    grew = _growth(ctx, calls)
    labels = {"grpc_service": DISCOVERY_SERVICE, "grpc_method": "GetServerInfo"}
    # At least: a call an earlier case gave up on (its deadline passed) may end meanwhile.
    for code in ("OK", "InvalidArgument"):
        got = grew("grpc_server_handled_total", grpc_code=code, **labels)
        expect.holds(got >= 1, f"grpc_server_handled_total{{grpc_code={code!r}}} to grow", str(got))


@CASES.case(METRICS, "model-counters-match-statistics", "INF-075", "INF-060")
def model_counters(ctx: CaseContext) -> None:
    """Two inferences and one refused raise nv_inference_request_success by two,
    nv_inference_request_failure by one and nv_inference_count by their batch; every counter
    agrees with ModelStatistics."""
    client = oip.client(ctx)  # not applicable to a target that serves no inference
    ones = oip.tensor("INPUT0", "FP32", [1.0] * 32, [2, 16])
    good = oip.request(MODEL, [ones, oip.Tensor("INPUT1", "FP32", ones.array)])
    # INPUT1 missing: refused by every OIP server.
    bad = oip.request(MODEL, [ones])

    def calls() -> None:
        for _ in range(2):
            expect.succeeds(lambda: client.infer(good), f"ModelInfer of {MODEL}")
        expect.fails(lambda: client.infer(bad), "ModelInfer without INPUT1")

    grew = _growth(ctx, calls)
    model = {"model": MODEL}
    # At least: a call an earlier case gave up on (its deadline passed) may end meanwhile.
    for name, wanted in (
        ("nv_inference_request_success", 2),
        # The refused request passed model lookup: it reached the model (INF-061).
        ("nv_inference_request_failure", 1),
        ("nv_inference_count", 4),
    ):
        got = grew(name, **model)
        expect.holds(got >= wanted, f"{name} to grow by {wanted}", str(got))
    # Each counter lies between what ModelStatistics reported just before and just after.
    request = inference_pb.ModelStatisticsRequest(name=MODEL)
    before = expect.succeeds(lambda: client.call("ModelStatistics", request), "ModelStatistics")
    _, now = scrape(ctx)
    after = expect.succeeds(lambda: client.call("ModelStatistics", request), "ModelStatistics")
    counters = (
        ("nv_inference_request_success", lambda s: s.inference_stats.success.count),
        ("nv_inference_request_failure", lambda s: s.inference_stats.fail.count),
        ("nv_inference_count", lambda s: s.inference_count),
        ("nv_inference_exec_count", lambda s: s.execution_count),
    )
    later = {(s.name, s.version): s for s in after.model_stats}
    for stats in before.model_stats:
        version = {"model": stats.name, "version": stats.version}
        for name, counted in counters:
            low, high = counted(stats), counted(later.get((stats.name, stats.version), stats))
            got = total(now, name, **version)
            expect.holds(low <= got <= high, f"{name}{version} in [{low}, {high}]", str(got))

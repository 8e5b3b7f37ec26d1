"""The suite finds what a target serves without anything optional: on a server with neither
reflection nor DiscoveryService it finds the inference service by a probe call and runs the
inference cases; a service the vendor states is taken as stated; an extension is tested when it
is listed or answers its probe, and skipped only when neither."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lepton_conformance import cli
from lepton_conformance.harness.case import Outcome, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import discover
from lepton_conformance.harness.runner import run
from lepton_conformance.harness.target import (
    PROBE,
    STATED,
    FeatureFinding,
    TargetInfo,
    TargetOptions,
)
from lepton_conformance.suites.inference import oip

# A plain OIP server, as Triton or MLServer is: the reference server without reflection and
# DiscoveryService (a mutant of GEN-030 and GEN-032).
LAUNCHER = [
    sys.executable,
    str(Path(__file__).resolve().parents[1] / "mutants" / "serve.py"),
    "reflection-and-discovery-absent",
]
OIP = "inference.GRPCInferenceService"
LEPTON = "lepton.inference.v1.InferenceService"
DATASETS = "lepton.data.v1.DatasetService"
LIMIT = 80 * 1024 * 1024  # stated, so that the oversized-request case runs too


@pytest.fixture
def plain_server(server_factory, model_repository):
    return server_factory(
        "--services",
        "inference",
        "--model-repository",
        str(model_repository),
        "--max-message-bytes",
        str(LIMIT),
        launcher=LAUNCHER,
    )


def test_inference_found_by_probe_and_every_inference_case_runs(plain_server):
    result = run(
        TargetOptions(plain_server.address, message_limit=LIMIT),
        profiles=["inference-core", "inference-extended"],
    )
    assert result.info.services == frozenset()
    assert result.info.found[OIP] == (PROBE,)
    assert result.info.found[LEPTON] == (PROBE,)
    outcomes = {r.case.id: r.outcome for r in result.results}
    assert set(outcomes.values()) == {Outcome.PASS}, {
        case: outcome for case, outcome in outcomes.items() if outcome != Outcome.PASS
    }
    probed = result.info.optional_features
    assert {name: (f.listed, f.implemented) for name, f in probed.items()} == dict.fromkeys(
        ("streaming", "statistics", "model_repository"), (True, True)
    )


def test_a_service_the_server_lacks_is_absent_by_its_probe(plain_server):
    options = TargetOptions(plain_server.address)
    with options.open_channel() as channel:
        info = discover(channel, options)
    assert not info.serves(DATASETS)
    assert info.probes[DATASETS] == "ListDatasets: UNIMPLEMENTED"


def test_a_stated_service_is_served_without_a_probe(plain_server):
    options = TargetOptions(plain_server.address, services=(DATASETS,), inference_service="oip")
    with options.open_channel() as channel:
        info = discover(channel, options)
    assert info.found[DATASETS] == (STATED,)
    assert DATASETS not in info.probes
    assert info.found[OIP] == (PROBE, STATED)
    record = json.loads(json.dumps(info.to_json()))
    assert record["services"][DATASETS] == [STATED]
    assert record["probed_features"]["streaming"]["implemented"] is True


def _context_with(listed: bool, implemented: bool) -> CaseContext:
    evidence = "ModelStatistics: " + ("OK" if implemented else "UNIMPLEMENTED")
    finding = FeatureFinding("statistics", OIP, listed, implemented, evidence)
    info = TargetInfo(optional_features={"statistics": finding})
    return CaseContext(TargetOptions("127.0.0.1:1"), info, channel=None)


def test_an_extension_neither_listed_nor_implemented_skips_its_cases():
    with pytest.raises(Skipped, match="does not implement the 'statistics' extension"):
        oip.require_extension(_context_with(listed=False, implemented=False), "statistics")


@pytest.mark.parametrize(("listed", "implemented"), [(True, False), (False, True), (True, True)])
def test_an_extension_listed_or_implemented_is_tested(listed, implemented):
    oip.require_extension(_context_with(listed, implemented), "statistics")


def test_service_flag_is_repeatable():
    options = cli._parser().parse_args(
        ["run", "--target", "127.0.0.1:1", "--service", OIP, "--service", DATASETS]
    )
    assert options.service == [OIP, DATASETS]

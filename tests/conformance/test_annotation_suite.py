"""The annotation-core profile against the reference server (`lepton serve --services
data,annotation,inference` with the conformance model set): it passes every case with a token
and three annotator tokens of principals of their own; the cases that need more principals
than a run gives are reported as not run, never passed; without an inference layer the
prediction-job cases do not apply, and without the model set they are not run; and the CLI
takes `--annotator-token` and keeps the tokens out of its reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.conformance_cli import conformance_cli

from lepton_conformance.harness import catalog
from lepton_conformance.harness.case import Outcome
from lepton_conformance.harness.runner import Standing, run
from lepton_conformance.harness.target import TargetOptions

PROFILE = "annotation-core"
TOKEN = "annotation-suite-token"
ANNOTATORS = ("annotator-token-1", "annotator-token-2", "annotator-token-3")
PRINCIPALS = {
    TOKEN: "owner@example.com",
    ANNOTATORS[0]: "ann@example.com",
    ANNOTATORS[1]: "bob@example.com",
    ANNOTATORS[2]: "cyd@example.com",
}
# The cases that need annotator principals besides --token's, with how many.
MULTI_PRINCIPAL = {
    "annotation-core.leases.overlap-between-principals": 2,
    "annotation-core.leases.expired-lease-frees-the-place": 1,
    "annotation-core.reviews.verdicts-mark-the-annotation-and-reject-the-task": 1,
    "annotation-core.reviews.refusals-and-listing": 1,
    "annotation-core.reviews.self-review-needs-another-principal": 1,
    "annotation-core.agreement.golden-sets-of-classes-and-ratings": 3,
    "annotation-core.agreement.kappa-is-chance-corrected": 3,
    "annotation-core.agreement.box-f1-matches-within-class-by-iou": 3,
    "annotation-core.agreement.ground-truth-is-the-reference-not-a-rater": 3,
    "annotation-core.agreement.task-filter-and-schema-order": 3,
}
PREDICTION_JOBS = "data.annotation.prediction_jobs"
MODEL_SET = (
    "the conformance model set (lepton-conformance models) loaded in the inference service "
    "the target's prediction jobs call"
)
# Without credentials the reviewer is the one principal there is.
NEED_NO_CREDENTIALS = {
    "annotation-core.reviews.verdicts-mark-the-annotation-and-reject-the-task",
    "annotation-core.reviews.refusals-and-listing",
    "annotation-core.reviews.self-review-needs-another-principal",
}


def _needs(count: int) -> str:
    return f"--token and {count} --annotator-token (each of a principal of its own)"


def _failed(result) -> set[str]:
    return {r.case.id for r in result.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)}


def _tokens(tmp_path: Path) -> Path:
    tokens = tmp_path / "annotation-tokens"
    tokens.write_text("".join(f"{token} {who}\n" for token, who in PRINCIPALS.items()))
    return tokens


@pytest.fixture
def annotation_server(server_factory, model_repository, tmp_path: Path):
    """The reference server hosting the data, annotation and inference layers, the last with
    the conformance model set (for prediction jobs), with four principals."""
    return server_factory(
        "--services",
        "data,annotation,inference",
        "--model-repository",
        str(model_repository),
        "--auth-tokens",
        str(_tokens(tmp_path)),
    )


@pytest.mark.timeout(300)
def test_reference_server_passes_every_annotation_core_case(annotation_server):
    options = TargetOptions(annotation_server.address, token=TOKEN, annotator_tokens=ANNOTATORS)
    result = run(options, profiles=[PROFILE])
    assert _failed(result) == set(), [r.message for r in result.results if r.message]
    assert result.count(Outcome.SKIP) == 0
    assert len(result.results) == len([c for c in catalog.cases() if c.profile == PROFILE])
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.CERTIFIED
    assert result.exit_status == 0


@pytest.mark.timeout(300)
def test_cases_needing_more_principals_than_given_do_not_run(annotation_server):
    options = TargetOptions(annotation_server.address, token=TOKEN, annotator_tokens=ANNOTATORS[:1])
    result = run(options, profiles=[PROFILE], case_pattern=r"\.(leases|reviews|agreement)\.")
    assert _failed(result) == set()
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.INCOMPLETE
    wanted = {case: _needs(count) for case, count in MULTI_PRINCIPAL.items() if count > 1}
    assert dict(verdict.missing) == wanted
    skipped = {r.case.id for r in result.results if r.outcome == Outcome.SKIP}
    assert skipped == set(wanted)


@pytest.mark.timeout(300)
def test_a_server_without_credentials_has_one_principal(server_factory):
    # Every case that needs one principal passes; those needing more are missing, not passed.
    server = server_factory("--services", "data,annotation")
    result = run(TargetOptions(server.address), profiles=[PROFILE])
    assert _failed(result) == set(), [r.message for r in result.results if r.message]
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.INCOMPLETE
    wanted = {
        case: _needs(count)
        for case, count in MULTI_PRINCIPAL.items()
        if case not in NEED_NO_CREDENTIALS
    }
    assert dict(verdict.missing) == wanted
    assert result.exit_status == 3


@pytest.mark.timeout(300)
def test_prediction_job_cases_do_not_apply_without_an_inference_layer(server_factory, tmp_path):
    # A server without inference lists no data.annotation.prediction_jobs and answers its
    # RPCs UNIMPLEMENTED: the cases do not apply, and the verdict says what it does not cover.
    server = server_factory(
        "--services", "data,annotation", "--auth-tokens", str(_tokens(tmp_path))
    )
    options = TargetOptions(server.address, token=TOKEN, annotator_tokens=ANNOTATORS)
    result = run(options, profiles=[PROFILE], case_pattern=r"\.(prediction-jobs|discovery)\.")
    assert _failed(result) == set()
    skipped = [r for r in result.results if r.outcome == Outcome.SKIP]
    assert skipped
    assert {r.case.id.split(".")[1] for r in skipped} == {"prediction-jobs"}
    assert {r.not_applicable_feature for r in skipped} == {PREDICTION_JOBS}
    (verdict,) = result.verdicts
    assert verdict.missing == ()
    assert PREDICTION_JOBS in verdict.uncovered


@pytest.mark.timeout(300)
def test_prediction_jobs_without_the_model_set_are_not_run(server_factory, tmp_path):
    # An inference layer without the conformance model set: the jobs the cases need cannot
    # run, so those cases are missing from the run (INCOMPLETE), never passed or failed.
    server = server_factory(
        "--services", "data,annotation,inference", "--auth-tokens", str(_tokens(tmp_path))
    )
    options = TargetOptions(server.address, token=TOKEN, annotator_tokens=ANNOTATORS)
    result = run(options, profiles=[PROFILE], case_pattern=r"\.prediction-jobs\.")
    assert _failed(result) == set()
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.INCOMPLETE
    assert verdict.missing
    assert {needs for _, needs in verdict.missing} == {MODEL_SET}


@pytest.mark.timeout(300)
def test_cli_takes_annotator_tokens_and_reports_none_of_them(annotation_server, tmp_path: Path):
    annotators = [word for token in ANNOTATORS for word in ("--annotator-token", token)]
    completed = conformance_cli(
        "run",
        "--target",
        annotation_server.address,
        "--token",
        TOKEN,
        *annotators,
        "--profile",
        PROFILE,
        "--report-dir",
        str(tmp_path),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = (tmp_path / "results.json").read_text()
    results = json.loads(text)
    assert results["summary"]["profiles"][PROFILE]["verdict"] == "CERTIFIED"
    assert results["run"]["annotator_tokens_given"] == 3
    command = results["run"]["command"]
    assert "--annotator-token ANNOTATOR-TOKEN-1" in command
    assert "--annotator-token ANNOTATOR-TOKEN-3" in command
    assert not any(token in text for token in PRINCIPALS)
    assert conformance_cli("verify", str(tmp_path)).returncode == 0


def test_cli_refuses_annotator_tokens_without_a_token():
    completed = conformance_cli(
        "run", "--target", "127.0.0.1:1", "--annotator-token", ANNOTATORS[0]
    )
    assert completed.returncode == 2
    assert "--annotator-token goes with --token" in completed.stdout


def test_cli_help_documents_annotator_tokens():
    completed = conformance_cli("run", "--help")
    assert "--annotator-token" in completed.stdout

"""The conformance suite has teeth: the reference server passes it, every mutant is caught by
exactly the cases expected, a do-nothing stub fails it, and every MUST is traced to a case."""

from __future__ import annotations

import json
import secrets
import shlex
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mutants import MUTANTS
from support.conformance_cli import conformance_cli
from support.servers import SERVE, ServerProcess, start_server
from support.stub_server import serve_stub

from lepton_conformance.harness import catalog, coverage
from lepton_conformance.harness.case import Case, Outcome
from lepton_conformance.harness.known_failing import KnownFailure
from lepton_conformance.harness.requirements import load_requirements
from lepton_conformance.harness.runner import Standing, run, run_case
from lepton_conformance.harness.target import TargetOptions
from lepton_server.runtime.encryption import KEY_SUFFIX, MAGIC

RESTARTABLE = str(Path(__file__).resolve().parents[1] / "support" / "restartable.py")
MUTANT_LAUNCHER = [
    sys.executable,
    str(Path(__file__).resolve().parents[1] / "mutants" / "serve.py"),
]
LIMIT = 8 * 1024 * 1024  # a small limit keeps the oversize case cheap
TOKEN = "mutant-suite-token"
# Principals of their own for the annotation-core cases of several annotators.
ANNOTATOR_TOKENS = ("suite-annotator-1", "suite-annotator-2", "suite-annotator-3")
# A principal that may only read (GEN-015), for the roles profile.
READER_TOKEN = "suite-reader"
READER_LINE = f"{READER_TOKEN} reader roles=reader\n"
# A principal of a second tenant (spec/general.md "Tenants"), for the tenants profile; its
# lines make every server of these tests mount each layer once per tenant.
OTHER_TENANT_TOKEN = "suite-other-tenant"
TOKEN_LINES = READER_LINE + f"{OTHER_TENANT_TOKEN} other-tenant-admin tenant=globex\n"
DEFAULT_SERVER_LIMIT = 80 * 1024 * 1024  # `lepton serve` without --max-message-bytes
# An Arrow Flight endpoint on any free port, so that the data.flight cases run (the server
# advertises the host it was given, which the suite reaches).
FLIGHT = ("--flight-address", "127.0.0.1:0")
METRICS = ("--metrics-address", "127.0.0.1:0")


def _failed(result) -> set[str]:
    return {r.case.id for r in result.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)}


@pytest.fixture
def files(tmp_path) -> Path:
    """A directory the servers serve for imports and exports, and the suite writes below."""
    root = tmp_path / "files"
    root.mkdir()
    return root


def _file_root(files: Path) -> str:
    return f"file://{files}/"


@dataclass(frozen=True)
class Reference:
    """The reference server, where it stores, and the command that restarts it."""

    server: ServerProcess
    storage_dir: Path
    restart_command: str

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def metrics_url(self) -> str | None:
        return self.server.metrics_url


@pytest.fixture
def reference(model_repository, files, tmp_path) -> Iterator[Reference]:
    """The reference server as a deployment runs it: bearer tokens required, an Arrow Flight
    endpoint, a file root, a stated message limit, data encrypted at rest, and two processes
    on one port (the suite's connections land on both, so a worker's local data plane and
    its forwarding to the primary pass every case too). It runs under a supervisor the
    encrypted-storage cases restart it through (support/restartable.py)."""
    tokens = tmp_path / "reference-tokens"
    tokens.write_text("".join(f"{token}\n" for token in (TOKEN, *ANNOTATOR_TOKENS)) + TOKEN_LINES)
    keys = tmp_path / "reference-keys"
    keys.write_text(f"k1 {secrets.token_hex(32)}\n")
    keys.chmod(0o600)
    supervisor = str(tmp_path / "supervisor")
    supervised = [sys.executable, RESTARTABLE, "supervise", supervisor, "--"]
    data_dir = tmp_path / "reference-data"
    server = start_server(
        [
            "--workers",
            "2",
            "--max-message-bytes",
            str(LIMIT * 10),
            "--model-repository",
            str(model_repository),
            "--file-root",
            str(files),
            "--auth-tokens",
            str(tokens),
            "--encryption-key-file",
            str(keys),
            *FLIGHT,
            *METRICS,
        ],
        data_dir,
        launcher=[*supervised, *SERVE],
    )
    yield Reference(
        server, data_dir, shlex.join([sys.executable, RESTARTABLE, "restart", supervisor])
    )
    server.stop()


def _complete_run(reference: Reference, files: Path) -> TargetOptions:
    """Everything the suite needs to run every case against the reference server."""
    return TargetOptions(
        reference.address,
        message_limit=LIMIT * 10,
        file_root=_file_root(files),
        token=TOKEN,
        annotator_tokens=ANNOTATOR_TOKENS,
        reader_token=READER_TOKEN,
        other_tenant_token=OTHER_TENANT_TOKEN,
        metrics_url=reference.metrics_url,
        storage_dir=reference.storage_dir,
        restart_command=reference.restart_command,
    )


# Every profile of every layer in one run: longer than the default per-test limit.
@pytest.mark.timeout(300)
def test_reference_server_passes_every_case(reference, files):
    result = run(_complete_run(reference, files))
    assert _failed(result) == set()
    assert result.count(Outcome.SKIP) == 0
    assert all(v.standing is Standing.CERTIFIED for v in result.verdicts)
    assert result.exit_status == 0
    # What the cases left stored (most delete what they made) is sealed, each object with
    # its key record.
    stored = [path for area in SEALED_AREAS for path in _objects(reference.storage_dir / area)]
    assert stored
    for path in stored:
        assert path.read_bytes()[: len(MAGIC)] == MAGIC, path
        assert Path(f"{path}{KEY_SUFFIX}").is_file(), path


# Where the reference server keeps dataset segments, registry and edge artifacts, and
# training checkpoints and models.
SEALED_AREAS = ("data/datasets", "registry/blobs", "edge/artifacts/blobs", "training/blobs")


def _objects(root: Path) -> list[Path]:
    """The stored objects below `root`: not key records, digest caches or staging files."""
    return [
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix not in {KEY_SUFFIX, ".leaves"}
        and ".staging" not in path.parts
    ]


# Every profile that applies, as in a full run: longer than the default per-test limit.
@pytest.mark.timeout(300)
def test_reference_server_metrics_are_certified(server_factory, model_repository):
    """One process with --metrics-address: the metrics profile runs, and passes, only when
    the run names the endpoint."""
    server = server_factory("--model-repository", str(model_repository), *METRICS)
    result = run(TargetOptions(server.address, metrics_url=server.metrics_url))
    ran = {r.case.id for r in result.results if r.case.profile == "metrics"}
    assert len(ran) == 3
    assert _failed(result) == set(), [r.got for r in result.results if r.case.id in ran]
    metrics = next(v for v in result.verdicts if v.profile == "metrics")
    assert metrics.standing is Standing.CERTIFIED
    unnamed = run(TargetOptions(server.address), profiles=["general"])
    assert "metrics" not in {r.case.profile for r in unnamed.results}


def test_a_run_without_a_token_leaves_general_incomplete(inference_server):
    # The server requires no token either, so every call the cases make succeeds; only the
    # auth cases cannot run.
    options = TargetOptions(inference_server.address, message_limit=DEFAULT_SERVER_LIMIT)
    result = run(options, profiles=["general"])
    (verdict,) = result.verdicts
    assert _failed(result) == set()
    assert verdict.standing is Standing.INCOMPLETE
    assert not verdict.certified
    assert dict(verdict.missing) == dict.fromkeys(
        (
            "general.auth.missing-token-is-unauthenticated",
            "general.auth.invalid-token-is-unauthenticated",
            "general.auth.valid-token-is-accepted",
            "general.auth.discovery-needs-no-token",
        ),
        "--token",
    )
    assert result.exit_status == 3


def test_a_run_without_a_message_limit_leaves_general_incomplete(reference):
    result = run(TargetOptions(reference.address, token=TOKEN), profiles=["general"])
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.INCOMPLETE
    assert {needs for _, needs in verdict.missing} == {"--message-limit BYTES"}


def test_a_run_without_a_file_root_leaves_data_core_incomplete(reference):
    options = TargetOptions(reference.address, message_limit=LIMIT * 10, token=TOKEN)
    result = run(options, profiles=["data-core"])
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.INCOMPLETE
    assert verdict.missing
    assert {needs for _, needs in verdict.missing} == {"--file-root file:///DIR/"}
    assert result.exit_status == 3


def test_a_case_filtered_run_is_never_a_certificate(reference, files):
    result = run(_complete_run(reference, files), case_pattern=r"^general\.health\.")
    assert _failed(result) == set()
    assert {r.outcome for r in result.results} == {Outcome.PASS}
    assert {v.standing for v in result.verdicts} == {Standing.INCOMPLETE}
    assert all(v.filtered for v in result.verdicts)
    assert result.exit_status == 3


def test_reference_edge_fleet_without_auth_is_certified(server_factory):
    # A fleet server alone, requiring no operator token: device tokens still guard the agent
    # side, and the suite plays its devices itself.
    server = server_factory("--services", "edge")
    result = run(TargetOptions(server.address), profiles=["edge-fleet"])
    assert _failed(result) == set()
    (verdict,) = result.verdicts
    assert verdict.standing is Standing.CERTIFIED


@pytest.mark.timeout(300)
def test_reference_server_with_auth_and_tls_passes(
    server_factory, model_repository, tmp_path, files
):
    from support.certificates import CertificateAuthority  # noqa: PLC0415

    ca = CertificateAuthority(tmp_path)
    issued = ca.issue("server", server=True)
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(f"{token}\n" for token in ("suite-token", *ANNOTATOR_TOKENS)))
    server = server_factory(
        "--tls-cert",
        str(issued.cert),
        "--tls-key",
        str(issued.key),
        "--auth-tokens",
        str(tokens),
        "--model-repository",
        str(model_repository),
        "--max-message-bytes",
        str(LIMIT * 10),
        "--file-root",
        str(files),
        *FLIGHT,
    )
    options = TargetOptions(
        server.address,
        tls=True,
        ca_file=ca.cert,
        token="suite-token",
        annotator_tokens=ANNOTATOR_TOKENS,
        message_limit=LIMIT * 10,
        file_root=_file_root(files),
    )
    result = run(options)
    assert _failed(result) == set()
    assert all(v.certified for v in result.verdicts)
    assert result.exit_status == 0


# A mutant that never ends a job makes the suite wait out its cases' own limits (60 s each).
@pytest.mark.timeout(300)
# Those of the encrypted-storage profile run under a supervisor (test_encrypted_storage.py).
@pytest.mark.parametrize(
    "name",
    sorted(n for n, m in MUTANTS.items() if not m.agent and "encrypted-storage" not in m.profiles),
)
def test_mutant_is_caught_by_exactly_the_expected_cases(
    server_factory, model_repository, tmp_path, files, name
):
    mutant = MUTANTS[name]
    tokens = tmp_path / "tokens"
    # A second tenant only for the mutants of the tenants profile: the reference server's
    # full run covers every other profile with tenants, and a tenant's instances cost each
    # server's start.
    tenanted = "tenants" in mutant.profiles
    lines = TOKEN_LINES if tenanted else READER_LINE
    tokens.write_text("".join(f"{token}\n" for token in (TOKEN, *ANNOTATOR_TOKENS)) + lines)
    server = server_factory(
        "--max-message-bytes",
        str(LIMIT * 10),
        "--model-repository",
        str(model_repository),
        "--auth-tokens",
        str(tokens),
        "--file-root",
        str(files),
        *FLIGHT,
        *METRICS,  # so a mutant faces the metrics profile too
        *mutant.server_args,
        launcher=[*MUTANT_LAUNCHER, name],
    )
    # With a token the auth cases run too, so every mutant faces the whole general profile;
    # with a file root the import and export cases run too.
    result = run(
        TargetOptions(
            server.address,
            message_limit=LIMIT * 10,
            token=TOKEN,
            annotator_tokens=ANNOTATOR_TOKENS,
            file_root=_file_root(files),
            metrics_url=server.metrics_url,
            reader_token=READER_TOKEN,
            other_tenant_token=OTHER_TENANT_TOKEN if tenanted else None,
        ),
        profiles=mutant.profiles,
    )
    assert _failed(result) == mutant.caught_by, mutant.breaks
    must = {r.case.id for r in result.results if r.case.level == "MUST"}
    assert mutant.caught_by & must, "a mutant must break a MUST"
    assert result.exit_status == 1


def test_there_are_at_least_ten_mutants():
    assert len(MUTANTS) >= 10


def test_stub_answering_empty_messages_passes_under_ten_percent_of_each_profile():
    with serve_stub() as address:
        result = run(TargetOptions(address))
    ran = {v.profile for v in result.verdicts}
    assert {
        "general",
        "oip",
        "inference-core",
        "inference-extended",
        "data-core",
        "annotation-core",
        "training-core",
        "edge-fleet",
    } <= ran
    for profile in ran:
        mine = [r for r in result.results if r.case.profile == profile]
        passed = [r.case.id for r in mine if r.outcome == Outcome.PASS]
        assert len(passed) / len(mine) < 0.10, (profile, passed)
    assert not any(v.certified for v in result.verdicts)
    assert result.exit_status == 1


def test_every_must_requirement_has_a_case_or_is_pending():
    rows = coverage.trace(load_requirements(), catalog.cases())
    assert coverage.problems(rows) == []


def test_every_case_cites_requirements_the_spec_defines():
    requirements = load_requirements()
    for case in catalog.cases():
        assert set(case.requirements) <= set(requirements), case.id
        levels = {requirements[r].level for r in case.requirements}
        assert case.level == min(levels, key=("MUST", "SHOULD", "MAY").index)


def test_harness_fault_is_error_not_fail():
    def broken(_ctx):
        raise KeyError("bug in the suite")

    case = Case("general.test.broken", "general", ("GEN-020",), "MUST", "broken", broken)
    result = run_case(case, ctx=None)
    assert result.outcome == Outcome.ERROR
    assert "KeyError" in result.got


MUTANT = "health-lies-about-unknown-services"
CAUGHT = "general.health.check-unknown-service"


@pytest.fixture
def lying_server(server_factory, model_repository):
    return server_factory(
        "--model-repository", str(model_repository), launcher=[*MUTANT_LAUNCHER, MUTANT]
    )


def test_known_failure_with_its_message_makes_the_run_pass(lying_server):
    known = {CAUGHT: KnownFailure(CAUGHT, "wanted NOT_FOUND")}
    result = run(TargetOptions(lying_server.address), profiles=["general"], known_failing=known)
    assert not result.verdicts[0].certified
    assert result.known_failing_problems == []
    assert result.exit_status == 0


# Every profile that applies, as in a full run: longer than the default per-test limit.
@pytest.mark.timeout(300)
def test_known_failure_with_another_message_fails_the_run(lying_server):
    known = {CAUGHT: KnownFailure(CAUGHT, "a message the case never prints")}
    result = run(TargetOptions(lying_server.address), known_failing=known)
    assert "failed differently" in result.known_failing_problems[0]
    assert result.exit_status == 1


# Every profile that applies, as in a full run: longer than the default per-test limit.
@pytest.mark.timeout(300)
def test_known_failure_that_passes_fails_the_run(reference, files):
    known = {CAUGHT: KnownFailure(CAUGHT, "wanted NOT_FOUND")}
    result = run(_complete_run(reference, files), known_failing=known)
    assert "passed" in result.known_failing_problems[0]
    assert result.exit_status == 1


@pytest.mark.timeout(300)
def test_cli_run_writes_the_three_reports_and_exits_zero(reference, files, tmp_path):
    completed = conformance_cli(
        "run",
        "--target",
        reference.address,
        "--report-dir",
        str(tmp_path),
        "--file-root",
        _file_root(files),
        "--token",
        TOKEN,
        *(word for token in ANNOTATOR_TOKENS for word in ("--annotator-token", token)),
        "--message-limit",
        str(LIMIT * 10),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "CERTIFIED" in completed.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"suite_version", "spec_version", "target", "summary", "cases"} <= set(results)
    case = results["cases"][0]
    assert {"id", "requirements", "level", "outcome", "wanted", "got", "duration_s"} <= set(case)
    verdicts = {name: p["verdict"] for name, p in results["summary"]["profiles"].items()}
    assert verdicts == dict.fromkeys(
        (
            "general",
            "oip",
            "inference-core",
            "inference-extended",
            "data-core",
            "data-processing",
            "annotation-core",
            "registry-core",
            "registry-serving",
            "training-core",
            "edge-fleet",
        ),
        "CERTIFIED",
    )
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert suites.find("testsuite").get("name") == "general"
    assert "**CERTIFIED**" in (tmp_path / "report.md").read_text()
    assert results["run"]["case_filter"] is None
    assert results["run"]["token_given"] is True
    assert len(results["run"]["case_set_sha256"]) == 64
    assert conformance_cli("verify", str(tmp_path)).returncode == 0


def test_cli_case_filtered_run_exits_three_and_says_it_is_no_certificate(reference, tmp_path):
    completed = conformance_cli(
        "run",
        "--target",
        reference.address,
        "--token",
        TOKEN,
        "--case",
        "^general[.]health[.]",
        "--report-dir",
        str(tmp_path),
    )
    assert completed.returncode == 3, completed.stdout + completed.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["run"]["case_filter"] == "^general[.]health[.]"
    assert {p["verdict"] for p in results["summary"]["profiles"].values()} == {"INCOMPLETE"}
    assert "it is not a certificate" in (tmp_path / "report.md").read_text()


# Every profile that applies, as in a full run: 80 s on a quiet machine, over the default
# per-test limit when the suite's other workers load it.
@pytest.mark.timeout(300)
def test_cli_run_against_a_mutant_exits_one(lying_server):
    server = lying_server
    completed = conformance_cli("run", "--target", server.address)
    assert completed.returncode == 1
    assert "NOT CERTIFIED" in completed.stdout
    assert CAUGHT in completed.stdout


def test_cli_rejects_a_known_failing_file_naming_an_unknown_case(reference, tmp_path):
    listing = tmp_path / "known"
    listing.write_text("general.no-such-case something\n")
    completed = conformance_cli(
        "run", "--target", reference.address, "--known-failing", str(listing)
    )
    assert completed.returncode == 2


def test_cli_list_and_trace_name_requirements():
    listed = conformance_cli("list")
    assert listed.returncode == 0
    assert "general.health.check-overall" in listed.stdout
    traced = conformance_cli("trace", "--check")
    assert traced.returncode == 0, traced.stdout
    assert "GEN-020" in traced.stdout

"""The encrypted-storage profile (spec/general.md §12, GEN-110 to GEN-112), for a target that
claims encryption at rest. It needs what only the operator of a test deployment can give:
the directory the target stores below (`--storage-dir`), which the suite searches for
plaintext and whose stored bytes it alters, and a command that restarts the target
(`--restart-command`), so what is read back comes from disk, not from memory."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pyarrow as pa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList, Profile
from lepton_conformance.harness.target import TargetOptions
from lepton_conformance.suites.data.dataset_checks import digest_hex
from lepton_conformance.suites.data.dataset_client import DatasetClient, table_of
from lepton_conformance.suites.data.table_digest import content_digest

DATASETS = "lepton.data.v1.DatasetService"
# Rows of random bytes: a compressor stores them as they are, so plaintext stays findable.
VALUE_BYTES = 64
ROWS = 16_384  # 1 MiB of values
# How long a restarted target may take to serve again.
RESTART_S = 120.0


def _given(options: TargetOptions) -> str | None:
    if options.storage_dir is None or options.restart_command is None:
        return "no --storage-dir and --restart-command: the target's storage was not given"
    return None


ENCRYPTED_STORAGE = Profile(
    "encrypted-storage",
    "Encryption at rest: no plaintext on disk, read-back after a restart, tampering detected",
    applies=lambda _info: None,
    requires=_given,
)
CASES = CaseList()

Snapshot = dict[Path, tuple[int, int]]


def _random_rows() -> pa.Table:
    values = [secrets.token_bytes(VALUE_BYTES) for _ in range(ROWS)]
    return pa.table({"id": pa.array(range(ROWS), pa.int64()), "value": pa.array(values)})


def _files(root: Path) -> Iterator[Path]:
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _snapshot(root: Path) -> Snapshot:
    """Each file's (size, modification time), to tell what a write changed."""
    found: Snapshot = {}
    for path in _files(root):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed meanwhile
            continue
        found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def _changed(before: Snapshot, after: Snapshot) -> list[Path]:
    return sorted(path for path, seen in after.items() if before.get(path) != seen)


def restart(ctx: CaseContext) -> None:
    """Run the restart command, then wait until the target's health check answers SERVING."""
    try:
        done = subprocess.run(
            ctx.options.restart_command,
            shell=True,
            capture_output=True,
            text=True,
            timeout=RESTART_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the restart command ran over {RESTART_S:g} s") from exc
    expect.holds(
        done.returncode == 0,
        "the restart command to exit 0",
        f"exit {done.returncode}: {done.stderr.strip()[-500:]}",
    )
    health = health_pb2_grpc.HealthStub(ctx.channel)
    deadline = time.monotonic() + RESTART_S
    while True:
        try:
            status = health.Check(
                health_pb2.HealthCheckRequest(),
                timeout=max(1.0, deadline - time.monotonic()),
                wait_for_ready=True,
            ).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError as error:
            if time.monotonic() >= deadline:
                raise AssertionError(f"the target did not serve again: {error}") from error
        if time.monotonic() >= deadline:
            raise AssertionError("the target did not report SERVING after its restart")
        time.sleep(0.2)


def _write(ctx: CaseContext, client: DatasetClient, name: str) -> tuple[pa.Table, str, Snapshot]:
    """Write random rows to `name`; the rows, the version's name and the storage as it was
    just before the write."""
    rows = _random_rows()
    before = _snapshot(ctx.options.storage_dir)
    version = client.write(name, rows)
    return rows, version.name, before


@CASES.case(ENCRYPTED_STORAGE, "no-plaintext-at-rest", "GEN-110")
def no_plaintext(ctx: CaseContext) -> None:
    """After a write of random rows, no file the write added or changed below the storage
    directory holds any row's bytes."""
    ctx.require_service(DATASETS)
    client = DatasetClient(ctx)
    with client.scratch() as name:
        rows, _, before = _write(ctx, client, name)
        changed = _changed(before, _snapshot(ctx.options.storage_dir))
        expect.holds(bool(changed), "the write to change a file below --storage-dir", "none")
        # Every 64th value: enough to find any stored run of rows, cheap on big files.
        needles = [v.as_py() for v in rows.column("value")[::64]]
        for path in changed:
            content = path.read_bytes()
            found = sum(1 for needle in needles if needle in content)
            expect.holds(found == 0, f"no row's bytes in {path}", f"{found} rows found")


@CASES.case(ENCRYPTED_STORAGE, "reads-back-after-restart", "GEN-111")
def reads_back(ctx: CaseContext) -> None:
    """A version written before a restart reads back after it with the same rows and the
    content digest it was committed with."""
    ctx.require_service(DATASETS)
    client = DatasetClient(ctx)
    with client.scratch() as name:
        rows, version, _ = _write(ctx, client, name)
        digest = digest_hex(client.version(version))
        expect.equal(digest, content_digest(rows), "the committed content digest")
        restart(ctx)
        read = client.read_table(version)
        expect.holds(read.equals(rows), "the rows written", f"{read.num_rows} other rows")
        expect.equal(digest_hex(client.version(version)), digest, "the digest after a restart")


@CASES.case(ENCRYPTED_STORAGE, "tampered-data-is-not-served", "GEN-112")
def tampered(ctx: CaseContext) -> None:
    """One byte is flipped in the middle of every file a write grew by at least half its
    rows' bytes; after a restart, reading the version answers DATA_LOSS [DATA_CORRUPTED] (or
    the rows as written, from a copy the target keeps elsewhere), never other rows; and the
    target still serves: a new version of the dataset writes and reads back."""
    ctx.require_service(DATASETS)
    client = DatasetClient(ctx)
    with client.scratch() as name:
        rows, version, before = _write(ctx, client, name)
        grown = [
            path
            for path, (size, _) in _snapshot(ctx.options.storage_dir).items()
            if size - before.get(path, (0, 0))[0] >= rows.nbytes // 2
        ]
        expect.holds(bool(grown), "a file that holds the rows written", "none grew enough")
        for path in grown:
            with path.open("r+b") as stored:
                middle = path.stat().st_size // 2
                stored.seek(middle)
                byte = stored.read(1)
                stored.seek(middle)
                stored.write(bytes([byte[0] ^ 0x5A]))
        restart(ctx)
        try:
            read = client.call("ReadVersion", pb.ReadVersionRequest(name=version))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.DATA_LOSS:
                raise Failed("DATA_LOSS [DATA_CORRUPTED]", expect.describe(error)) from None
            expect.check_error_info(error, "DATA_CORRUPTED")
        else:
            got = table_of(read)
            expect.holds(got.equals(rows), "DATA_LOSS or the rows as written", "other rows")
        fresh = _random_rows()
        written = client.write(name, fresh)
        expect.holds(
            client.read_table(written.name).equals(fresh),
            "a version written after the damage to read back",
            "other rows",
        )

"""Dataset segments encrypted at rest (`--encryption-key-file`, spec/general.md §12): no row is
stored in plaintext; versions read back unchanged after a restart, through ReadVersion and
Arrow Flight; a key rotation re-wraps data keys without rewriting segments; a tampered
segment, a missing key and a wrong key each get their error, never rows."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import grpc
import pyarrow as pa
import pytest
from pyarrow import flight
from support.servers import SERVE, ServerProcess, start_server
from support.status_details import error_info
from test_data_durability import _ipc, _read_all, _stub

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_server.data.table_digest import content_digest
from lepton_server.runtime.encryption import KEY_SUFFIX

MARKER = f"plaintext-marker-{secrets.token_hex(8)}"
FLIGHT = ["--flight-address", "127.0.0.1:0"]


def _key_file(path: Path, *names: str, keys: dict[str, str] | None = None) -> Path:
    keys = keys if keys is not None else {}
    for name in names:
        keys.setdefault(name, secrets.token_hex(32))
    path.write_text("".join(f"{name} {keys[name]}\n" for name in names))
    path.chmod(0o600)
    return path


def _rows(start: int, count: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + count), pa.int64()),
            "secret": pa.array([f"{MARKER}-{i}" for i in range(start, start + count)]),
        }
    )


def _serve(data_dir: Path, *args: str) -> ServerProcess:
    return start_server(["--services", "data", *FLIGHT, *args], data_dir)


def _write(stub, rows: pa.Table) -> resources.DatasetVersion:
    data = _ipc(rows)

    def messages():
        yield pb.WriteVersionRequest(
            header=pb.WriteVersionHeader(parent="datasets/secret", mode=resources.WRITE_MODE_APPEND)
        )
        for start in range(0, len(data), 1 << 20):
            yield pb.WriteVersionRequest(arrow_data=data[start : start + (1 << 20)])

    return stub.WriteVersion(messages(), timeout=60).version


def _segments(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "data" / "datasets").rglob("*.arrow"))


def _all_bytes(data_dir: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in data_dir.rglob("*") if p.is_file()]


def _check_versions(server: ServerProcess, expected: dict[str, pa.Table]) -> None:
    stub = _stub(server.address)
    client = flight.connect(server.flight_location)
    for name, rows in expected.items():
        version = stub.GetVersion(pb.GetVersionRequest(name=name), timeout=30).version
        read = _read_all(stub, name)
        assert read.equals(rows)
        assert content_digest(read) == version.content_digest.hex
        info = client.get_flight_info(
            flight.FlightDescriptor.for_path("secret", name.rsplit("/", 1)[1])
        )
        assert client.do_get(info.endpoints[0].ticket).read_all().equals(rows)


def _refusal(server: ServerProcess, name: str) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        _read_all(_stub(server.address), name)
    return raised.value.code(), error_info(raised.value).reason


def test_versions_are_encrypted_survive_restarts_and_a_key_rotation(tmp_path):
    data_dir = tmp_path / "data"
    keys = tmp_path / "keys"
    material: dict[str, str] = {}
    _key_file(keys, "k1", keys=material)
    server = _serve(data_dir, "--encryption-key-file", str(keys))
    stub = _stub(server.address)
    stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="secret"), timeout=30)
    first, second = _rows(0, 200_000), _rows(200_000, 1_000)
    expected = {_write(stub, first).name: first}
    expected[_write(stub, second).name] = pa.concat_tables([first, second])
    try:
        _check_versions(server, expected)
    finally:
        server.stop()

    # At rest: every segment has its key record, and no file holds a row's bytes.
    segments = _segments(data_dir)
    assert len(segments) == 2
    assert all(Path(f"{s}{KEY_SUFFIX}").is_file() for s in segments)
    for path, content in _all_bytes(data_dir):
        assert MARKER.encode() not in content, path
    before = {s: s.read_bytes() for s in segments}

    # Rotation: k2 first wraps what is written from now on; `lepton rekey` re-wraps the
    # older records; then k1 can leave the file.
    _key_file(keys, "k2", "k1", keys=material)
    server = _serve(data_dir, "--encryption-key-file", str(keys))
    try:
        third = _rows(201_000, 10)
        combined = pa.concat_tables([first, second, third])
        expected[_write(_stub(server.address), third).name] = combined
        rekeyed = subprocess.run(
            [*SERVE, "rekey", "--data-dir", str(data_dir), "--encryption-key-file", str(keys)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert "2 data keys re-wrapped, 1 already were" in rekeyed.stdout
        _check_versions(server, expected)  # while it serves, with both keys
    finally:
        server.stop()
    assert {s: s.read_bytes() for s in segments} == before  # no segment rewritten
    _key_file(keys, "k2", keys=material)
    server = _serve(data_dir, "--encryption-key-file", str(keys))
    try:
        _check_versions(server, expected)
    finally:
        server.stop()

    # The old key alone, another key under the new name, or none: refused, never rows.
    last = list(expected)[-1]
    for key_file, wanted in (
        (_key_file(tmp_path / "old", "k1", keys=dict(material)), "ENCRYPTION_KEY_UNAVAILABLE"),
        (_key_file(tmp_path / "wrong", "k2"), "ENCRYPTION_KEY_MISMATCH"),
        (None, "ENCRYPTION_KEY_UNAVAILABLE"),
    ):
        args = () if key_file is None else ("--encryption-key-file", str(key_file))
        server = _serve(data_dir, *args)
        try:
            assert _refusal(server, last) == (grpc.StatusCode.FAILED_PRECONDITION, wanted)
        finally:
            server.stop()


def test_a_tampered_segment_is_data_loss_and_the_rest_still_reads(tmp_path):
    data_dir = tmp_path / "data"
    keys = _key_file(tmp_path / "keys", "k1")
    server = _serve(data_dir, "--encryption-key-file", str(keys))
    stub = _stub(server.address)
    stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="secret"), timeout=30)
    first = _rows(0, 50_000)
    name = _write(stub, first).name
    server.stop()
    (segment,) = _segments(data_dir)
    content = bytearray(segment.read_bytes())
    content[len(content) // 2] ^= 0x40
    segment.write_bytes(bytes(content))

    server = _serve(data_dir, "--encryption-key-file", str(keys))
    try:
        assert _refusal(server, name) == (grpc.StatusCode.DATA_LOSS, "DATA_CORRUPTED")
        stub = _stub(server.address)
        # The version's metadata is intact, and an OVERWRITE that does not read the
        # damaged segment commits and reads back.
        assert (
            stub.GetVersion(pb.GetVersionRequest(name=name), timeout=30).version.row_count == 50_000
        )
        replacement = _rows(7, 7)
        data = _ipc(replacement)
        header = pb.WriteVersionHeader(
            parent="datasets/secret", mode=resources.WRITE_MODE_OVERWRITE
        )
        version = stub.WriteVersion(
            iter([pb.WriteVersionRequest(header=header), pb.WriteVersionRequest(arrow_data=data)]),
            timeout=60,
        ).version
        assert _read_all(stub, version.name).equals(replacement)
    finally:
        server.stop()

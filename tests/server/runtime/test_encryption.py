"""The sealed-object format (runtime/encryption.py): what is written reads back at any size and
from any offset, and every change to the stored bytes, the key record or the key is refused
with the error the spec names (spec/general.md §12), never read as other bytes."""

from __future__ import annotations

import concurrent.futures
import os
import secrets
from pathlib import Path

import grpc
import pyarrow as pa
import pytest
from pyarrow import fs

from lepton_server.runtime.encryption import (
    HEADER_BYTES,
    KEY_SUFFIX,
    TAG_BYTES,
    EncryptionKeyError,
    KeyFile,
    SealedWriter,
    Sealing,
    open_sealed,
    plaintext_size,
)
from lepton_server.runtime.errors import LeptonError
from lepton_server.runtime.sealed_files import SealedFiles

CHUNK = 4096  # small chunks, so a few KiB cross many chunk boundaries


def _keys(*names: str) -> KeyFile:
    return KeyFile({name: secrets.token_bytes(32) for name in names})


def _seal(keys: KeyFile, plain: bytes, path: Path, pieces: int = 7) -> None:
    sealing = Sealing.new(keys, CHUNK)
    with path.open("wb") as out:
        writer = SealedWriter(sealing, out.write)
        step = max(1, len(plain) // pieces)
        for start in range(0, len(plain), step):
            writer.write(plain[start : start + step])
        writer.close()
    SealedFiles(keys, fs.LocalFileSystem()).keep_record(str(path), sealing)


def _open(keys: KeyFile, path: Path):
    source = open(path, "rb")  # noqa: SIM115 - closed with the test's tmp_path
    record = Path(f"{path}{KEY_SUFFIX}")
    return open_sealed(
        keys,
        lambda offset, length: os.pread(source.fileno(), length, offset),
        path.stat().st_size,
        record.read_bytes() if record.exists() else None,
        "the object",
    )


def _read(keys: KeyFile, path: Path) -> bytes:
    return _open(keys, path).read()


def _refused(keys: KeyFile, path: Path) -> LeptonError:
    with pytest.raises(LeptonError) as raised:
        _read(keys, path)
    return raised.value


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17])
def test_any_size_reads_back(tmp_path, size):
    keys = _keys("k1")
    plain = secrets.token_bytes(size)
    path = tmp_path / "object"
    _seal(keys, plain, path)
    chunks = max(1, -(-size // CHUNK))
    assert path.stat().st_size == HEADER_BYTES + size + chunks * TAG_BYTES
    assert plaintext_size(path.stat().st_size, CHUNK) == size
    assert _read(keys, path) == plain
    # A shorter plaintext may occur in the random bytes of a seal by chance.
    assert size < 16 or plain[:16] not in path.read_bytes()


def test_any_range_reads_back(tmp_path):
    keys = _keys("k1")
    plain = secrets.token_bytes(5 * CHUNK + 123)
    path = tmp_path / "object"
    _seal(keys, plain, path)
    reader = _open(keys, path)
    for offset, length in [(0, 10), (CHUNK - 3, 7), (2 * CHUNK, CHUNK), (5 * CHUNK + 100, 999)]:
        reader.seek(offset)
        assert reader.read(length) == plain[offset : offset + length]
    reader.seek(-5, os.SEEK_END)
    assert reader.read() == plain[-5:]


def test_a_writer_holds_at_most_one_chunk(tmp_path):
    """Streaming stays streaming: whatever is written, a chunk's worth at most is held."""
    keys = _keys("k1")
    written: list[int] = []
    writer = SealedWriter(Sealing.new(keys, CHUNK), lambda data: written.append(len(data)))
    for _ in range(100):
        writer.write(secrets.token_bytes(3 * CHUNK + 5))
        assert len(writer._pending) <= CHUNK
    writer.close()
    assert sum(written) == HEADER_BYTES + 100 * (3 * CHUNK + 5) + len(written[1:]) * TAG_BYTES


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        "header-salt",
        "first-chunk",
        "last-tag",
        "truncated-at-chunk",
        "truncated-mid-chunk",
        "appended",
        "chunks-swapped",
        "record-altered",
        "record-missing",
        "record-of-another-object",
        "not-sealed",
    ],
)
def test_damage_is_data_loss(tmp_path, damage):
    keys = _keys("k1")
    path = tmp_path / "object"
    plain = secrets.token_bytes(3 * CHUNK + 50)
    _seal(keys, plain, path)
    record = Path(f"{path}{KEY_SUFFIX}")
    data = path.read_bytes()
    sealed_chunk = CHUNK + TAG_BYTES
    match damage:
        case "header-salt":
            _flip(path, HEADER_BYTES - 1)
        case "first-chunk":
            _flip(path, HEADER_BYTES + 10)
        case "last-tag":
            _flip(path, len(data) - 1)
        case "truncated-at-chunk":
            path.write_bytes(data[: HEADER_BYTES + 2 * sealed_chunk])
        case "truncated-mid-chunk":
            path.write_bytes(data[:-7])
        case "appended":
            path.write_bytes(data + b"\0" * 20)
        case "chunks-swapped":
            first = data[HEADER_BYTES : HEADER_BYTES + sealed_chunk]
            second = data[HEADER_BYTES + sealed_chunk : HEADER_BYTES + 2 * sealed_chunk]
            path.write_bytes(
                data[:HEADER_BYTES] + second + first + data[HEADER_BYTES + 2 * sealed_chunk :]
            )
        case "record-altered":
            altered = record.read_text().replace('"wrapped":"', '"wrapped":"AAAA')
            record.write_text(altered)
        case "record-missing":
            record.unlink()
        case "record-of-another-object":
            other = tmp_path / "other"
            _seal(keys, plain, other)
            record.write_bytes(Path(f"{other}{KEY_SUFFIX}").read_bytes())
        case "not-sealed":
            path.write_bytes(plain)
    error = _refused(keys, path)
    assert (error.code, error.reason) == (grpc.StatusCode.DATA_LOSS, "DATA_CORRUPTED"), error


def test_a_key_the_file_does_not_hold_is_failed_precondition(tmp_path):
    path = tmp_path / "object"
    _seal(_keys("k1"), b"rows", path)
    error = _refused(_keys("k2"), path)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ENCRYPTION_KEY_UNAVAILABLE",
    )
    assert "'k1'" in error.message


def test_another_key_of_the_same_name_is_failed_precondition(tmp_path):
    path = tmp_path / "object"
    _seal(_keys("k1"), b"rows", path)
    error = _refused(_keys("k1"), path)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ENCRYPTION_KEY_MISMATCH",
    )


def test_rekey_rewraps_the_record_only(tmp_path):
    old = secrets.token_bytes(32)
    before = KeyFile({"k1": old})
    path = tmp_path / "object"
    plain = secrets.token_bytes(2 * CHUNK)
    _seal(before, plain, path)
    data = path.read_bytes()
    rotated = KeyFile({"k2": secrets.token_bytes(32), "k1": old})
    sealed = SealedFiles(rotated, fs.LocalFileSystem())
    assert sealed.rekey(str(path)) is True
    assert sealed.rekey(str(path)) is False  # already under k2
    assert path.read_bytes() == data
    after = KeyFile({"k2": rotated._keys["k2"]})
    assert _read(after, path) == plain
    assert _refused(before, path).reason == "ENCRYPTION_KEY_UNAVAILABLE"


def test_arrow_rows_round_trip_and_parse_failures_are_data_loss(tmp_path):
    keys = _keys("k1")
    sealed = SealedFiles(keys, fs.LocalFileSystem())
    table = pa.table({"id": range(100_000), "text": ["some text"] * 100_000})
    path = str(tmp_path / "rows.arrow")
    raw = pa.OSFile(path, "wb")
    sink, sealing = sealed.sink(raw)
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=10_000)
    sink.close()
    raw.close()
    sealed.keep_record(path, sealing)
    assert sealed.rows(path, "rows").equals(table)
    assert sealed.rows_with(path, sealing, "rows").equals(table)
    # Authentic bytes that are no Arrow file.
    _seal(keys, b"not arrow at all", Path(path))
    with pytest.raises(LeptonError) as raised:
        sealed.rows(path, "rows")
    assert raised.value.reason == "DATA_CORRUPTED"


@pytest.mark.parametrize(
    ("text", "mode", "complaint"),
    [
        ("", 0o600, "holds no key"),
        ("k1 abcd\n", 0o600, "must be 32 bytes"),
        ("k1\n", 0o600, "expected `KEY_ID HEX_KEY`"),
        ("bad/id " + "00" * 32 + "\n", 0o600, "expected `KEY_ID HEX_KEY`"),
        ("k1 " + "00" * 32 + "\nk1 " + "11" * 32 + "\n", 0o600, "key 'k1' again"),
        ("k1 " + "00" * 32 + "\n", 0o644, "chmod 600"),
    ],
)
def test_an_unusable_key_file_is_refused_at_start(tmp_path, text, mode, complaint):
    path = tmp_path / "keys"
    path.write_text(text)
    path.chmod(mode)
    with pytest.raises(EncryptionKeyError, match=complaint.replace("`", ".").replace("(", ".")):
        KeyFile.load(path)


def test_the_first_key_wraps_and_comments_are_ignored(tmp_path):
    path = tmp_path / "keys"
    path.write_text("# rotated 2026-12\nk2 " + "22" * 32 + "  # new\n\nk1 " + "11" * 32 + "\n")
    path.chmod(0o600)
    keys = KeyFile.load(path)
    assert keys.primary() == "k2"
    assert keys.wrap(b"k" * 32, b"context").key_id == "k2"


def test_writers_of_the_same_object_leave_it_whole(tmp_path):
    """Content-addressed stores may seal the same bytes twice at once (two uploads of one
    digest): the object ends whole, beside its own key record."""
    sealed = SealedFiles(_keys("k1"), fs.LocalFileSystem())
    plain = secrets.token_bytes(3 * 1024 * 1024)
    sources = []
    for number in range(8):
        source = tmp_path / f"source-{number}"
        source.write_bytes(plain)
        sources.append(source)
    target = str(tmp_path / "blob")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda source: sealed.seal_file(source, target), sources))
    with sealed.open_file(target, "blob") as stored:
        assert stored.read() == plain
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("blob")) == [
        "blob",
        "blob.dek",
    ]


def test_rekey_counts_records_whose_object_is_gone_and_goes_on(tmp_path):
    from lepton_server.runtime.rekey import Rekeyed, rekey_tree  # noqa: PLC0415

    old = secrets.token_bytes(32)
    for name in ("kept", "gone"):
        _seal(KeyFile({"k1": old}), b"rows of " + name.encode(), tmp_path / name)
    (tmp_path / "gone").unlink()  # a delete after its record was listed, or a cut write
    rotated = SealedFiles(KeyFile({"k2": secrets.token_bytes(32), "k1": old}), fs.LocalFileSystem())
    found = Rekeyed()
    rekey_tree(rotated, str(tmp_path), found)
    assert (found.rewrapped, found.current, found.orphaned) == (1, 0, 1)

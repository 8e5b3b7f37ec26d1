"""Encryption at rest (spec/general.md §12): envelope encryption of the objects a server
stores, each under a data key of its own, wrapped by a key-encryption key (KEK) that a key
provider holds: the key file of `--encryption-key-file`, or a KMS behind the same interface.

A sealed object is its data file plus a small key record beside it (`<object>.dek`):
- The data file is a 32-byte header (magic, chunk size, a random salt), then the plaintext
  in chunks of `chunk_size` bytes, each encrypted with AES-256-GCM under the data key. Chunk
  i's nonce is the salt's first 8 bytes and i (big-endian); its associated data is the
  header and a byte that is 1 on the last chunk only. Reordering, dropping, truncating or
  appending chunks, or changing the header, fails authentication; a plaintext of any size is
  written and read a chunk at a time, and any byte range is read without the rest.
- The key record names the KEK, holds a check value of it (so a wrong key is told apart from
  a damaged record) and the data key wrapped with AES-256-GCM under the KEK, with the data
  file's header as associated data (a record moved to another object does not open it).

Rotation re-wraps key records only (`rewrap`); data files are never rewritten. Content
digests are of the plaintext, so deduplication and certification see no difference."""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import struct
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lepton_server.runtime.errors import DataLoss, FailedPrecondition
from lepton_server.runtime.startup_errors import StartupError

KEY_BYTES = 32
KEY_SUFFIX = ".dek"  # the key record beside a sealed object
CHUNK_BYTES = 1024 * 1024
MAGIC = b"LEPTSEAL"
_HEADER = struct.Struct("<8sI20s")  # magic, chunk size, salt
HEADER_BYTES = _HEADER.size
TAG_BYTES = 16
_NONCE_BYTES = 12
_RECORD_VERSION = 1
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CHECK_LABEL = b"lepton key check v1"


class EncryptionKeyError(StartupError):
    """The key file cannot be used (reported at start)."""


def corrupted(what: str, detail: str) -> DataLoss:
    return DataLoss(
        reason="DATA_CORRUPTED",
        message=f"{what} is damaged on disk: {detail}; it is not served",
    )


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped under the KEK `key_id`, whose check value is `check`."""

    key_id: str
    check: bytes
    blob: bytes

    def to_bytes(self) -> bytes:
        record = {
            "version": _RECORD_VERSION,
            "kek": self.key_id,
            "check": self.check.hex(),
            "wrapped": b64encode(self.blob).decode(),
        }
        return json.dumps(record, separators=(",", ":")).encode() + b"\n"

    @staticmethod
    def from_bytes(data: bytes, what: str) -> WrappedKey:
        try:
            record = json.loads(data)
            if record["version"] != _RECORD_VERSION:
                raise ValueError(f"record version {record['version']}")
            return WrappedKey(
                str(record["kek"]), bytes.fromhex(record["check"]), b64decode(record["wrapped"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise corrupted(f"the key record of {what}", f"unreadable ({exc})") from exc


class KeyProvider(Protocol):
    """Holds key-encryption keys and wraps data keys with them. A KMS fits here unchanged:
    `wrap` is its Encrypt (or GenerateDataKey) with `context` as the encryption context,
    `unwrap` its Decrypt (spec/general.md §12.3)."""

    def primary(self) -> str:
        """The KEK new data keys are wrapped under."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, context: bytes, what: str) -> bytes:
        """The data key; FAILED_PRECONDITION when the KEK is not held or is not the one that
        wrapped it, DATA_LOSS when the record was altered."""
        ...


def _check_value(key: bytes) -> bytes:
    return hmac.digest(key, _CHECK_LABEL, "sha256")[:8]


class KeyFile:
    """KEKs from a file of `KEY_ID HEX_KEY` lines (`#` comments allowed); the first wraps new
    data keys, the others only unwrap, which is how a rotation keeps the old key readable
    until `lepton rekey` has re-wrapped every record."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise EncryptionKeyError("the encryption key file holds no key")
        self._keys = keys
        self._primary = next(iter(keys))
        self._checks = {key_id: _check_value(key) for key_id, key in keys.items()}

    @staticmethod
    def load(path: Path) -> KeyFile:
        try:
            mode = path.stat().st_mode
            text = path.read_text()
        except OSError as exc:
            raise EncryptionKeyError(f"{path}: {exc.strerror or exc}") from exc
        if mode & 0o077:
            raise EncryptionKeyError(f"{path} must be readable by its owner only (chmod 600)")
        keys: dict[str, bytes] = {}
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) != 2 or not _KEY_ID.match(words[0]):
                raise EncryptionKeyError(f"{path}, line {number}: expected `KEY_ID HEX_KEY`")
            try:
                key = bytes.fromhex(words[1])
            except ValueError:
                key = b""
            if len(key) != KEY_BYTES:
                raise EncryptionKeyError(
                    f"{path}, line {number}: the key must be {KEY_BYTES} bytes in hex "
                    f"(such as `openssl rand -hex {KEY_BYTES}`)"
                )
            if words[0] in keys:
                raise EncryptionKeyError(f"{path}, line {number}: key {words[0]!r} again")
            keys[words[0]] = key
        return KeyFile(keys)

    def primary(self) -> str:
        return self._primary

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self._keys[self._primary]).encrypt(nonce, data_key, context)
        return WrappedKey(self._primary, self._checks[self._primary], nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, context: bytes, what: str) -> bytes:
        key = self._keys.get(wrapped.key_id)
        if key is None:
            raise FailedPrecondition(
                reason="ENCRYPTION_KEY_UNAVAILABLE",
                message=f"{what} is encrypted under key {wrapped.key_id!r}, which this "
                "server's key file does not hold",
            )
        if not hmac.compare_digest(self._checks[wrapped.key_id], wrapped.check):
            raise FailedPrecondition(
                reason="ENCRYPTION_KEY_MISMATCH",
                message=f"{what} was encrypted under another key named {wrapped.key_id!r} "
                "than the one this server's key file holds",
            )
        nonce, sealed = wrapped.blob[:_NONCE_BYTES], wrapped.blob[_NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, sealed, context)
        except (InvalidTag, ValueError) as exc:
            raise corrupted(f"the key record of {what}", "it does not authenticate") from exc


@dataclass(frozen=True)
class Sealing:
    """One object's header, data key and key record, made when the object is created."""

    header: bytes
    data_key: bytes
    record: bytes  # the serialized WrappedKey, stored as `<object>.dek`

    @staticmethod
    def new(provider: KeyProvider, chunk_bytes: int = CHUNK_BYTES) -> Sealing:
        header = _HEADER.pack(MAGIC, chunk_bytes, secrets.token_bytes(20))
        data_key = AESGCM.generate_key(bit_length=256)
        return Sealing(header, data_key, provider.wrap(data_key, header).to_bytes())


class SealedWriter:
    """A file-like sink (pyarrow.PythonFile wraps it) that encrypts what is written to it in
    chunks and hands the ciphertext to `write_out`. `tell()` counts plaintext, which is what
    Arrow's IPC writer records as offsets."""

    def __init__(self, sealing: Sealing, write_out: Callable[[bytes], object]) -> None:
        self._aead = AESGCM(sealing.data_key)
        self._header = sealing.header
        _, self._chunk, salt = _HEADER.unpack(sealing.header)
        self._prefix = salt[:8]
        self._write_out = write_out
        self._pending = bytearray()
        self._index = 0
        self._position = 0
        self.closed = False
        write_out(sealing.header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self._pending += data
        self._position += len(data)
        # Hold back at least one byte: the last chunk is sealed as last, at close.
        while len(self._pending) > self._chunk:
            self._seal(bytes(self._pending[: self._chunk]), last=False)
            del self._pending[: self._chunk]
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing to do: only whole chunks leave, and the last only at close."""

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._seal(bytes(self._pending), last=True)
            self._pending = bytearray()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._index)
        self._write_out(self._aead.encrypt(nonce, chunk, self._header + bytes([last])))
        self._index += 1


def chunk_bytes(header: bytes) -> int:
    """The chunk size a sealed header names."""
    return _HEADER.unpack(header)[1]


def plaintext_size(sealed_size: int, chunk_bytes: int) -> int:
    """The plaintext bytes of a sealed data file of `sealed_size` bytes."""
    return _layout(sealed_size, chunk_bytes)[1]


def _layout(sealed_size: int, chunk_bytes: int) -> tuple[int, int]:
    """The chunks of a sealed data file of `sealed_size` bytes, and its plaintext bytes."""
    body = sealed_size - HEADER_BYTES
    chunks = max(1, -(-body // (chunk_bytes + TAG_BYTES)))
    return chunks, body - chunks * TAG_BYTES


class SealedReader:
    """Random reads of a sealed data file's plaintext, one chunk decrypted at a time (the
    last one kept). `read_at(offset, length)` reads the file's raw bytes. A file-like source
    for pyarrow.PythonFile; a chunk that fails authentication raises DATA_LOSS."""

    def __init__(
        self,
        read_at: Callable[[int, int], bytes],
        sealed_size: int,
        data_key: bytes,
        header: bytes,
        what: str,
        *,
        on_close: Callable[[], object] = lambda: None,
    ) -> None:
        _, self._chunk, salt = _HEADER.unpack(header)
        self._on_close = on_close
        self._read_at = read_at
        self._aead = AESGCM(data_key)
        self._header = header
        self._prefix = salt[:8]
        self._what = what
        self._chunks, self._size = _layout(sealed_size, self._chunk)
        if self._size < 0:
            raise corrupted(what, "it is shorter than its encryption framing")
        self._position = 0
        self._cached: tuple[int, bytearray] | None = None
        self.closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def size(self) -> int:
        return self._size

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        self._position = base + offset
        return self._position

    def read(self, length: int = -1) -> bytearray:
        end = (
            self._size if length is None or length < 0 else min(self._size, self._position + length)
        )
        # One buffer, filled in place: a chunk the range covers whole is decrypted straight
        # into it, so a big read costs one copy of the plaintext, not three.
        out = bytearray(max(0, end - self._position))
        view = memoryview(out)
        at = 0
        while self._position < end:
            index, within = divmod(self._position, self._chunk)
            size = min(self._chunk, self._size - index * self._chunk)
            if within == 0 and end - self._position >= size and self._cached_index() != index:
                self._decrypt(index, view[at : at + size])
                taken = size
            else:
                plain = self._plain(index)
                taken = min(len(plain) - within, end - self._position)
                view[at : at + taken] = plain[within : within + taken]
            at += taken
            self._position += taken
        return out

    def readall(self) -> bytes:
        return self.read()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close()

    def _plain(self, index: int) -> bytearray:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        size = min(self._chunk, self._size - index * self._chunk)
        plain = bytearray(size)
        self._decrypt(index, memoryview(plain))
        self._cached = (index, plain)
        return plain

    def _cached_index(self) -> int | None:
        return None if self._cached is None else self._cached[0]

    def _decrypt(self, index: int, into: memoryview) -> None:
        """Decrypt chunk `index` into `into` (exactly its plaintext's size)."""
        start = HEADER_BYTES + index * (self._chunk + TAG_BYTES)
        sealed = self._read_at(start, self._chunk + TAG_BYTES)
        last = index == self._chunks - 1
        nonce = self._prefix + struct.pack(">I", index)
        if len(sealed) != len(into) + TAG_BYTES:
            raise corrupted(self._what, f"chunk {index} is cut short")
        try:
            self._aead.decrypt_into(nonce, sealed, self._header + bytes([last]), into)
        except InvalidTag as exc:
            raise corrupted(self._what, f"chunk {index} does not authenticate") from exc


def header_of(first_bytes: bytes, what: str) -> bytes:
    """The sealed header at the start of a data file; DATA_LOSS when it is not one."""
    header = first_bytes[:HEADER_BYTES]
    if len(header) < HEADER_BYTES or not header.startswith(MAGIC):
        raise corrupted(what, "it is not an encrypted object")
    _, chunk, _ = _HEADER.unpack(header)
    if chunk == 0:
        raise corrupted(what, "its header names no chunk size")
    return header


def is_sealed(first_bytes: bytes) -> bool:
    return first_bytes.startswith(MAGIC)


def key_unavailable(what: str) -> FailedPrecondition:
    """The refusal of a sealed object by a server that holds no key file."""
    return FailedPrecondition(
        reason="ENCRYPTION_KEY_UNAVAILABLE",
        message=f"{what} is encrypted, and this server was started without --encryption-key-file",
    )


def open_sealed(
    provider: KeyProvider | None,
    read_at: Callable[[int, int], bytes],
    sealed_size: int,
    record: bytes | None,
    what: str,
    *,
    on_close: Callable[[], object] = lambda: None,
) -> SealedReader:
    """A reader of the sealed data file that `read_at` reads, whose key record is `record`
    (None when it is missing); `on_close` runs when it is closed."""
    header = header_of(read_at(0, HEADER_BYTES), what)
    if provider is None:
        raise key_unavailable(what)
    if record is None:
        raise corrupted(what, "its key record is missing")
    data_key = provider.unwrap(WrappedKey.from_bytes(record, what), header, what)
    return SealedReader(read_at, sealed_size, data_key, header, what, on_close=on_close)


def rewrap(provider: KeyProvider, record: bytes, header: bytes, what: str) -> bytes | None:
    """`record` re-wrapped under the provider's primary KEK; None when it already is."""
    wrapped = WrappedKey.from_bytes(record, what)
    if wrapped.key_id == provider.primary():
        return None
    data_key = provider.unwrap(wrapped, header, what)
    return provider.wrap(data_key, header).to_bytes()


class RecordCipher:
    """Small records sealed one by one under one data key, for a store of many rows (an edge
    agent's telemetry outbox): each is a random 12-byte nonce and its AES-256-GCM ciphertext,
    with the record's identity (its stream, boot id and sequence) as associated data, so a
    row moved or altered does not open. The store keeps the data key's record itself, in the
    same transaction as the rows it seals."""

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)

    @staticmethod
    def new(provider: KeyProvider, label: bytes) -> tuple[RecordCipher, bytes]:
        """A cipher under a new data key, and the key's record (wrapped with `label`, which
        names what the key is for, as context)."""
        data_key = AESGCM.generate_key(bit_length=256)
        return RecordCipher(data_key), provider.wrap(data_key, label).to_bytes()

    @staticmethod
    def opened(
        provider: KeyProvider, record: bytes, label: bytes, what: str
    ) -> tuple[RecordCipher, bytes | None]:
        """The cipher of a stored key record, and the record re-wrapped under the primary KEK
        when it is under another (None when it already is): a store rotates as it opens.
        FAILED_PRECONDITION when its KEK is not held."""
        wrapped = WrappedKey.from_bytes(record, what)
        cipher = RecordCipher(provider.unwrap(wrapped, label, what))
        return cipher, rewrap(provider, record, label, what)

    def seal(self, plain: bytes, identity: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, identity)

    def open(self, sealed: bytes, identity: bytes, what: str) -> bytes:
        """The plaintext; DATA_LOSS when the row is not what was sealed under `identity`."""
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], identity)
        except (InvalidTag, ValueError) as exc:
            raise corrupted(what, "it does not authenticate") from exc

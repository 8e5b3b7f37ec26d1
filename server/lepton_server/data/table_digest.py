"""The content digest of a table: the root of the hash tree E of spec/data.md §4.3.

Each leaf is SHA-256 of col() over 65,536 rows of one column; leaves are independent, so they
are hashed on a thread pool (hashlib and numpy release the GIL for large buffers), and a
column's digest is the hash of its leaves in order. E depends on column names, canonical
types and row values only, so the encoder reads Arrow buffers directly (zero-copy where it
can), zeroes whatever hides under null slots and feeds each piece to the leaf's running hash:
no leaf's encoding is ever materialized. A leaf's rows may span chunks: it is encoded over
"pieces", the arrays that hold its rows in order; since col() concatenates validity bytes
before values, every pass walks all pieces, so chunk boundaries do not matter.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from lepton_server.data.arrow_types import canonical_type, decode_dictionaries

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

_MAGIC = b"lepton-table-v2\n"
_U64 = struct.Struct("<Q")
LEAF_ROWS = 1 << 16  # L of §4.3
# Bounds the temporary numpy arrays per step to a few tens of MB whatever the chunk sizes
# (a nested column's leaf may hold many more elements than rows).
_PIECE_ROWS = 1 << 20
# Memoryviews, so that slicing them for a piece's validity copies nothing.
_VALID_BYTES = memoryview(bytes([1]) * _PIECE_ROWS)
_NULL_BYTES = memoryview(bytes(_PIECE_ROWS))

_UINT_BY_WIDTH = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
# The one NaN of each floating-point width: (float dtype, its bit pattern).
_QUIET_NAN = {2: (np.float16, 0x7E00), 4: (np.float32, 0x7FC00000), 8: (np.float64, 0x7FF8 << 48)}
# Leaves of one digest hashed at once: enough to keep every core busy.
_THREADS = max(os.cpu_count() or 1, 1)


def content_digest(table: pa.Table) -> str:
    """Lowercase hex SHA-256 of `table`'s encoding E (spec/data.md §4.3, DAT-041).

    Dictionary-encoded columns are digested as their decoded values (DAT-025).
    """
    with TableDigest() as digest:
        digest.add(table)
        return digest.hexdigest(table.schema)


class TableDigest:
    """E of a table whose rows arrive in parts, in order: each leaf is hashed on a thread
    pool as soon as its rows are all there, so a digest can be computed while a stream
    arrives and costs little once it has. Parts must share column names and canonical types;
    at most `max_pending` leaves wait for a thread, so memory stays bounded whatever the
    table's size (add() blocks meanwhile)."""

    def __init__(self, threads: int = _THREADS, max_pending: int = 64) -> None:
        # Arrow buffers are native-endian and E is little-endian; refuse rather than
        # mis-digest.
        if sys.byteorder != "little":
            raise RuntimeError("content digests are only computed on little-endian hosts")
        self._pool = ThreadPoolExecutor(threads)
        self._max_pending = max_pending
        self._leaves: list[list[Future[bytes]]] = []  # per column, in order
        self._pending: deque[Future[bytes]] = deque()
        self._waiting: list[pa.Table] = []  # rows of the next leaf, fewer than LEAF_ROWS
        self._waiting_rows = 0
        self.rows = 0

    def __enter__(self) -> TableDigest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def resume(self, leaves: list[list[bytes]]) -> None:
        """Start after rows whose leaves are known: `leaves[c]` are the digests of column c's
        first leaves, all full (the same count for every column). Only the rows after them
        are added then; an APPEND reuses its parent's leaves so."""
        if self.rows or self._leaves:
            raise RuntimeError("resume() comes before any rows")
        counts = {len(column) for column in leaves}
        if len(counts) > 1:
            raise ValueError("every column needs as many leaves")
        self._leaves = [[_done(leaf) for leaf in column] for column in leaves]
        self.rows = counts.pop() * LEAF_ROWS if counts else 0

    def full_leaves(self) -> list[list[bytes]]:
        """Once hexdigest() ran: each column's digests of its full leaves (a last leaf of
        fewer than LEAF_ROWS rows left out), for a later resume()."""
        full = self.rows // LEAF_ROWS
        return [[future.result() for future in column[:full]] for column in self._leaves]

    def add(self, rows: pa.Table) -> None:
        """The next rows of the table."""
        rows = decode_dictionaries(rows)
        if not self._leaves:
            self._leaves = [[] for _ in range(rows.num_columns)]
        self.rows += rows.num_rows
        self._waiting.append(rows)
        self._waiting_rows += rows.num_rows
        if self._waiting_rows >= LEAF_ROWS:
            waiting = pa.concat_tables(self._waiting)
            full = self._waiting_rows - self._waiting_rows % LEAF_ROWS
            self._hash(waiting, full)
            self._waiting = [waiting.slice(full)]
            self._waiting_rows -= full

    def hexdigest(self, schema: pa.Schema) -> str:
        """The root, once every row was added: E of `schema`'s names and canonical types
        and of the rows."""
        if not self._leaves:
            self._leaves = [[] for _ in schema]
        if self._waiting_rows:
            self._hash(pa.concat_tables(self._waiting), self._waiting_rows)
            self._waiting, self._waiting_rows = [], 0
        digest = hashlib.sha256(_MAGIC)
        digest.update(_U64.pack(len(schema)))
        for field in schema:
            _update_str(digest, field.name)
            _update_str(digest, canonical_type(field.type))
        digest.update(_U64.pack(self.rows))
        for futures in self._leaves:
            digest.update(column_digest([future.result() for future in futures]))
        return digest.hexdigest()

    def _hash(self, rows: pa.Table, count: int) -> None:
        for start in range(0, count, LEAF_ROWS):
            for column, futures in zip(rows.columns, self._leaves, strict=True):
                while len(self._pending) >= self._max_pending:
                    self._pending.popleft().result()
                future = self._pool.submit(leaf_digest, column, start)
                self._pending.append(future)
                futures.append(future)


def _done(value: bytes) -> Future[bytes]:
    future: Future[bytes] = Future()
    future.set_result(value)
    return future


def column_digest(leaves: list[bytes]) -> bytes:
    """column(c) of §4.3 from the column's leaf digests in order."""
    return hashlib.sha256(_U64.pack(len(leaves)) + b"".join(leaves)).digest()


def leaf_digest(column: pa.ChunkedArray, start: int) -> bytes:
    """leaf(c, i) of §4.3: SHA-256 of col() over rows [start, start + L) of `column`."""
    digest = hashlib.sha256()
    _update_col(digest, column.type, _pieces(column.slice(start, LEAF_ROWS).chunks))
    return digest.digest()


def _update_str(digest: Hash, text: str) -> None:
    data = text.encode("utf-8")
    digest.update(_U64.pack(len(data)))
    digest.update(data)


def _pieces(arrays: list[pa.Array]) -> list[pa.Array]:
    """The same slots in the same order, as non-empty slices of at most _PIECE_ROWS."""
    return [
        array.slice(start, _PIECE_ROWS)
        for array in arrays
        for start in range(0, len(array), _PIECE_ROWS)
    ]


def _validity(piece: pa.Array) -> np.ndarray | None:
    """One bool per slot (True = valid), or None when every slot is valid."""
    if piece.null_count == 0:
        return None
    return _unpack_bits(piece.buffers()[0], piece.offset, len(piece))


def _unpack_bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    """Bits [offset, offset + length) of an Arrow bitmap (LSB first) as bools."""
    first, last = offset // 8, (offset + length + 7) // 8
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8, last - first, first), bitorder="little")
    start = offset % 8
    return bits[start : start + length].view(bool)


def _update_col(digest: Hash, t: pa.DataType, pieces: list[pa.Array]) -> None:
    """col(a) = validity(a) values(a), with a the concatenation of `pieces`."""
    if pa.types.is_null(t):  # every slot null, no values
        for piece in pieces:
            digest.update(_NULL_BYTES[: len(piece)])
        return
    validities = [_validity(piece) for piece in pieces]
    for piece, valid in zip(pieces, validities, strict=True):
        digest.update(_VALID_BYTES[: len(piece)] if valid is None else valid.view(np.uint8))
    _update_values(digest, t, pieces, validities)


def _update_values(
    digest: Hash, t: pa.DataType, pieces: list[pa.Array], validities: list[np.ndarray | None]
) -> None:
    """values(a) of §4.3 for every type but null."""
    if pa.types.is_boolean(t):
        for piece, valid in zip(pieces, validities, strict=True):
            values = _unpack_bits(piece.buffers()[1], piece.offset, len(piece))
            digest.update(_masked(values, valid).view(np.uint8))
    elif _is_fixed_width(t):
        for piece, valid in zip(pieces, validities, strict=True):
            digest.update(_fixed_width_values(piece, valid))
    elif _has_offsets(t):
        _update_offset_values(digest, t, pieces, validities)
    elif pa.types.is_fixed_size_list(t):
        for piece, valid in zip(pieces, validities, strict=True):
            counts = np.full(len(piece), t.list_size, dtype="<u8")
            digest.update(_masked(counts, valid))
        # flatten() skips the elements under null slots and honours the slice offset.
        children = _pieces([piece.flatten() for piece in pieces])
        _update_col(digest, t.value_type, children)
    elif pa.types.is_struct(t):
        masks = [None if valid is None else pa.array(valid) for valid in validities]
        for i, child_field in enumerate(t):
            children = [
                piece.field(i) if mask is None else piece.field(i).filter(mask)
                for piece, mask in zip(pieces, masks, strict=True)
            ]
            _update_col(digest, child_field.type, _pieces(children))
    else:
        raise ValueError(f"the Arrow type {t} has no content digest encoding (spec/data.md §4.3)")


def _is_fixed_width(t: pa.DataType) -> bool:
    """The types §4.3 encodes as m * w bytes (bool, one bit per slot in Arrow, is not one)."""
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal128(t)
        or pa.types.is_decimal256(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_duration(t)
    )


def _masked(values: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """`values` with null slots zeroed (a 2-D array is masked row by row)."""
    if valid is None:
        return values
    if values.ndim == 2:
        return values * valid[:, None]
    return np.where(valid, values, values.dtype.type(0))


def _fixed_width_values(piece: pa.Array, valid: np.ndarray | None) -> np.ndarray:
    """m * w bytes: physical little-endian values, null slots zeroed, NaNs made quiet."""
    t = piece.type
    width = t.byte_width
    m = len(piece)
    data = piece.buffers()[1]
    if data is None:  # permitted only when no slot is valid
        return np.zeros(m * width, np.uint8)
    raw = np.frombuffer(data, np.uint8, m * width, piece.offset * width)
    if width in _UINT_BY_WIDTH:
        values = raw.view(_UINT_BY_WIDTH[width])
        if pa.types.is_floating(t):
            values = _quiet_nans(values, width)
    else:  # decimals and fixed_size_binary: rows of `width` bytes
        values = raw.reshape(m, width)
    return _masked(values, valid)


def _quiet_nans(bits: np.ndarray, width: int) -> np.ndarray:
    float_type, quiet_nan = _QUIET_NAN[width]
    nan = np.isnan(bits.view(float_type))
    if not nan.any():
        return bits
    return np.where(nan, bits.dtype.type(quiet_nan), bits)


def _has_offsets(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_map(t)
    )


def _offsets(piece: pa.Array) -> np.ndarray:
    """The m + 1 offsets of the piece's slots, into its data buffer or child array."""
    t = piece.type
    large = pa.types.is_large_string(t) or pa.types.is_large_binary(t) or pa.types.is_large_list(t)
    dtype = np.int64 if large else np.int32
    return np.frombuffer(piece.buffers()[1], dtype, len(piece) + 1, piece.offset * dtype(0).nbytes)


def _update_offset_values(
    digest: Hash, t: pa.DataType, pieces: list[pa.Array], validities: list[np.ndarray | None]
) -> None:
    """Strings, binaries, lists and maps: m * u64(length), then the valid slots' contents."""
    compact = []
    for piece, valid in zip(pieces, validities, strict=True):
        offsets = _offsets(piece)
        lengths = np.diff(offsets)
        if valid is not None and lengths[~valid].any():
            # Null slots that hide bytes or elements: keep the valid slots only, so the
            # contents below are one contiguous range again.
            compact_piece = piece.filter(pa.array(valid))
            offsets = _offsets(compact_piece)
        else:
            compact_piece = piece
        compact.append((compact_piece, int(offsets[0]), int(offsets[-1])))
        digest.update(_masked(lengths, valid).astype("<u8"))

    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t):
        children = [piece.values.slice(start, end - start) for piece, start, end in compact]
        child_type = _map_entries_type(t) if pa.types.is_map(t) else t.value_type
        _update_col(digest, child_type, _pieces(children))
        return
    for piece, start, end in compact:
        if end > start:
            digest.update(memoryview(piece.buffers()[2])[start:end])


def _map_entries_type(t: pa.MapType) -> pa.DataType:
    """A map's entries as §4.3 encodes them: struct<key: K, value: V>."""
    return pa.struct([t.key_field, t.item_field])

"""The content digest is SHA-256 of the encoding E of spec/data.md §4.3 (DAT-041, DAT-042).

The expected digests come from `reference_encoding`, a deliberately plain row-by-row
transcription of §4.3 over Python values, sharing no code with the server's vectorized one.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import itertools
import math
import struct

import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lepton_server.data import table_digest
from lepton_server.data.table_digest import content_digest

# --- The reference encoding ------------------------------------------------------------------

QUIET_NAN = {
    16: bytes.fromhex("007e"),
    32: bytes.fromhex("0000c07f"),
    64: bytes.fromhex("000000000000f87f"),
}
FLOAT_FORMAT = {16: "<e", 32: "<f", 64: "<d"}
LEAF = 65_536  # L of §4.3
# Enough digits for any decimal256, so rescaling never rounds.
EXACT = decimal.Context(prec=100)


def u64(x: int) -> bytes:
    return x.to_bytes(8, "little")


def utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    return u64(len(data)) + data


def reference_encoding(columns: list[tuple[str, str, pa.DataType, list]], num_rows: int) -> bytes:
    """E for (name, canonical type string, type, Python values) columns.

    Temporal values are given as their integers in the type's unit; Python's date and time
    objects would only add a conversion to get wrong.
    """
    e = b"lepton-table-v2\n" + u64(len(columns))
    for name, type_string, _, _ in columns:
        e += utf8(name) + utf8(type_string)
    e += u64(num_rows)
    for _, _, arrow_type, values in columns:
        e += ref_column(arrow_type, values)
    return e


def ref_column(t: pa.DataType, values: list) -> bytes:
    """column(c): the hash of the leaf count and of each leaf of LEAF rows."""
    leaves = [
        hashlib.sha256(ref_col(t, values[start : start + LEAF])).digest()
        for start in range(0, len(values), LEAF)
    ]
    return hashlib.sha256(u64(len(leaves)) + b"".join(leaves)).digest()


def ref_col(t: pa.DataType, values: list) -> bytes:
    return bytes(0 if v is None else 1 for v in values) + ref_values(t, values)


def ref_values(t: pa.DataType, values: list) -> bytes:  # noqa: PLR0911 - one branch per §4.3 row
    if pa.types.is_null(t):
        return b""
    if pa.types.is_boolean(t):
        return bytes(1 if v else 0 for v in values)
    if pa.types.is_floating(t):
        return b"".join(ref_float(t.bit_width, v) for v in values)
    if pa.types.is_decimal(t):
        width = t.bit_width // 8
        return b"".join(
            bytes(width)
            if v is None
            else int(v.scaleb(t.scale, EXACT)).to_bytes(width, "little", signed=True)
            for v in values
        )
    if pa.types.is_fixed_size_binary(t):
        return b"".join(bytes(t.byte_width) if v is None else v for v in values)
    if pa.types.is_integer(t) or pa.types.is_temporal(t):
        signed = not pa.types.is_unsigned_integer(t)
        width = t.bit_width // 8
        return b"".join((v or 0).to_bytes(width, "little", signed=signed) for v in values)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        data = [b"" if v is None else v.encode("utf-8") for v in values]
        return b"".join(u64(len(d)) for d in data) + b"".join(data)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        data = [b"" if v is None else v for v in values]
        return b"".join(u64(len(d)) for d in data) + b"".join(data)
    if pa.types.is_map(t):
        entries = [{"key": k, "value": x} for v in values if v is not None for k, x in v]
        entry_type = pa.struct([("key", t.key_type), ("value", t.item_type)])
        return ref_counts(values) + ref_col(entry_type, entries)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        elements = [x for v in values if v is not None for x in v]
        return ref_counts(values) + ref_col(t.value_type, elements)
    if pa.types.is_struct(t):
        present = [v for v in values if v is not None]
        return b"".join(ref_col(f.type, [v[f.name] for v in present]) for f in t)
    raise AssertionError(f"no reference encoding for {t}")


def ref_counts(values: list) -> bytes:
    return b"".join(u64(0 if v is None else len(v)) for v in values)


def ref_float(bits: int, v: float | None) -> bytes:
    if v is None:
        return bytes(bits // 8)
    if math.isnan(v):
        return QUIET_NAN[bits]
    return struct.pack(FLOAT_FORMAT[bits], v)


def reference_digest(table: pa.Table, type_strings: list[str]) -> str:
    columns = []
    for field, type_string in zip(table.schema, type_strings, strict=True):
        column = table.column(field.name)
        if pa.types.is_temporal(field.type):
            storage = pa.int32() if field.type.bit_width == 32 else pa.int64()
            values = column.combine_chunks().view(storage).to_pylist()
        else:
            values = column.to_pylist()
        columns.append((field.name, type_string, field.type, values))
    return hashlib.sha256(reference_encoding(columns, table.num_rows)).hexdigest()


# --- The golden table ------------------------------------------------------------------------

D = decimal.Decimal
NAN = float("nan")

GOLDEN_COLUMNS: list[tuple[str, str, pa.Array]] = [
    ("nothing", "null", pa.nulls(3)),
    ("flag", "bool", pa.array([True, None, False])),
    ("i8", "int8", pa.array([-1, None, 127], pa.int8())),
    ("u64", "uint64", pa.array([2**64 - 1, 0, None], pa.uint64())),
    ("half", "halffloat", pa.array(np.array([1.5, NAN, -0.0], np.float16))),
    ("single", "float", pa.array([NAN, -0.0, None], pa.float32())),
    ("double", "double", pa.array([1e300, None, -NAN], pa.float64())),
    ("price", "decimal128(5, 2)", pa.array([D("-1.23"), None, D("999.99")], pa.decimal128(5, 2))),
    ("big", "decimal256(40, 3)", pa.array([D("-1.000"), D("10" * 18), None], pa.decimal256(40, 3))),
    ("text", "string", pa.array(["héllo", None, ""])),
    ("large_text", "large_string", pa.array([None, "a", "bc"], pa.large_string())),
    ("bytes", "binary", pa.array([b"\x00\xff", None, b""])),
    ("large_bytes", "large_binary", pa.array([b"x", b"", None], pa.large_binary())),
    ("fixed", "fixed_size_binary[3]", pa.array([b"abc", None, b"xyz"], pa.binary(3))),
    (
        "day",
        "date32[day]",
        pa.array([datetime.date(1970, 1, 2), None, datetime.date(1969, 12, 31)]),
    ),
    ("day_ms", "date64[ms]", pa.array([86_400_000, None, 0], pa.int64()).cast(pa.date64())),
    ("clock", "time32[ms]", pa.array([1, None, 86_399_999], pa.int32()).cast(pa.time32("ms"))),
    ("clock_ns", "time64[ns]", pa.array([None, 5, 7], pa.int64()).cast(pa.time64("ns"))),
    (
        "at",
        "timestamp[us, tz=UTC]",
        pa.array([-1, 0, None], pa.int64()).cast(pa.timestamp("us", "UTC")),
    ),
    ("took", "duration[s]", pa.array([3, None, -3], pa.int64()).cast(pa.duration("s"))),
    ("ints", "list<item: int32>", pa.array([[1, None], None, []], pa.list_(pa.int32()))),
    (
        "words",
        "large_list<item: string>",
        pa.array([["a"], ["", None], None], pa.large_list(pa.string())),
    ),
    (
        "pair",
        "fixed_size_list<item: int16>[2]",
        pa.array([[1, 2], None, [None, 4]], pa.list_(pa.int16(), 2)),
    ),
    (
        "point",
        "struct<a: int8, b: string>",
        pa.array(
            [{"a": 1, "b": "x"}, None, {"a": None, "b": "z"}],
            pa.struct([("a", pa.int8()), ("b", pa.string())]),
        ),
    ),
    (
        "tags",
        "map<string, int64>",
        pa.array([[("k", 1), ("j", None)], None, []], pa.map_(pa.string(), pa.int64())),
    ),
    (
        "nested",
        "list<item: struct<x: double, y: list<item: bool>>>",
        pa.array(
            [[{"x": 0.5, "y": [True, None]}, None], None, [{"x": None, "y": None}]],
            pa.list_(pa.struct([("x", pa.float64()), ("y", pa.list_(pa.bool_()))])),
        ),
    ),
]
GOLDEN_TABLE = pa.table({name: array for name, _, array in GOLDEN_COLUMNS})
GOLDEN_TYPE_STRINGS = [type_string for _, type_string, _ in GOLDEN_COLUMNS]
# reference_digest(GOLDEN_TABLE, GOLDEN_TYPE_STRINGS), pinned so neither side drifts unseen.
GOLDEN_DIGEST = "9b39c1759d84e351ad5a8c659df8d8d70e4237dbb350b2b64da6ebe93347d912"


def test_encoding_of_a_tiny_table_is_the_literal_bytes_of_section_4_3():
    table = pa.table({"n": pa.array([1, None], pa.int64())})
    leaf = hashlib.sha256(
        b"\x01\x00"  # validity
        + (1).to_bytes(8, "little")
        + bytes(8)  # 1, then a null slot as zero bytes
    ).digest()
    column = hashlib.sha256((1).to_bytes(8, "little") + leaf).digest()  # one leaf
    e = (
        b"lepton-table-v2\n"
        + (1).to_bytes(8, "little")  # one column
        + (1).to_bytes(8, "little")
        + b"n"
        + (5).to_bytes(8, "little")
        + b"int64"
        + (2).to_bytes(8, "little")  # two rows
        + column
    )
    assert content_digest(table) == hashlib.sha256(e).hexdigest()


def test_golden_table_digest_matches_the_reference_encoding():
    assert reference_digest(GOLDEN_TABLE, GOLDEN_TYPE_STRINGS) == GOLDEN_DIGEST
    assert content_digest(GOLDEN_TABLE) == GOLDEN_DIGEST


@pytest.mark.parametrize(("offset", "length"), [(0, 0), (1, 1), (1, 2), (2, 1), (0, 3)])
def test_golden_table_slices_match_the_reference_encoding(offset, length):
    sliced = GOLDEN_TABLE.slice(offset, length)
    assert content_digest(sliced) == reference_digest(sliced, GOLDEN_TYPE_STRINGS)


def test_golden_table_in_one_row_chunks_has_the_golden_digest():
    rows = [GOLDEN_TABLE.slice(i, 1) for i in range(GOLDEN_TABLE.num_rows)]
    assert content_digest(pa.concat_tables(rows)) == GOLDEN_DIGEST


def test_digest_is_lowercase_hex_sha256():
    digest = content_digest(GOLDEN_TABLE)
    assert len(digest) == 64
    assert digest == digest.lower()
    int(digest, 16)


def test_empty_table_digest_encodes_names_types_and_zero_rows():
    table = pa.table({"a": pa.array([], pa.string())})
    assert content_digest(table) == reference_digest(table, ["string"])


def test_column_without_chunks_digests_like_an_empty_one():
    no_chunks = pa.table({"a": pa.chunked_array([], pa.int32())})
    one_empty_chunk = pa.table({"a": pa.array([], pa.int32())})
    assert content_digest(no_chunks) == content_digest(one_empty_chunk)


def test_table_without_columns_has_a_digest():
    e = b"lepton-table-v2\n" + u64(0) + u64(0)
    assert content_digest(pa.table({})) == hashlib.sha256(e).hexdigest()


def test_column_names_and_order_are_part_of_the_digest():
    a = pa.array([1], pa.int64())
    assert content_digest(pa.table({"x": a})) != content_digest(pa.table({"y": a}))
    b = pa.array([1], pa.int64())
    assert content_digest(pa.table({"x": a, "y": b})) != content_digest(pa.table({"y": b, "x": a}))


def test_canonical_type_is_part_of_the_digest():
    assert content_digest(pa.table({"x": pa.array([1], pa.int32())})) != content_digest(
        pa.table({"x": pa.array([1], pa.int64())})
    )


# --- Invariance: chunking, slicing, hidden values, flags ------------------------------------

ROW = st.tuples(
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.text(max_size=5),
    st.none() | st.booleans(),
    st.none() | st.lists(st.none() | st.floats(allow_nan=True, width=64), max_size=3),
    st.none()
    | st.fixed_dictionaries(
        {
            "a": st.none() | st.integers(-128, 127),
            "b": st.none() | st.lists(st.text(max_size=2), max_size=2),
        }
    ),
    st.none() | st.lists(st.tuples(st.text(max_size=2), st.none() | st.integers(0, 9)), max_size=2),
)
SCHEMA = pa.schema(
    [
        ("i", pa.int64()),
        ("s", pa.string()),
        ("b", pa.bool_()),
        ("l", pa.list_(pa.float64())),
        ("st", pa.struct([("a", pa.int8()), ("b", pa.list_(pa.string()))])),
        ("m", pa.map_(pa.string(), pa.int8())),
    ]
)
ROWS = st.lists(ROW, max_size=30)


def table_of(rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in SCHEMA]
    return pa.table(
        [pa.array(list(c), f.type) for c, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, cuts=st.lists(st.integers(0, 30), max_size=4))
def test_digest_does_not_depend_on_chunk_boundaries(rows, cuts):
    bounds = sorted({0, len(rows), *(c for c in cuts if c <= len(rows))})
    batches = [table_of(rows[a:b]) for a, b in itertools.pairwise(bounds)]
    rechunked = pa.concat_tables([table_of([]), *batches])
    assert content_digest(rechunked) == content_digest(table_of(rows))


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, before=st.integers(0, 9), after=st.integers(0, 9))
def test_digest_of_a_slice_equals_digest_of_the_same_rows(rows, before, after):
    padded = table_of(rows[:1] * before + rows + rows[-1:] * after)
    start = before if rows else 0
    sliced = padded.slice(start, len(rows))
    assert content_digest(sliced) == content_digest(table_of(rows))


@settings(max_examples=40, deadline=None)
@given(rows=ROWS.filter(bool), data=st.data())
def test_digest_changes_when_one_value_changes(rows, data):
    index = data.draw(st.integers(0, len(rows) - 1))
    old = rows[index][0]
    new = data.draw(st.none() | st.integers(-(2**63), 2**63 - 1).filter(lambda v: v != old))
    if new is None and old is None:
        new = 0
    changed = [*rows]
    changed[index] = (new, *rows[index][1:])
    assert content_digest(table_of(changed)) != content_digest(table_of(rows))


def bitmap(valid: list[bool]) -> pa.Buffer:
    return pa.array(valid).buffers()[1]


@settings(max_examples=40, deadline=None)
@given(
    slots=st.lists(
        st.tuples(
            st.booleans(),
            st.integers(-(2**63), 2**63 - 1),
            st.binary(max_size=3),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_values_hidden_under_null_slots_do_not_change_the_digest(slots):
    """Arrays whose null slots hold arbitrary numbers, bytes and list elements."""
    valid = [v for v, _, _, _ in slots]
    n = len(slots)
    ints = [x if v else None for v, x, _, _ in slots]
    hidden_ints = pa.Array.from_buffers(
        pa.int64(),
        n,
        [bitmap(valid), pa.py_buffer(np.array([x for _, x, _, _ in slots], np.int64))],
    )
    blobs = [b if v else None for v, _, b, _ in slots]
    offsets = np.cumsum([0] + [len(b) for _, _, b, _ in slots]).astype(np.int32)
    data = b"".join(b for _, _, b, _ in slots)
    hidden_blobs = pa.Array.from_buffers(
        pa.binary(), n, [bitmap(valid), pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    counts = np.cumsum([0] + [k for _, _, _, k in slots]).astype(np.int32)
    elements = pa.array(range(counts[-1]), pa.int16())
    lists = [list(range(counts[i], counts[i + 1])) if v else None for i, v in enumerate(valid)]
    hidden_lists = pa.ListArray.from_arrays(
        pa.array(counts), elements, mask=pa.array([not v for v in valid])
    )
    hidden_struct = pa.StructArray.from_arrays(
        [pa.array([x for _, x, _, _ in slots], pa.int64())],
        names=["x"],
        mask=pa.array([not v for v in valid]),
    )
    hidden = pa.table({"i": hidden_ints, "b": hidden_blobs, "l": hidden_lists, "st": hidden_struct})
    clean = pa.table(
        {
            "i": pa.array(ints, pa.int64()),
            "b": pa.array(blobs, pa.binary()),
            "l": pa.array(lists, pa.list_(pa.int16())),
            "st": pa.array(
                [{"x": x} if v else None for v, x, _, _ in slots], pa.struct([("x", pa.int64())])
            ),
        }
    )
    assert content_digest(hidden) == content_digest(clean)


def test_hidden_bool_values_do_not_change_the_digest():
    hidden = pa.Array.from_buffers(
        pa.bool_(), 3, [bitmap([True, False, True]), bitmap([True, True, False])]
    )
    assert content_digest(pa.table({"b": hidden})) == content_digest(
        pa.table({"b": [True, None, False]})
    )


def test_hidden_fixed_size_list_elements_do_not_change_the_digest():
    hidden = pa.FixedSizeListArray.from_arrays(
        pa.array([1, 2, 9, 9, 5, 6], pa.int8()), 2, mask=pa.array([False, True, False])
    )
    clean = pa.array([[1, 2], None, [5, 6]], pa.list_(pa.int8(), 2))
    assert content_digest(pa.table({"f": hidden})) == content_digest(pa.table({"f": clean}))


def test_hidden_map_entries_do_not_change_the_digest():
    hidden = pa.MapArray.from_arrays(
        pa.array([0, 1, 3, 4], pa.int32()),
        pa.array(["a", "x", "y", "b"]),
        pa.array([1, 8, 9, 2], pa.int8()),
        mask=pa.array([False, True, False]),
    )
    clean = pa.array([[("a", 1)], None, [("b", 2)]], pa.map_(pa.string(), pa.int8()))
    assert content_digest(pa.table({"m": hidden})) == content_digest(pa.table({"m": clean}))


def test_nullability_flags_child_names_and_metadata_do_not_change_the_digest():
    values = pa.array([[1, 2], [3]], pa.list_(pa.int8()))
    plain = pa.table({"l": values})
    renamed_child = pa.list_(pa.field("element", pa.int8(), nullable=False))
    decorated = pa.table(
        {"l": values.cast(renamed_child)},
        schema=pa.schema(
            [pa.field("l", renamed_child, nullable=False, metadata={"k": "v"})], metadata={"a": "b"}
        ),
    )
    assert content_digest(decorated) == content_digest(plain)


def test_map_entry_names_and_sorted_keys_flag_do_not_change_the_digest():
    plain = pa.array([[("a", 1)], []], pa.map_(pa.string(), pa.int8()))
    named = pa.map_(
        pa.field("k", pa.string(), nullable=False), pa.field("v", pa.int8()), keys_sorted=True
    )
    assert content_digest(pa.table({"m": plain.cast(named)})) == content_digest(
        pa.table({"m": plain})
    )


def test_ipc_compression_does_not_change_the_digest():
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, GOLDEN_TABLE.schema, options=options) as writer:
        writer.write_table(GOLDEN_TABLE, max_chunksize=2)
    read_back = pa.ipc.open_stream(sink.getvalue()).read_all()
    assert content_digest(read_back) == content_digest(GOLDEN_TABLE)


def test_digest_does_not_depend_on_internal_piece_size(monkeypatch):
    expected = content_digest(GOLDEN_TABLE)
    monkeypatch.setattr(table_digest, "_PIECE_ROWS", 2)
    assert content_digest(GOLDEN_TABLE) == expected


def test_dictionary_column_digests_as_its_decoded_values():
    decoded = pa.array(["a", None, "b", "a"])
    encoded = pa.chunked_array([decoded[:2].dictionary_encode(), decoded[2:].dictionary_encode()])
    assert content_digest(pa.table({"c": encoded})) == content_digest(pa.table({"c": decoded}))


def test_appending_zero_rows_keeps_the_digest():
    empty = GOLDEN_TABLE.schema.empty_table()
    assert content_digest(pa.concat_tables([GOLDEN_TABLE, empty])) == content_digest(GOLDEN_TABLE)


# --- Floating point ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "nan_bits"),
    [
        (np.float16, [0x7E00, 0x7C01, 0xFE00, 0x7FFF]),
        (np.float32, [0x7FC00000, 0x7F800001, 0xFFC00000, 0x7FFFFFFF]),
        (np.float64, [0x7FF8 << 48, (0x7FF0 << 48) | 1, 0xFFF8 << 48, (1 << 63) - 1]),
    ],
)
def test_every_nan_payload_digests_as_the_quiet_nan(dtype, nan_bits):
    bits = np.array(nan_bits, dtype=np.dtype(dtype).str.replace("f", "u"))
    payloads = pa.array(bits.view(dtype))
    quiet = pa.array(np.full(len(nan_bits), np.nan, dtype))
    assert content_digest(pa.table({"x": payloads})) == content_digest(pa.table({"x": quiet}))


def test_nan_encodes_as_the_quiet_nan_bytes():
    table = pa.table({"x": pa.array(np.array([np.uint64(0xFFF0_0000_0000_0001)]).view(np.float64))})
    leaf = hashlib.sha256(b"\x01" + QUIET_NAN[64]).digest()
    column = hashlib.sha256(u64(1) + leaf).digest()
    e = b"lepton-table-v2\n" + u64(1) + utf8("x") + utf8("double") + u64(1) + column
    assert content_digest(table) == hashlib.sha256(e).hexdigest()


@pytest.mark.parametrize("arrow_type", [pa.float16(), pa.float32(), pa.float64()])
def test_negative_zero_differs_from_positive_zero(arrow_type):
    dtype = arrow_type.to_pandas_dtype()
    negative = pa.table({"x": pa.array(np.array([-0.0], dtype))})
    positive = pa.table({"x": pa.array(np.array([0.0], dtype))})
    assert content_digest(negative) != content_digest(positive)


def test_null_float_differs_from_zero():
    assert content_digest(pa.table({"x": pa.array([None], pa.float64())})) != content_digest(
        pa.table({"x": pa.array([0.0], pa.float64())})
    )


# --- The hash tree: leaves of L rows -----------------------------------------------------------


def _leafy_table() -> pa.Table:
    """2 L + 7 rows: three leaves per column, the last short, with nulls and nested values."""
    rows = 2 * LEAF + 7
    index = np.arange(rows)
    return pa.table(
        {
            "n": pa.array(index, pa.int64(), mask=index % 5 == 0),
            "s": pa.array([None if i % 7 == 0 else f"r{i % 13}" for i in range(rows)]),
            "l": pa.array([[i % 3] * (i % 3) if i % 11 else None for i in range(rows)]),
        }
    )


def test_a_table_of_several_leaves_matches_the_reference_and_the_suite():
    from lepton_conformance.suites.data import table_digest as suite  # noqa: PLC0415

    table = _leafy_table()
    expected = reference_digest(table, ["int64", "string", "list<item: int64>"])
    assert content_digest(table) == expected
    assert suite.content_digest(table) == expected


def test_chunks_that_straddle_leaf_boundaries_do_not_change_the_digest():
    table = _leafy_table()
    cuts = [0, LEAF - 1, LEAF + 1, 2 * LEAF, table.num_rows]
    pieces = [table.slice(a, b - a) for a, b in itertools.pairwise(cuts)]
    assert content_digest(pa.concat_tables(pieces)) == content_digest(table)


def test_the_leaf_size_is_part_of_the_encoding(monkeypatch):
    """A digest over other leaves is another digest: L is fixed by §4.3, not a tuning knob."""
    table = _leafy_table()
    digest = content_digest(table)
    monkeypatch.setattr(table_digest, "LEAF_ROWS", LEAF // 2)
    assert content_digest(table) != digest

"""The Arrow data the data profiles write: small tables of every supported type with their
canonical type strings (spec/data.md §4.1, §4.2), values the content digest must see
through (§4.3), streams that are not valid Arrow IPC, and columns of unsupported types."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from lepton_conformance.suites.data.dataset_client import END_OF_STREAM, ipc_stream


def rows(count: int, start: int = 0) -> pa.Table:
    """`count` rows of (a: int64, b: string), a counting up from `start`."""
    values = list(range(start, start + count))
    return pa.table(
        {
            "a": pa.array(values, pa.int64()),
            "b": pa.array([f"row-{v}" for v in values], pa.string()),
        }
    )


def _list_of(item: pa.DataType, name: str = "item", nullable: bool = True) -> pa.DataType:
    return pa.list_(pa.field(name, item, nullable=nullable))


# Every type of §4.1 with the canonical string §4.2 gives it, three slots each. The list
# columns name their child "element" and mark it not null, which §4.2 normalizes away.
TYPED_COLUMNS: list[tuple[str, str, Callable[[], pa.Array]]] = [
    ("c_null", "null", lambda: pa.array([None, None, None], pa.null())),
    ("c_bool", "bool", lambda: pa.array([True, None, False])),
    ("c_int8", "int8", lambda: pa.array([-128, None, 127], pa.int8())),
    ("c_int16", "int16", lambda: pa.array([-32768, 7, None], pa.int16())),
    ("c_int32", "int32", lambda: pa.array([None, -1, 2**31 - 1], pa.int32())),
    ("c_int64", "int64", lambda: pa.array([-(2**63), 0, 2**63 - 1], pa.int64())),
    ("c_uint8", "uint8", lambda: pa.array([0, None, 255], pa.uint8())),
    ("c_uint16", "uint16", lambda: pa.array([0, 65535, None], pa.uint16())),
    ("c_uint32", "uint32", lambda: pa.array([2**32 - 1, None, 1], pa.uint32())),
    ("c_uint64", "uint64", lambda: pa.array([2**64 - 1, 0, None], pa.uint64())),
    ("c_half", "halffloat", lambda: pa.array(np.array([1.5, -0.0, np.nan], np.float16))),
    ("c_float", "float", lambda: pa.array([np.float32(0.1), None, -np.inf], pa.float32())),
    ("c_double", "double", lambda: pa.array([1e-300, float("nan"), None], pa.float64())),
    (
        "c_decimal128",
        "decimal128(10, 2)",
        lambda: pa.array(
            [decimal.Decimal("-12345678.90"), None, decimal.Decimal("0.01")],
            pa.decimal128(10, 2),
        ),
    ),
    (
        "c_decimal256",
        "decimal256(40, 5)",
        lambda: pa.array(
            [decimal.Decimal("-" + "9" * 35 + ".12345"), decimal.Decimal("1.00000"), None],
            pa.decimal256(40, 5),
        ),
    ),
    ("c_string", "string", lambda: pa.array(["", None, "πλ ✓"], pa.string())),
    ("c_large_string", "large_string", lambda: pa.array(["x", "yz", None], pa.large_string())),
    ("c_binary", "binary", lambda: pa.array([b"\x00\xff", None, b""], pa.binary())),
    ("c_large_binary", "large_binary", lambda: pa.array([None, b"ab", b"c"], pa.large_binary())),
    (
        "c_fixed_binary",
        "fixed_size_binary[3]",
        lambda: pa.array([b"abc", None, b"\x00\x01\x02"], pa.binary(3)),
    ),
    (
        "c_date32",
        "date32[day]",
        lambda: pa.array([datetime.date(2024, 2, 29), None, datetime.date(1969, 12, 31)]),
    ),
    ("c_date64", "date64[ms]", lambda: pa.array([86_400_000, None, -86_400_000], pa.date64())),
    ("c_time32_s", "time32[s]", lambda: pa.array([0, 86_399, None], pa.time32("s"))),
    ("c_time32_ms", "time32[ms]", lambda: pa.array([None, 1, 86_399_999], pa.time32("ms"))),
    ("c_time64_us", "time64[us]", lambda: pa.array([1, None, 2], pa.time64("us"))),
    ("c_time64_ns", "time64[ns]", lambda: pa.array([86_399_999_999_999, 0, None], pa.time64("ns"))),
    ("c_timestamp_s", "timestamp[s]", lambda: pa.array([0, None, -1], pa.timestamp("s"))),
    (
        "c_timestamp_utc",
        "timestamp[us, tz=UTC]",
        lambda: pa.array([1_700_000_000_000_000, None, 5], pa.timestamp("us", tz="UTC")),
    ),
    (
        "c_timestamp_offset",
        "timestamp[ns, tz=+05:30]",
        lambda: pa.array([None, 1, 2], pa.timestamp("ns", tz="+05:30")),
    ),
    (
        "c_timestamp_zone",
        "timestamp[ms, tz=Europe/Paris]",
        lambda: pa.array([3, 2, None], pa.timestamp("ms", tz="Europe/Paris")),
    ),
    ("c_duration", "duration[ms]", lambda: pa.array([-5, None, 5], pa.duration("ms"))),
    (
        "c_list",
        "list<item: int32>",
        lambda: pa.array([[1, 2], None, []], _list_of(pa.int32(), "element", nullable=False)),
    ),
    (
        "c_large_list",
        "large_list<item: string>",
        lambda: pa.array([["a", None], [], None], pa.large_list(pa.string())),
    ),
    (
        "c_fixed_list",
        "fixed_size_list<item: float>[2]",
        lambda: pa.array([[1.0, None], None, [3.0, 4.0]], pa.list_(pa.float32(), 2)),
    ),
    (
        "c_struct",
        "struct<x: double, y: list<item: string>>",
        lambda: pa.array(
            [{"x": 1.0, "y": ["a"]}, None, {"x": None, "y": None}],
            pa.struct([("x", pa.float64()), ("y", _list_of(pa.string(), "element"))]),
        ),
    ),
    (
        "c_map",
        "map<string, int64>",
        lambda: pa.array([[("k", 1), ("l", None)], None, []], pa.map_(pa.string(), pa.int64())),
    ),
]


def typed_table() -> pa.Table:
    """One column per entry of TYPED_COLUMNS, plus a column declared not null."""
    fields = [pa.field(name, build().type) for name, _, build in TYPED_COLUMNS]
    arrays = [build() for _, _, build in TYPED_COLUMNS]
    fields.append(pa.field("c_not_null", pa.int64(), nullable=False))
    arrays.append(pa.array([1, 2, 3], pa.int64()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def typed_fields() -> list[tuple[str, str, bool]]:
    """(name, canonical type string, nullable) of typed_table()'s columns."""
    return [(name, canonical, True) for name, canonical, _ in TYPED_COLUMNS] + [
        ("c_not_null", "int64", False)
    ]


# --- values the content digest sees through (§4.3) ---------------------------------------------


def _nan(bits: int) -> float:
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


def hidden_values_table(*, hidden: bool) -> pa.Table:
    """Three rows whose null slots hide values (when `hidden`) or hold zeros, NaNs with
    payloads and signs (when `hidden`) or the plain NaN, and one not-null flag. The two
    forms are equal for §4.3 and must digest alike."""
    validity = pa.py_buffer(bytes([0b101]))
    ints = np.array([1, 99 if hidden else 0, 3], dtype=np.int64)
    int_column = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.py_buffer(ints.tobytes())])
    text = b"onehiddenthree" if hidden else b"onethree"
    offsets = [0, 3, 9, 14] if hidden else [0, 3, 3, 8]
    string_column = pa.Array.from_buffers(
        pa.string(),
        3,
        [validity, pa.py_buffer(np.array(offsets, dtype=np.int32).tobytes()), pa.py_buffer(text)],
    )
    nans = (
        [_nan(0x7FF0000000000001), _nan(0xFFF8000000000000), -0.0]
        if hidden
        else [
            float("nan"),
            float("nan"),
            -0.0,
        ]
    )
    schema = pa.schema(
        [
            pa.field("i", pa.int64()),
            pa.field("s", pa.string()),
            pa.field("f", pa.float64(), nullable=not hidden),
        ],
        metadata={"written-by": "lepton-conformance"} if hidden else None,
    )
    return pa.Table.from_arrays(
        [int_column, string_column, pa.array(nans, pa.float64())], schema=schema
    )


# --- streams that are not valid Arrow IPC (DAT-023) ---------------------------------------------


def _batch_of_another_schema() -> list[bytes]:
    ours = rows(2)
    theirs = pa.table({"x": pa.array(["p", "q"]), "y": pa.array([1.5, 2.5])})
    batch = theirs.to_batches()[0].serialize().to_pybytes()
    return [ours.schema.serialize().to_pybytes() + batch + END_OF_STREAM]


INVALID_STREAMS: dict[str, Callable[[], list[bytes]]] = {
    "no-arrow-data": lambda: [],
    "empty-arrow-data": lambda: [b""],
    "end-of-stream-marker-only": lambda: [END_OF_STREAM],
    "not-arrow-at-all": lambda: [b"this is not an Arrow IPC stream, just text"],
    "truncated-record-batch": lambda: [ipc_stream(rows(4))[:-13]],
    "truncated-schema": lambda: [rows(4).schema.serialize().to_pybytes()[:20]],
    "bytes-after-the-end-marker": lambda: [ipc_stream(rows(2)), b"trailing bytes"],
    "record-batch-of-another-schema": _batch_of_another_schema,
    "empty-column-name": lambda: [ipc_stream(pa.table({"": [1, 2]}))],
    "duplicate-column-names": lambda: [
        ipc_stream(pa.Table.from_arrays([pa.array([1]), pa.array(["x"])], names=["a", "a"]))
    ],
}


# --- columns of types outside §4.1 (DAT-024) -----------------------------------------------------


class _PointType(pa.ExtensionType):
    """An extension type no server knows: it reaches the server as its storage type with
    the ARROW:extension:name field metadata, and is still an extension type."""

    def __init__(self) -> None:
        super().__init__(pa.struct([("x", pa.float64()), ("y", pa.float64())]), "lepton.point")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> _PointType:
        return cls()


def _sparse_union() -> pa.Array:
    return pa.UnionArray.from_sparse(
        pa.array([0, 1], pa.int8()), [pa.array([1, 2]), pa.array(["a", "b"])]
    )


def _dense_union() -> pa.Array:
    return pa.UnionArray.from_dense(
        pa.array([0, 1], pa.int8()),
        pa.array([0, 0], pa.int32()),
        [pa.array([1]), pa.array(["a"])],
    )


UNSUPPORTED_COLUMNS: dict[str, Callable[[], pa.Array]] = {
    "sparse-union": _sparse_union,
    "dense-union": _dense_union,
    "union-inside-a-list": lambda: pa.ListArray.from_arrays([0, 1, 2], _sparse_union()),
    "union-inside-a-struct": lambda: pa.StructArray.from_arrays([_sparse_union()], names=["u"]),
    "unregistered-extension-type": lambda: pa.ExtensionArray.from_storage(
        _PointType(), pa.array([{"x": 1.0, "y": 2.0}, None], _PointType().storage_type)
    ),
    "run-end-encoded": lambda: pa.RunEndEncodedArray.from_arrays([2], ["a"]),
    "string-view": lambda: pa.array(["a", "b"], pa.string_view()),
    "binary-view": lambda: pa.array([b"a", None], pa.binary_view()),
    "list-view": lambda: pa.array([[1], None], pa.list_view(pa.int64())),
    "month-day-nano-interval": lambda: pa.array(
        [pa.MonthDayNano([1, 2, 3]), None], pa.month_day_nano_interval()
    ),
}
if hasattr(pa, "uuid"):  # canonical extension types arrived in pyarrow 18
    UNSUPPORTED_COLUMNS["canonical-extension-uuid"] = lambda: pa.ExtensionArray.from_storage(
        pa.uuid(), pa.array([b"0123456789abcdef", None], pa.binary(16))
    )


def unsupported_table(kind: str) -> pa.Table:
    """A supported column `ok` followed by a column `bad` of the unsupported kind."""
    bad = UNSUPPORTED_COLUMNS[kind]()
    return pa.table({"ok": pa.array(range(len(bad)), pa.int64()), "bad": bad})

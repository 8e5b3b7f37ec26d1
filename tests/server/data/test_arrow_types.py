"""Arrow types of spec/data.md §4.1 and §4.2: what a schema may hold, how each type is spelled,
and which strings a pipeline cast accepts (DAT-024, DAT-025, DAT-040, DAT-098)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lepton_server.data.arrow_types import (
    InvalidColumnNames,
    UnsupportedArrowType,
    canonical_type,
    check_supported,
    decode_dictionaries,
    field_descriptions,
    parse_cast_type,
)

# --- §4.1: supported types --------------------------------------------------------------------

SUPPORTED = [
    pa.null(),
    pa.bool_(),
    pa.int8(),
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.uint8(),
    pa.uint16(),
    pa.uint32(),
    pa.uint64(),
    pa.float16(),
    pa.float32(),
    pa.float64(),
    pa.decimal128(38, 10),
    pa.decimal256(76, 0),
    pa.string(),
    pa.large_string(),
    pa.binary(),
    pa.large_binary(),
    pa.binary(16),
    pa.date32(),
    pa.date64(),
    pa.time32("s"),
    pa.time32("ms"),
    pa.time64("us"),
    pa.time64("ns"),
    pa.timestamp("s"),
    pa.timestamp("ns", tz="Europe/Paris"),
    pa.duration("us"),
    pa.list_(pa.int8()),
    pa.large_list(pa.string()),
    pa.list_(pa.float32(), 3),
    pa.struct([("a", pa.int8()), ("b", pa.list_(pa.string()))]),
    pa.struct([]),
    pa.map_(pa.string(), pa.list_(pa.int64())),
    pa.dictionary(pa.int32(), pa.string()),
    pa.list_(pa.dictionary(pa.int8(), pa.large_binary())),
]

UNSUPPORTED = [
    pa.dense_union([pa.field("a", pa.int8())]),
    pa.sparse_union([pa.field("a", pa.int8())]),
    pa.uuid(),
    pa.json_(),
    pa.run_end_encoded(pa.int32(), pa.string()),
    pa.string_view(),
    pa.binary_view(),
    pa.list_view(pa.int8()),
    pa.large_list_view(pa.int8()),
    pa.month_day_nano_interval(),
    pa.decimal32(9, 2),
    pa.decimal64(18, 2),
    pa.dictionary(pa.int8(), pa.string_view()),
]


@pytest.mark.parametrize("arrow_type", SUPPORTED, ids=str)
def test_every_section_4_1_type_is_supported(arrow_type):
    check_supported(pa.schema([("column", arrow_type)]))


@pytest.mark.parametrize("arrow_type", UNSUPPORTED, ids=str)
def test_types_outside_section_4_1_are_rejected_naming_the_column(arrow_type):
    schema = pa.schema([("fine", pa.int64()), ("odd", arrow_type)])
    with pytest.raises(UnsupportedArrowType) as raised:
        check_supported(schema)
    assert raised.value.column == "odd"
    assert "odd" in str(raised.value)


@pytest.mark.parametrize(
    "arrow_type",
    [
        pa.list_(pa.string_view()),
        pa.large_list(pa.list_(pa.month_day_nano_interval(), 2)),
        pa.struct([("a", pa.int8()), ("b", pa.struct([("c", pa.uuid())]))]),
        pa.map_(pa.string(), pa.binary_view()),
        pa.map_(pa.string(), pa.list_(pa.dense_union([pa.field("u", pa.int8())]))),
    ],
    ids=str,
)
def test_unsupported_types_are_found_at_any_depth(arrow_type):
    with pytest.raises(UnsupportedArrowType) as raised:
        check_supported(pa.schema([("outer", arrow_type)]))
    assert raised.value.column == "outer"


def test_unsupported_type_error_names_the_offending_type():
    with pytest.raises(UnsupportedArrowType) as raised:
        check_supported(pa.schema([("x", pa.list_(pa.string_view()))]))
    assert raised.value.arrow_type == pa.string_view()
    assert "string_view" in str(raised.value)


def test_empty_column_name_is_rejected():
    with pytest.raises(InvalidColumnNames):
        check_supported(pa.schema([("", pa.int8())]))


def test_duplicate_column_names_are_rejected():
    with pytest.raises(InvalidColumnNames, match="'a'"):
        check_supported(pa.schema([("a", pa.int8()), ("b", pa.int8()), ("a", pa.string())]))


def test_invalid_column_names_is_a_value_error():
    assert issubclass(InvalidColumnNames, ValueError)


def test_nested_names_may_repeat_or_be_empty():
    check_supported(
        pa.schema([("s", pa.struct([("", pa.int8()), ("x", pa.int8()), ("x", pa.int8())]))])
    )


# --- §4.2: canonical type strings -------------------------------------------------------------

CANONICAL = [
    (pa.null(), "null"),
    (pa.bool_(), "bool"),
    (pa.int8(), "int8"),
    (pa.int16(), "int16"),
    (pa.int32(), "int32"),
    (pa.int64(), "int64"),
    (pa.uint8(), "uint8"),
    (pa.uint16(), "uint16"),
    (pa.uint32(), "uint32"),
    (pa.uint64(), "uint64"),
    (pa.float16(), "halffloat"),
    (pa.float32(), "float"),
    (pa.float64(), "double"),
    (pa.decimal128(10, 2), "decimal128(10, 2)"),
    (pa.decimal256(50, 0), "decimal256(50, 0)"),
    (pa.string(), "string"),
    (pa.large_string(), "large_string"),
    (pa.binary(), "binary"),
    (pa.large_binary(), "large_binary"),
    (pa.binary(7), "fixed_size_binary[7]"),
    (pa.date32(), "date32[day]"),
    (pa.date64(), "date64[ms]"),
    (pa.time32("s"), "time32[s]"),
    (pa.time32("ms"), "time32[ms]"),
    (pa.time64("us"), "time64[us]"),
    (pa.time64("ns"), "time64[ns]"),
    (pa.timestamp("s"), "timestamp[s]"),
    (pa.timestamp("ms"), "timestamp[ms]"),
    (pa.timestamp("us", tz="UTC"), "timestamp[us, tz=UTC]"),
    (pa.timestamp("ns", tz="+05:30"), "timestamp[ns, tz=+05:30]"),
    (pa.duration("s"), "duration[s]"),
    (pa.duration("ns"), "duration[ns]"),
    (pa.list_(pa.int32()), "list<item: int32>"),
    (pa.large_list(pa.string()), "large_list<item: string>"),
    (pa.list_(pa.float64(), 4), "fixed_size_list<item: double>[4]"),
    (pa.struct([("a", pa.int8()), ("b", pa.string())]), "struct<a: int8, b: string>"),
    (pa.struct([]), "struct<>"),
    (pa.map_(pa.string(), pa.int32()), "map<string, int32>"),
]


@pytest.mark.parametrize(("arrow_type", "expected"), CANONICAL, ids=[c[1] for c in CANONICAL])
def test_canonical_type_string(arrow_type, expected):
    assert canonical_type(arrow_type) == expected


def test_list_children_are_named_item_whatever_their_declared_name():
    assert canonical_type(pa.list_(pa.field("element", pa.int8()))) == "list<item: int8>"
    assert canonical_type(pa.large_list(pa.field("x", pa.int8()))) == "large_list<item: int8>"
    assert canonical_type(pa.list_(pa.field("y", pa.int8()), 2)) == "fixed_size_list<item: int8>[2]"


def test_not_null_markers_are_dropped_at_every_depth():
    inner = pa.struct(
        [pa.field("a", pa.list_(pa.field("item", pa.int8(), nullable=False)), nullable=False)]
    )
    assert canonical_type(pa.list_(pa.field("item", inner, nullable=False))) == (
        "list<item: struct<a: list<item: int8>>>"
    )


def test_map_entry_names_and_sorted_keys_flag_are_dropped():
    named = pa.map_(
        pa.field("k", pa.string(), nullable=False),
        pa.field("v", pa.int32(), nullable=False),
        keys_sorted=True,
    )
    assert canonical_type(named) == "map<string, int32>"


def test_nested_types_spell_their_children_canonically():
    t = pa.map_(
        pa.string(),
        pa.struct([("ts", pa.timestamp("ms", tz="UTC")), ("l", pa.large_list(pa.binary(2)))]),
    )
    assert (
        canonical_type(t) == "map<string, struct<ts: timestamp[ms, tz=UTC], "
        "l: large_list<item: fixed_size_binary[2]>>>"
    )


def test_dictionary_type_is_named_by_its_value_type():
    assert canonical_type(pa.dictionary(pa.int16(), pa.string())) == "string"


@pytest.mark.parametrize(
    "arrow_type", [pa.string_view(), pa.uuid(), pa.month_day_nano_interval()], ids=str
)
def test_types_outside_section_4_1_have_no_canonical_string(arrow_type):
    with pytest.raises(ValueError):
        canonical_type(arrow_type)


def test_field_descriptions_list_name_canonical_type_and_nullability_in_order():
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("tags", pa.list_(pa.field("t", pa.string(), nullable=False))),
        ]
    )
    assert field_descriptions(schema) == [
        ("id", "int64", False),
        ("tags", "list<item: string>", True),
    ]


# --- Dictionary decoding (DAT-025) -------------------------------------------------------------


def test_top_level_dictionary_column_is_decoded_to_its_values():
    values = pa.array(["a", None, "b", "a"])
    table = decode_dictionaries(pa.table({"c": values.dictionary_encode()}))
    assert table.schema.field("c").type == pa.string()
    assert table.column("c").to_pylist() == values.to_pylist()


def test_chunks_with_different_dictionaries_decode_to_one_type():
    chunks = pa.chunked_array(
        [pa.array(["x", "y"]).dictionary_encode(), pa.array(["z", None]).dictionary_encode()]
    )
    table = decode_dictionaries(pa.table({"c": chunks}))
    assert table.column("c").type == pa.string()
    assert table.column("c").to_pylist() == ["x", "y", "z", None]


def test_dictionaries_nested_in_lists_structs_and_maps_are_decoded():
    codes = pa.array(["p", "q", None, "p"]).dictionary_encode()
    listed = pa.ListArray.from_arrays(pa.array([0, 2, 4]), codes)
    fixed = pa.FixedSizeListArray.from_arrays(codes, 2)
    structured = pa.StructArray.from_arrays([codes[2:], pa.array([3, 4])], names=["k", "n"])
    mapped = pa.MapArray.from_arrays(pa.array([0, 1, 4]), pa.array(["a", "b", "c", "d"]), codes)
    table = decode_dictionaries(pa.table({"l": listed, "f": fixed, "s": structured, "m": mapped}))
    assert [canonical_type(t) for t in table.schema.types] == [
        "list<item: string>",
        "fixed_size_list<item: string>[2]",
        "struct<k: string, n: int64>",
        "map<string, string>",
    ]
    assert not any("dictionary" in str(t) for t in table.schema.types)
    assert table.column("l").to_pylist() == [["p", "q"], [None, "p"]]
    assert table.column("s").to_pylist() == [{"k": None, "n": 3}, {"k": "p", "n": 4}]
    assert table.column("m").to_pylist() == [[("a", "p")], [("b", "q"), ("c", None), ("d", "p")]]


def test_dictionary_of_nested_values_is_decoded():
    encoded = pa.DictionaryArray.from_arrays(
        pa.array([1, 0, None, 1], pa.int8()), pa.array([[1], [2, 3]])
    )
    table = decode_dictionaries(pa.table({"d": encoded}))
    assert table.column("d").to_pylist() == [[2, 3], [1], None, [2, 3]]


def test_sliced_nested_dictionary_decodes_the_visible_rows():
    codes = pa.array(["p", "q", "r", "s"]).dictionary_encode()
    listed = pa.ListArray.from_arrays(
        pa.array([0, 1, 3, 4]), codes, mask=pa.array([False, True, False])
    ).slice(1)
    table = decode_dictionaries(pa.table({"l": listed}))
    assert table.column("l").to_pylist() == [None, ["s"]]


def test_decoding_keeps_names_nullability_and_metadata():
    schema = pa.schema(
        [pa.field("c", pa.dictionary(pa.int8(), pa.string()), nullable=False, metadata={"k": "v"})],
        metadata={"table": "meta"},
    )
    table = decode_dictionaries(
        pa.table(
            {"c": pa.array(["a"]).dictionary_encode().cast(schema.field("c").type)}, schema=schema
        )
    )
    field = table.schema.field("c")
    assert (field.nullable, field.metadata, table.schema.metadata) == (
        False,
        {b"k": b"v"},
        {b"table": b"meta"},
    )


def test_table_without_dictionaries_is_returned_unchanged():
    table = pa.table({"a": [1, 2]})
    assert decode_dictionaries(table) is table


# --- §4.2: cast type strings (DAT-098) -------------------------------------------------------

CAST_TYPES = [
    ("bool", pa.bool_()),
    ("int8", pa.int8()),
    ("int16", pa.int16()),
    ("int32", pa.int32()),
    ("int64", pa.int64()),
    ("uint8", pa.uint8()),
    ("uint16", pa.uint16()),
    ("uint32", pa.uint32()),
    ("uint64", pa.uint64()),
    ("halffloat", pa.float16()),
    ("float", pa.float32()),
    ("double", pa.float64()),
    ("string", pa.string()),
    ("large_string", pa.large_string()),
    ("binary", pa.binary()),
    ("large_binary", pa.large_binary()),
    ("date32[day]", pa.date32()),
    ("date64[ms]", pa.date64()),
    ("time32[s]", pa.time32("s")),
    ("time32[ms]", pa.time32("ms")),
    ("time64[us]", pa.time64("us")),
    ("time64[ns]", pa.time64("ns")),
    ("timestamp[s]", pa.timestamp("s")),
    ("timestamp[ms]", pa.timestamp("ms")),
    ("timestamp[us]", pa.timestamp("us")),
    ("timestamp[ns]", pa.timestamp("ns")),
    ("timestamp[us, tz=UTC]", pa.timestamp("us", tz="UTC")),
    ("timestamp[s, tz=Europe/Paris]", pa.timestamp("s", tz="Europe/Paris")),
    (
        "timestamp[ms, tz=America/Argentina/Buenos_Aires]",
        pa.timestamp("ms", tz="America/Argentina/Buenos_Aires"),
    ),
    ("timestamp[ns, tz=Etc/GMT+5]", pa.timestamp("ns", tz="Etc/GMT+5")),
    ("timestamp[ns, tz=+05:30]", pa.timestamp("ns", tz="+05:30")),
    ("timestamp[us, tz=-23:59]", pa.timestamp("us", tz="-23:59")),
    ("timestamp[us, tz=+00:00]", pa.timestamp("us", tz="+00:00")),
    ("duration[s]", pa.duration("s")),
    ("duration[ms]", pa.duration("ms")),
    ("duration[us]", pa.duration("us")),
    ("duration[ns]", pa.duration("ns")),
    ("decimal128(1, 0)", pa.decimal128(1, 0)),
    ("decimal128(10, 2)", pa.decimal128(10, 2)),
    ("decimal128(38, 38)", pa.decimal128(38, 38)),
    ("decimal256(1, 1)", pa.decimal256(1, 1)),
    ("decimal256(76, 0)", pa.decimal256(76, 0)),
]


@pytest.mark.parametrize(("text", "expected"), CAST_TYPES, ids=[c[0] for c in CAST_TYPES])
def test_cast_grammar_production_parses_to_its_type(text, expected):
    assert parse_cast_type(text) == expected


@pytest.mark.parametrize("text", [c[0] for c in CAST_TYPES])
def test_cast_type_string_is_the_canonical_string_of_its_type(text):
    assert canonical_type(parse_cast_type(text)) == text


NEAR_MISSES = [
    "",
    "float64",
    "float32",
    "int",
    "boolean",
    "utf8",
    "Int64",
    "INT64",
    "int64 ",
    " int64",
    "int64\n",
    "null",
    "fixed_size_binary[4]",
    "list<item: int8>",
    "struct<a: int8>",
    "map<string, int8>",
    "dictionary<values=string, indices=int8, ordered=0>",
    "date32",
    "date32[ms]",
    "date64[day]",
    "time32[us]",
    "time64[s]",
    "time32",
    "timestamp",
    "timestamp[]",
    "timestamp[m]",
    "timestamp[us,tz=UTC]",
    "timestamp[us, tz= UTC]",
    "timestamp[us, tz=]",
    "timestamp[us, tz=utc]",
    "timestamp[us, tz=Mars/Olympus_Mons]",
    "timestamp[us, tz=Europe]",
    "timestamp[us, tz=localtime]",
    "timestamp[us, tz=+24:00]",
    "timestamp[us, tz=+05:60]",
    "timestamp[us, tz=+5:30]",
    "timestamp[us, tz=05:30]",
    "timestamp[us, tz=+0530]",
    "timestamp[us, tz=Europe/../UTC]",
    "timestamp[us, tz=1UTC]",
    "duration[day]",
    "duration",
    "decimal128(10,2)",
    "decimal128(10 , 2)",
    "decimal128( 10, 2)",
    "decimal128(10)",
    "decimal128(0, 0)",
    "decimal128(39, 0)",
    "decimal128(010, 2)",
    "decimal128(10, 02)",
    "decimal128(10, 11)",
    "decimal128(10, -1)",
    "decimal128(-1, 0)",
    "decimal256(77, 0)",
    "decimal256(" + "9" * 5000 + ", 0)",
    "decimal128(\uff110, 2)",  # a fullwidth digit
    "decimal(10, 2)",
    "decimal32(5, 2)",
    "decimal64(10, 2)",
]


@pytest.mark.parametrize("text", NEAR_MISSES, ids=lambda text: repr(text[:40]))
def test_cast_grammar_rejects_near_misses(text):
    with pytest.raises(ValueError):
        parse_cast_type(text)


def test_cast_rejection_message_quotes_the_string():
    with pytest.raises(ValueError, match="float64"):
        parse_cast_type("float64")


def test_out_of_range_decimal_message_names_the_range():
    with pytest.raises(ValueError, match=r"1\.\.38"):
        parse_cast_type("decimal128(39, 0)")

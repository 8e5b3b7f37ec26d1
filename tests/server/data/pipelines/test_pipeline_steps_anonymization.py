"""The anonymize step: hash, mask, redact and drop (spec/data.md §6.4, DAT-119 to
DAT-121)."""

from __future__ import annotations

import hashlib

import pyarrow as pa
from support.pipelines import PEOPLE, column, pipeline

from lepton_server.data.pipelines import run

# --- anonymize (DAT-119 to DAT-121) ------------------------------------------------------------


def test_hash_is_the_salted_sha256_of_the_value_bytes() -> None:
    table = pa.table({"n": [42, -7, None, 42], "s": ["ann", None, "é", "ann"]})
    step = (
        'anonymize { columns { column: "n" hash { salt: "pepper" } }'
        ' columns { column: "s" hash { salt: "pepper" } } }'
    )
    result = run(pipeline(step), table).table

    def pseudonym(value: bytes) -> str:
        return hashlib.sha256(b"pepper" + value).hexdigest()

    assert result.column("n").to_pylist() == [
        pseudonym(b"42"),
        pseudonym(b"-7"),
        None,
        pseudonym(b"42"),
    ]
    assert result.column("s").to_pylist() == [
        pseudonym(b"ann"),
        None,
        pseudonym("é".encode()),
        pseudonym(b"ann"),
    ]
    assert result.schema.field("n").type == pa.string()


def test_mask_keeps_the_first_characters() -> None:
    step = 'anonymize { columns { column: "name" mask { chars_to_keep: 1 } } }'
    assert column(PEOPLE, "name", step) == ["a**", "b**", None, "d***"]


def test_mask_can_keep_the_last_characters_with_another_character() -> None:
    table = pa.table({"card": ["4111222233334444", "12", "ü1234"]})
    step = (
        'anonymize { columns { column: "card" mask { chars_to_keep: 4 from_end: true'
        ' masking_char: "•" } } }'
    )
    assert column(table, "card", step) == ["••••••••••••4444", "12", "•1234"]


def test_redact_replaces_values_and_keeps_nulls() -> None:
    step = 'anonymize { columns { column: "age" redact { replacement: "?" } } }'
    result = run(pipeline(step), PEOPLE).table
    assert result.column("age").to_pylist() == ["?", None, "?", "?"]
    assert result.schema.field("age").type == pa.string()


def test_drop_removes_the_column() -> None:
    step = 'anonymize { columns { column: "name" drop {} } }'
    assert run(pipeline(step), PEOPLE).table.column_names == ["id", "age", "score", "active"]

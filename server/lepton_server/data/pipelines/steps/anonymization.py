"""The anonymize step (spec/data.md §6.4, DAT-119 to DAT-121): per column a salted SHA-256
hash, a mask, a redaction, or the column dropped."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines.plans import (
    FieldPath,
    Fitted,
    Plan,
    StepCompiler,
    column_array,
    columns_named_once,
)
from lepton_server.data.pipelines.type_classes import is_bytes, is_text, type_string

_MAX_SALT_BYTES = 1024


def _anonymize(step: pb.AnonymizeStep, schema: pa.Schema, path: FieldPath) -> Plan:
    columns_path = path.field("columns")
    if not step.columns:
        raise columns_path.invalid("at least one column is required")
    # Per anonymized column: how its values change, or None when it is dropped.
    operations: dict[int, Callable[[pa.Array], pa.Array] | None] = {}
    output_types: dict[int, pa.DataType] = {}
    entries = columns_named_once(
        step.columns, "column", schema, columns_path, "column {!r} is anonymized twice"
    )
    for entry, item, index in entries:
        operations[index] = _anonymizer(entry, schema.field(index).type, item)
        if operations[index] is not None:
            mask = entry.WhichOneof("operator") == "mask"
            output_types[index] = schema.field(index).type if mask else pa.string()
    fields = [
        field if index not in operations else pa.field(field.name, output_types[index])
        for index, field in enumerate(schema)
        if operations.get(index, _unchanged) is not None
    ]
    output = pa.schema(fields, metadata=schema.metadata)

    def apply(table: pa.Table) -> tuple[pa.Table, Fitted]:
        arrays = []
        for index in range(table.num_columns):
            operation = operations.get(index, _unchanged)
            if operation is not None:
                arrays.append(operation(column_array(table, index)))
        return pa.Table.from_arrays(arrays, schema=output), []

    return Plan(output, apply, row_wise=True)


def _anonymizer(
    entry: pb.ColumnAnonymization, t: pa.DataType, path: FieldPath
) -> Callable[[pa.Array], pa.Array] | None:
    """The operation of one ColumnAnonymization on a column of type `t`; None for drop."""
    operator = entry.WhichOneof("operator")
    if operator is None:
        raise path.invalid("exactly one operator (hash, mask, redact, drop) must be set")
    if operator == "hash":
        salt = entry.hash.salt.encode()
        if not 0 < len(salt) <= _MAX_SALT_BYTES:
            raise path.field("hash.salt").invalid(
                f"the salt must have 1 to {_MAX_SALT_BYTES} bytes"
            )
        if not (is_text(t) or is_bytes(t) or pa.types.is_integer(t)):
            raise path.field("column").mismatch(
                f"hash does not accept a column of type {type_string(t)}"
            )
        return functools.partial(_hash_values, salt=salt)
    if operator == "mask":
        mask = entry.mask
        if len(mask.masking_char) > 1:
            raise path.field("mask.masking_char").invalid("must be a single code point")
        if mask.chars_to_keep < 0:
            raise path.field("mask.chars_to_keep").invalid("must not be negative")
        if not is_text(t):
            raise path.field("column").mismatch(f"mask needs a string column, not {type_string(t)}")
        return functools.partial(
            _mask_values,
            character=mask.masking_char or "*",
            keep=mask.chars_to_keep,
            from_end=mask.from_end,
        )
    if operator == "redact":
        return functools.partial(_redact_values, text=entry.redact.replacement)
    return None


def _unchanged(array: pa.Array) -> pa.Array:
    return array


def _hash_values(array: pa.Array, *, salt: bytes) -> pa.Array:
    """hex(SHA-256(salt ‖ value bytes)) per non-null value, computed once per distinct value."""
    encoded = array.dictionary_encode()
    distinct = encoded.dictionary
    if pa.types.is_integer(distinct.type):
        distinct = pc.cast(distinct, pa.string())  # canonical decimal text
    salted = hashlib.sha256(salt)
    digests = []
    for value in distinct.to_pylist():
        digest = salted.copy()
        digest.update(value.encode() if isinstance(value, str) else value)
        digests.append(digest.hexdigest())
    return pa.array(digests, pa.string()).take(encoded.indices)


def _mask_values(array: pa.Array, *, character: str, keep: int, from_end: bool) -> pa.Array:
    lengths = pc.cast(pc.utf8_length(array), pa.int64())
    hidden = pc.max_element_wise(pc.subtract(lengths, keep), 0)
    masked = pc.binary_repeat(pa.scalar(character), hidden)
    if keep == 0:
        visible = pc.utf8_slice_codeunits(array, 0, 0)
    elif from_end:
        visible = pc.utf8_slice_codeunits(array, -keep)
    else:
        visible = pc.utf8_slice_codeunits(array, 0, keep)
    parts = (masked, visible) if from_end else (visible, masked)
    joined = pc.binary_join_element_wise(*(pc.cast(p, pa.string()) for p in parts), "")
    return pc.cast(joined, array.type)


def _redact_values(array: pa.Array, *, text: str) -> pa.Array:
    return pc.if_else(pc.is_valid(array), pa.scalar(text), pa.scalar(None, pa.string()))


COMPILERS: dict[str, StepCompiler] = {
    "anonymize": _anonymize,
}

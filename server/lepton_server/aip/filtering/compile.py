"""A filter's meaning: `compile_filter` parses the text (grammar.parse_filter), checks every
term against the fields the List RPC accepts (their type and operators, GEN-049), reads each
literal as its field's type, and returns a `Filter` that evaluates an item through a getter,
so every layer uses it whatever its storage. Every problem is one INVALID_ARGUMENT
[INVALID_FILTER] whose BadRequest violation names the filter field and whose description names
the offending term (GEN-048)."""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lepton_server.aip.filtering.fields import (
    LABELS,
    METRICS,
    FieldType,
    FilterField,
    list_operators,
)
from lepton_server.aip.filtering.grammar import (
    INVALID_FILTER,
    MAP_ENTRY,
    Literal,
    LiteralKind,
    ParsedTerm,
    parse_filter,
    quoted,
)
from lepton_server.aip.filtering.values import (
    duration_nanos,
    instant_nanos,
    parse_duration_nanos,
    parse_timestamp_nanos,
    simple_casefold,
)
from lepton_server.runtime.errors import InvalidArgument, invalid_argument

# Longer than any int64 or uint64; also keeps int() clear of Python's digit limit.
_MAX_INTEGER_DIGITS = 20


class _WrongValue(Exception):
    """A literal that does not fit its field's type; the message says why."""


@dataclass(frozen=True)
class Term:
    """A term checked against its field: `value` is of the field's type (times in nanoseconds)."""

    field: FilterField
    # The entry a map field's term names (the key of `labels.<key>`, `metrics.<name>`).
    label_key: str | None
    operator: str
    value: Any
    text: str

    def holds(self, get: Callable[[str], Any]) -> bool:
        """Whether the item whose fields `get` returns satisfies this term (GEN-047)."""
        if self.field.repeated:
            return any(
                self._compares(lambda path, value=value: value) for value in get(self.field.path)
            )
        return self._compares(get)

    def _compares(self, get: Callable[[str], Any]) -> bool:
        actual = _ITEM_READERS[self.field.type](self, get)
        # None here is an unset timestamp or duration, or a missing metric: it satisfies no term.
        return actual is not None and _COMPARE[self.operator](actual, self.value)

    def canonical(self) -> str:
        name = self.field.path if self.label_key is None else f"{self.field.path}.{self.label_key}"
        return json.dumps([name, self.operator, self.value])


@dataclass(frozen=True)
class Filter:
    """A compiled filter: every term must hold. No terms (an empty filter) matches everything."""

    terms: tuple[Term, ...] = ()

    def matches(self, get: Callable[[str], Any]) -> bool:
        """Whether the item whose fields `get(path)` returns passes the filter.

        For a `labels.<key>` or `metrics.<name>` term `get` receives "labels" or "metrics"
        and returns the mapping.
        """
        return all(term.holds(get) for term in self.terms)

    @property
    def fingerprint(self) -> str:
        """A stable digest of what the filter means, for binding page tokens (GEN-043).

        Term order, whitespace and the spelling of equal values (an instant with another
        offset, an enum's full name) do not change it, since they do not change the result.
        """
        canonical = json.dumps(sorted(term.canonical() for term in self.terms))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def compile_filter(text: str, fields: Sequence[FilterField], field_path: str = "filter") -> Filter:
    """The `Filter` that `text` writes, over the fields a List RPC lists (GEN-045 to GEN-049).

    Raises INVALID_ARGUMENT [INVALID_FILTER] with a violation on `field_path` for text outside
    the grammar, an unlisted field, an operator the field does not allow, or a value of the
    wrong type. An empty or whitespace-only filter matches every item.
    """
    table = _field_table(fields)
    return Filter(tuple(_bind(term, table, field_path) for term in parse_filter(text, field_path)))


def _field_table(fields: Sequence[FilterField]) -> dict[str, FilterField]:
    table: dict[str, FilterField] = {}
    for definition in fields:
        if definition.path in table:
            raise ValueError(f"filter field {definition.path} is listed twice")
        table[definition.path] = definition
    return table


def _bind(term: ParsedTerm, table: Mapping[str, FilterField], field_path: str) -> Term:
    def error(problem: str) -> InvalidArgument:
        return invalid_argument(INVALID_FILTER, field_path, f"term {quoted(term.text)}: {problem}")

    entry = MAP_ENTRY.fullmatch(term.field)
    definition = table.get(entry.group(1) if entry else term.field)
    if term.field in (LABELS, METRICS) and term.field in table:
        raise error(f"name one entry, as {table[term.field].describe()}")
    if definition is None or definition.is_map != bool(entry):
        listed = ", ".join(sorted(d.describe() for d in table.values())) or "no fields"
        raise error(f"unknown field {term.field}; this filter accepts {listed}")
    if term.operator not in definition.operators:
        raise error(
            f"operator {term.operator} is not allowed on {definition.describe()}, "
            f"which allows {list_operators(definition.operators)}"
        )
    try:
        value = _LITERAL_READERS[definition.type](term.literal, definition)
    except _WrongValue as wrong:
        raise error(str(wrong)) from None
    key = entry.group(2) if entry else None
    return Term(definition, key, term.operator, value, term.text)


# Reading literals as their field's type (GEN-046).


def _expect(literal: Literal, kind: LiteralKind, field: FilterField, how: str) -> None:
    if literal.kind is not kind:
        raise _WrongValue(f"{field.describe()} is of type {field.type.value}, written {how}")


def _read_string(literal: Literal, field: FilterField) -> str:
    _expect(literal, LiteralKind.STRING, field, 'as a double-quoted string, e.g. "text"')
    return literal.string


def _read_integer(literal: Literal, field: FilterField) -> int:
    _expect(literal, LiteralKind.NUMBER, field, "as an unquoted whole number, e.g. 10")
    if not re.fullmatch(r"-?[0-9]+", literal.text):
        raise _WrongValue(f"{field.path} is an integer and takes no fraction or exponent")
    if len(literal.text.lstrip("-").lstrip("0")) > _MAX_INTEGER_DIGITS:
        raise _WrongValue(f"{literal.text} is out of range for the integer {field.path}")
    return int(literal.text)


def _read_float(literal: Literal, field: FilterField) -> float:
    _expect(literal, LiteralKind.NUMBER, field, "as an unquoted number, e.g. 0.5")
    return float(literal.text)


def _read_boolean(literal: Literal, field: FilterField) -> bool:
    _expect(literal, LiteralKind.BOOLEAN, field, "true or false, unquoted")
    return literal.text == "true"


def _read_timestamp(literal: Literal, field: FilterField) -> int:
    how = 'as a quoted RFC 3339 date-time with a time zone, e.g. "2025-06-01T00:00:00Z"'
    return _read_nanos(literal, field, how, "timestamp", parse_timestamp_nanos)


def _read_duration(literal: Literal, field: FilterField) -> int:
    how = 'as quoted seconds with an s suffix, e.g. "3600s" or "0.5s"'
    return _read_nanos(literal, field, how, "duration", parse_duration_nanos)


def _read_nanos(
    literal: Literal, field: FilterField, how: str, what: str, parse: Callable[[str], int | None]
) -> int:
    """A quoted time (a `what`, written `how`) in nanoseconds, as `parse` reads it."""
    _expect(literal, LiteralKind.STRING, field, how)
    nanos = parse(literal.string)
    if nanos is None:
        raise _WrongValue(f"{literal.text} is not a {what}; {field.path} is written {how}")
    return nanos


def _read_enum(literal: Literal, field: FilterField) -> str:
    _expect(literal, LiteralKind.ENUM_NAME, field, "as an unquoted value name, e.g. SUCCEEDED")
    name = literal.text
    if field.enum_prefix and name.startswith(field.enum_prefix):
        # The full name means the same as the bare one (GEN-046).
        name = name[len(field.enum_prefix) :]
    if name == "UNSPECIFIED":
        raise _WrongValue(f"{literal.text}, the _UNSPECIFIED value, is not a valid filter value")
    if name not in field.enum_values:
        raise _WrongValue(
            f"{field.path} has no value {literal.text}; its values are "
            f"{', '.join(sorted(field.enum_values))}"
        )
    return name


_LITERAL_READERS: dict[FieldType, Callable[[Literal, FilterField], Any]] = {
    FieldType.STRING: _read_string,
    FieldType.RESOURCE_NAME: _read_string,
    FieldType.INTEGER: _read_integer,
    FieldType.FLOAT: _read_float,
    FieldType.BOOLEAN: _read_boolean,
    FieldType.TIMESTAMP: _read_timestamp,
    FieldType.DURATION: _read_duration,
    FieldType.ENUM: _read_enum,
    FieldType.LABEL: _read_string,
    FieldType.METRIC: _read_float,
}


# Reading item values (GEN-047). Unset scalars compare as their proto3 default; an unset
# timestamp or duration is None, which satisfies no term.


def _item_string(term: Term, get: Callable[[str], Any]) -> str:
    value = get(term.field.path)
    return "" if value is None else value


def _item_label(term: Term, get: Callable[[str], Any]) -> str:
    labels = get(LABELS) or {}
    return labels.get(term.label_key, "")


def _item_metric(term: Term, get: Callable[[str], Any]) -> float | None:
    metrics = get(METRICS) or {}
    return metrics.get(term.label_key)


def _item_integer(term: Term, get: Callable[[str], Any]) -> int:
    value = get(term.field.path)
    return 0 if value is None else value


def _item_float(term: Term, get: Callable[[str], Any]) -> float:
    value = get(term.field.path)
    return 0.0 if value is None else value


def _item_boolean(term: Term, get: Callable[[str], Any]) -> bool:
    return bool(get(term.field.path))


def _item_timestamp(term: Term, get: Callable[[str], Any]) -> int | None:
    return instant_nanos(get(term.field.path))


def _item_duration(term: Term, get: Callable[[str], Any]) -> int | None:
    return duration_nanos(get(term.field.path))


def _item_enum(term: Term, get: Callable[[str], Any]) -> str:
    value = get(term.field.path)
    if value is None:
        # The _UNSPECIFIED default, which no filter value equals.
        return ""
    name = value.name if isinstance(value, Enum) else value
    return name.removeprefix(term.field.enum_prefix) if term.field.enum_prefix else name


_ITEM_READERS: dict[FieldType, Callable[[Term, Callable[[str], Any]], Any]] = {
    FieldType.STRING: _item_string,
    FieldType.RESOURCE_NAME: _item_string,
    FieldType.INTEGER: _item_integer,
    FieldType.FLOAT: _item_float,
    FieldType.BOOLEAN: _item_boolean,
    FieldType.TIMESTAMP: _item_timestamp,
    FieldType.DURATION: _item_duration,
    FieldType.ENUM: _item_enum,
    FieldType.LABEL: _item_label,
    FieldType.METRIC: _item_metric,
}


def _contains_ignoring_case(actual: str, wanted: str) -> bool:
    return simple_casefold(wanted) in simple_casefold(actual)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    ":": _contains_ignoring_case,
}

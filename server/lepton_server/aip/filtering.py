"""The `filter` of List RPCs (spec/general.md §5, GEN-045 to GEN-049).

A filter is terms joined by `AND`; each term compares one field with a literal. `compile_filter`
parses the text with the grammar of the spec (`parse_filter`), checks every term against the
fields the RPC lists (their type and operators, GEN-049), and returns a `Filter` that evaluates
an item through a getter, so every layer uses it whatever its storage. Every problem is one
INVALID_ARGUMENT [INVALID_FILTER] whose BadRequest violation names the filter field and whose
description names the offending term (GEN-048).

Values are plain Python: strings; ints and floats; bools; timestamps as `datetime` (a naive one
is UTC, as protobuf's `Timestamp.ToDatetime()` returns) or anything with `seconds` and `nanos`
(a protobuf Timestamp); durations as `timedelta`, seconds (int or float) or a protobuf
Duration; enums as the value name, bare (`SUCCEEDED`) or full (`JOB_STATE_SUCCEEDED`); labels
as a mapping. The getter returns None for a field the item does not set.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from functools import lru_cache
from typing import Any

from lepton_server.runtime.errors import InvalidArgument, invalid_argument

INVALID_FILTER = "INVALID_FILTER"

EQUALITY = frozenset({"=", "!="})
COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
SUBSTRING = frozenset({":"})

# The one map field a term can look into: `labels.<key>` (the grammar's second `field` form).
LABELS = "labels"

_NANOS_PER_SECOND = 1_000_000_000
# protobuf's Duration range, about 10,000 years either way.
_MAX_DURATION_SECONDS = 315_576_000_000
# Longer than any int64 or uint64; also keeps int() clear of Python's digit limit.
_MAX_INTEGER_DIGITS = 20
# Long terms are cut in error messages so a status message stays one or two sentences (GEN-006).
_MAX_QUOTED_CHARS = 80


class FieldType(Enum):
    """How a filter writes a field's value, and which operators the field may allow (GEN-046)."""

    STRING = "string"
    RESOURCE_NAME = "resource name"
    INTEGER = "integer"
    FLOAT = "floating-point number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DURATION = "duration"
    ENUM = "enum"
    LABEL = "label"


# The table of GEN-046: a layer chooses a field's operators among these.
_OPERATORS_A_TYPE_MAY_ALLOW = {
    FieldType.STRING: EQUALITY | SUBSTRING,
    FieldType.RESOURCE_NAME: EQUALITY | SUBSTRING,
    FieldType.INTEGER: COMPARISONS,
    FieldType.FLOAT: COMPARISONS,
    FieldType.BOOLEAN: EQUALITY,
    FieldType.TIMESTAMP: COMPARISONS,
    FieldType.DURATION: COMPARISONS,
    FieldType.ENUM: EQUALITY,
    FieldType.LABEL: EQUALITY,
}


@dataclass(frozen=True)
class FilterField:
    """One field a List RPC lets a filter name, with its type and operators (GEN-049).

    For LABEL, `path` is "labels" and a filter names one entry, `labels.<key>`. For ENUM,
    `enum_values` are the value names without `enum_prefix` (`SUCCEEDED` with prefix
    `JOB_STATE_`), never the `_UNSPECIFIED` one; `for_enum` derives both from a proto enum.
    """

    path: str
    type: FieldType
    operators: frozenset[str]
    enum_values: frozenset[str] = frozenset()
    enum_prefix: str = ""

    def __post_init__(self) -> None:
        # A wrong table is a server bug; fail when the table is built, not on a client's call.
        object.__setattr__(self, "operators", frozenset(self.operators))
        object.__setattr__(self, "enum_values", frozenset(self.enum_values))
        allowed = _OPERATORS_A_TYPE_MAY_ALLOW[self.type]
        if not self.operators or not self.operators <= allowed:
            raise ValueError(
                f"filter field {self.path}: a {self.type.value} field allows only "
                f"{_listing(allowed)}, not {_listing(self.operators)}"
            )
        if (self.type is FieldType.LABEL) != (self.path == LABELS):
            raise ValueError(f"filter field {self.path}: only '{LABELS}' is of type LABEL")
        if (self.type is FieldType.ENUM) != bool(self.enum_values):
            raise ValueError(f"filter field {self.path}: enum_values are for ENUM fields only")
        if "UNSPECIFIED" in self.enum_values:
            raise ValueError(f"filter field {self.path}: _UNSPECIFIED is never a filter value")

    @classmethod
    def for_enum(
        cls, path: str, value_names: Iterable[str], operators: Iterable[str] = EQUALITY
    ) -> FilterField:
        """An ENUM field from the proto enum's full value names, e.g. `JobState.keys()`.

        The prefix is what precedes `UNSPECIFIED` in the one `*_UNSPECIFIED` name.
        """
        names = list(value_names)
        unspecified = [name for name in names if name.endswith("UNSPECIFIED")]
        if len(unspecified) != 1:
            raise ValueError(f"filter field {path}: needs exactly one *_UNSPECIFIED value name")
        prefix = unspecified[0].removesuffix("UNSPECIFIED")
        values = frozenset(name.removeprefix(prefix) for name in names if name != unspecified[0])
        return cls(path, FieldType.ENUM, frozenset(operators), values, prefix)

    def describe(self) -> str:
        """The field as a filter writes it: `labels.<key>` for the labels map."""
        return f"{LABELS}.<key>" if self.type is FieldType.LABEL else self.path


# Syntax -------------------------------------------------------------------------------------


class LiteralKind(Enum):
    """The four kinds of `value` in the grammar."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM_NAME = "enum value name"


@dataclass(frozen=True)
class Literal:
    """A value as the filter writes it, before it is read as its field's type."""

    kind: LiteralKind
    text: str  # as written, quotes and escapes included
    string: str  # the decoded contents of a STRING; `text` for the other kinds


@dataclass(frozen=True)
class ParsedTerm:
    """One `field operator value` term as written; not yet checked against any field table."""

    field: str
    operator: str
    literal: Literal
    text: str


_WS = " \t\r\n"
_FIELD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
# Longest first, so "<=" is not read as "<" followed by a value starting with "=".
_OPERATOR_TOKENS = ("!=", "<=", ">=", "=", "<", ">", ":")
# [0-9], not \d: \d also matches non-ASCII digits, which the grammar's DIGIT does not.
_NAME_PATH = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_LABEL_FIELD = re.compile(r"labels\.([a-z][a-z0-9_-]{0,62})")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ENUM_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_ESCAPED = frozenset('"\\')


def parse_filter(text: str, field_path: str = "filter") -> tuple[ParsedTerm, ...]:
    """The terms of `text` per the grammar of spec/general.md §5; () for an empty filter.

    Raises INVALID_ARGUMENT [INVALID_FILTER] on `field_path` for text outside the grammar.
    """
    scanner = _Scanner(text, field_path)
    scanner.skip_ws()
    if scanner.at_end():
        return ()
    terms = [scanner.term()]
    while True:
        spaced = scanner.skip_ws() > 0
        if scanner.at_end():
            return tuple(terms)
        scanner.conjunction(terms[-1], spaced)
        terms.append(scanner.term())


class _Scanner:
    """A cursor over the filter text; each method reads one rule of the grammar or raises."""

    def __init__(self, text: str, field_path: str) -> None:
        self.text = text
        self.pos = 0
        self.field_path = field_path

    def error(self, description: str) -> InvalidArgument:
        return invalid_argument(INVALID_FILTER, self.field_path, description)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_ws(self) -> int:
        start = self.pos
        while not self.at_end() and self.text[self.pos] in _WS:
            self.pos += 1
        return self.pos - start

    def run_end(self) -> int:
        """Where the run of non-whitespace characters at the cursor ends."""
        end = self.pos
        while end < len(self.text) and self.text[end] not in _WS:
            end += 1
        return end

    def upcoming(self) -> str:
        """The next run of non-whitespace characters, for error messages."""
        return self.text[self.pos : self.run_end()] if not self.at_end() else ""

    def term_so_far(self, start: int) -> str:
        """The term begun at `start`, up to the end of the run under the cursor."""
        return self.text[start : self.run_end()]

    def term(self) -> ParsedTerm:
        start = self.pos
        field = self.field(start)
        self.skip_ws()
        op = self.operator(start, field)
        self.skip_ws()
        literal = self.value(start, op)
        return ParsedTerm(field, op, literal, self.text[start : self.pos])

    def field(self, start: int) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] in _FIELD_CHARS:
            end += 1
        name = self.text[self.pos : end]
        problem = _field_name_problem(name, self.text[end] if end < len(self.text) else "")
        if problem:
            raise self.error(f"term {_quoted(self.term_so_far(start))}: {problem}")
        self.pos = end
        return name

    def operator(self, start: int, field: str) -> str:
        for token in _OPERATOR_TOKENS:
            if self.text.startswith(token, self.pos):
                self.pos += len(token)
                return token
        found = _quoted(self.upcoming()) if not self.at_end() else "the end of the filter"
        raise self.error(
            f"term {_quoted(self.term_so_far(start))}: expected an operator "
            f"(=, !=, <, <=, >, >= or :) after {field}, found {found}"
        )

    def value(self, start: int, op: str) -> Literal:
        if self.at_end():
            raise self.error(f"term {_quoted(self.text[start:])}: missing a value after {op}")
        if self.text[self.pos] == '"':
            return self.string(start)
        end = self.run_end()
        word = self.text[self.pos : end]
        if _NUMBER.fullmatch(word):
            kind = LiteralKind.NUMBER
        elif word in ("true", "false"):
            kind = LiteralKind.BOOLEAN
        elif _ENUM_NAME.fullmatch(word):
            kind = LiteralKind.ENUM_NAME
        else:
            raise self.error(
                f"term {_quoted(self.text[start:end])}: {_quoted(word)} is not a value; strings, "
                "resource names, timestamps and durations are written in double quotes"
            )
        self.pos = end
        return Literal(kind, word, word)

    def string(self, start: int) -> Literal:
        opening = self.pos
        self.pos += 1
        chars: list[str] = []
        while True:
            if self.at_end():
                raise self.error(f"term {_quoted(self.text[start:])}: unterminated string")
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                text = self.text[opening : self.pos]
                return Literal(LiteralKind.STRING, text, "".join(chars))
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if not escaped:
                    raise self.error(f"term {_quoted(self.text[start:])}: unterminated string")
                if escaped not in _ESCAPED:
                    sequence = _quoted("\\" + escaped)
                    raise self.error(
                        f"term {_quoted(self.term_so_far(start))}: unknown escape {sequence}; "
                        'a string has only \\" and \\\\'
                    )
                chars.append(escaped)
                self.pos += 2
                continue
            if char < " ":
                raise self.error(
                    f"term {_quoted(self.term_so_far(start))}: control character "
                    f"U+{ord(char):04X} in a string"
                )
            chars.append(char)
            self.pos += 1

    def conjunction(self, previous: ParsedTerm, spaced: bool) -> None:
        """Reads the ` AND ` between two terms."""
        word = self.upcoming()
        if spaced and word == "AND":
            self.pos += len(word)
            self.skip_ws()
            if self.at_end():
                raise self.error(f"AND after term {_quoted(previous.text)} needs a term after it")
            return
        raise self.error(f"after term {_quoted(previous.text)}: {_conjunction_problem(word)}")


# Words that start a term in languages this grammar is not, with what to write instead.
_NOT_A_FIELD = {
    "NOT": "NOT is not supported; use != instead",
    "AND": "AND needs a term before it",
    "OR": "OR needs a term before it, and is not supported",
}


def _field_name_problem(name: str, following: str) -> str | None:
    """Why `name` (followed by the character `following`) cannot start a term, or None."""
    if not name:
        return _misplaced_character_problem(following)
    if name.startswith("-"):
        return "negation with '-' is not supported; use != instead"
    if name in _NOT_A_FIELD:
        return _NOT_A_FIELD[name]
    if following == "(":
        return "function calls are not supported"
    if _NAME_PATH.fullmatch(name) or _LABEL_FIELD.fullmatch(name):
        return None
    return (
        f"{_quoted(name)} is not a field name (lower-case names joined by dots, or "
        "labels.<key> with a key of at most 63 characters)"
    )


def _misplaced_character_problem(char: str) -> str:
    if char == "(":
        return "parentheses are not supported"
    if char == '"':
        return "a value needs a field before it (field = value); there is no global search"
    return f"expected a field name, found {_quoted(char)}"


def _conjunction_problem(word: str) -> str:
    if word in ("OR", "or", "||"):
        return f"{word} is not supported; terms can only be joined by AND"
    if word.upper() == "AND":
        return f"{_quoted(word)} must be written AND, in upper case, between spaces"
    if word.startswith("("):
        return "parentheses are not supported"
    return f"expected AND before the next term, found {_quoted(word)}"


def _quoted(text: str) -> str:
    """`text` in single quotes, control characters escaped and cut to a readable length."""
    shown = "".join(c if c >= " " else f"\\x{ord(c):02x}" for c in text)
    if len(shown) > _MAX_QUOTED_CHARS:
        shown = shown[: _MAX_QUOTED_CHARS - 3] + "..."
    return f"'{shown}'"


def _listing(operators: Iterable[str]) -> str:
    order = {op: i for i, op in enumerate(("=", "!=", "<", "<=", ">", ">=", ":"))}
    return ", ".join(sorted(operators, key=lambda op: order.get(op, len(order))))


# Meaning ------------------------------------------------------------------------------------


class _WrongValue(Exception):
    """A literal that does not fit its field's type; the message says why."""


@dataclass(frozen=True)
class Term:
    """A term checked against its field: `value` is of the field's type (times in nanoseconds)."""

    field: FilterField
    label_key: str | None
    operator: str
    value: Any
    text: str

    def holds(self, get: Callable[[str], Any]) -> bool:
        """Whether the item whose fields `get` returns satisfies this term (GEN-047)."""
        actual = _ITEM_READERS[self.field.type](self, get)
        # None here is an unset timestamp or duration, which satisfies no term.
        return actual is not None and _COMPARE[self.operator](actual, self.value)

    def canonical(self) -> str:
        name = self.field.path if self.label_key is None else f"{LABELS}.{self.label_key}"
        return json.dumps([name, self.operator, self.value])


@dataclass(frozen=True)
class Filter:
    """A compiled filter: every term must hold. No terms (an empty filter) matches everything."""

    terms: tuple[Term, ...] = ()

    def matches(self, get: Callable[[str], Any]) -> bool:
        """Whether the item whose fields `get(path)` returns passes the filter.

        For a `labels.<key>` term `get` receives "labels" and returns the labels mapping.
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
        return invalid_argument(INVALID_FILTER, field_path, f"term {_quoted(term.text)}: {problem}")

    label = _LABEL_FIELD.fullmatch(term.field)
    definition = table.get(LABELS if label else term.field)
    if term.field == LABELS and LABELS in table:
        raise error(f"name one label, as {LABELS}.<key>")
    if definition is None or (definition.type is FieldType.LABEL) != bool(label):
        listed = ", ".join(sorted(d.describe() for d in table.values())) or "no fields"
        raise error(f"unknown field {term.field}; this filter accepts {listed}")
    if term.operator not in definition.operators:
        raise error(
            f"operator {term.operator} is not allowed on {definition.describe()}, "
            f"which allows {_listing(definition.operators)}"
        )
    try:
        value = _LITERAL_READERS[definition.type](term.literal, definition)
    except _WrongValue as wrong:
        raise error(str(wrong)) from None
    label_key = label.group(1) if label else None
    return Term(definition, label_key, term.operator, value, term.text)


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


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _read_timestamp(literal: Literal, field: FilterField) -> int:
    how = 'as a quoted RFC 3339 date-time with a time zone, e.g. "2025-06-01T00:00:00Z"'
    _expect(literal, LiteralKind.STRING, field, how)
    nanos = parse_timestamp_nanos(literal.string)
    if nanos is None:
        raise _WrongValue(f"{literal.text} is not a timestamp; {field.path} is written {how}")
    return nanos


def parse_timestamp_nanos(text: str) -> int | None:
    """Nanoseconds since the Unix epoch of an RFC 3339 date-time with a zone, or None.

    At most nine fractional digits (protobuf Timestamp's precision); no leap second.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_hour, off_minute = match.groups()
    try:
        ordinal = date(int(year), int(month), int(day)).toordinal()
    except ValueError:
        return None
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        return None
    offset = 0
    if sign:
        if int(off_hour) > 23 or int(off_minute) > 59:
            return None
        offset = (int(off_hour) * 3600 + int(off_minute) * 60) * (1 if sign == "+" else -1)
    seconds = (ordinal - _EPOCH_ORDINAL) * 86400 + int(hour) * 3600 + int(minute) * 60
    seconds += int(second) - offset
    return seconds * _NANOS_PER_SECOND + int((fraction or "").ljust(9, "0"))


_DURATION = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,9}))?s")


def _read_duration(literal: Literal, field: FilterField) -> int:
    how = 'as quoted seconds with an s suffix, e.g. "3600s" or "0.5s"'
    _expect(literal, LiteralKind.STRING, field, how)
    nanos = parse_duration_nanos(literal.string)
    if nanos is None:
        raise _WrongValue(f"{literal.text} is not a duration; {field.path} is written {how}")
    return nanos


def parse_duration_nanos(text: str) -> int | None:
    """Nanoseconds of a protobuf JSON duration ("3600s", "-0.5s"), or None if malformed."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    if len(whole.lstrip("0")) > 12 or int(whole) > _MAX_DURATION_SECONDS:
        return None
    nanos = int(whole) * _NANOS_PER_SECOND + int((fraction or "").ljust(9, "0"))
    return -nanos if sign else nanos


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
}


# Reading item values (GEN-047). Unset scalars compare as their proto3 default; an unset
# timestamp or duration is None, which satisfies no term.

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def instant_nanos(value: Any) -> int | None:
    """Nanoseconds since the epoch of a datetime (naive = UTC) or a protobuf Timestamp."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return _timedelta_nanos(value - _EPOCH)
    return int(value.seconds) * _NANOS_PER_SECOND + int(value.nanos)


def duration_nanos(value: Any) -> int | None:
    """Nanoseconds of a timedelta, a number of seconds, or a protobuf Duration."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return _timedelta_nanos(value)
    if isinstance(value, int | float):
        return round(value * _NANOS_PER_SECOND)
    return int(value.seconds) * _NANOS_PER_SECOND + int(value.nanos)


def _timedelta_nanos(delta: timedelta) -> int:
    # Integer arithmetic: total_seconds() is a float and would lose nanosecond exactness.
    return (delta.days * 86400 + delta.seconds) * _NANOS_PER_SECOND + delta.microseconds * 1000


def _item_string(term: Term, get: Callable[[str], Any]) -> str:
    value = get(term.field.path)
    return "" if value is None else value


def _item_label(term: Term, get: Callable[[str], Any]) -> str:
    labels = get(LABELS) or {}
    return labels.get(term.label_key, "")


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
}


def simple_casefold(text: str) -> str:
    """`text` under Unicode simple case folding, the folding `:` ignores case by (GEN-047).

    str.casefold() is full folding ("ß" becomes "ss"); simple folding maps each character to
    one character, so every server agrees on what `:` matches.
    """
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_character, text))


@lru_cache(maxsize=4096)
def _fold_character(char: str) -> str:
    folded = char.casefold()
    if len(folded) == 1:
        # One character: the common (C) mapping, the same in simple and full folding.
        return folded
    # Several: full folding only. The simple (S) mapping, where there is one, is the lower case
    # (U+1E9E to U+00DF); where there is none, lower() is the character itself or several
    # characters (U+0130), and simple folding leaves the character unchanged.
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


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

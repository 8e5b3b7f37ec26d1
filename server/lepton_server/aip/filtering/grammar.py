"""The filter grammar of spec/general.md §5: terms `field operator value` joined by ` AND `,
read into ParsedTerm values with their literals as written. Text outside the grammar is one
INVALID_ARGUMENT [INVALID_FILTER] whose description says what is wrong and what to write
instead (GEN-048); nothing here knows which fields a List RPC accepts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from lepton_server.runtime.errors import InvalidArgument, invalid_argument

INVALID_FILTER = "INVALID_FILTER"

# Long terms are cut in error messages so a status message stays one or two sentences (GEN-006).
_MAX_QUOTED_CHARS = 80


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
# A map entry: `labels.<key>` or `metrics.<name>`, the key by the label-key rule (GEN-056).
MAP_ENTRY = re.compile(r"(labels|metrics)\.([a-z][a-z0-9_-]{0,62})")
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
            raise self.error(f"term {quoted(self.term_so_far(start))}: {problem}")
        self.pos = end
        return name

    def operator(self, start: int, field: str) -> str:
        for token in _OPERATOR_TOKENS:
            if self.text.startswith(token, self.pos):
                self.pos += len(token)
                return token
        found = quoted(self.upcoming()) if not self.at_end() else "the end of the filter"
        raise self.error(
            f"term {quoted(self.term_so_far(start))}: expected an operator "
            f"(=, !=, <, <=, >, >= or :) after {field}, found {found}"
        )

    def value(self, start: int, op: str) -> Literal:
        if self.at_end():
            raise self.error(f"term {quoted(self.text[start:])}: missing a value after {op}")
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
                f"term {quoted(self.text[start:end])}: {quoted(word)} is not a value; strings, "
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
                raise self.error(f"term {quoted(self.text[start:])}: unterminated string")
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                text = self.text[opening : self.pos]
                return Literal(LiteralKind.STRING, text, "".join(chars))
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if not escaped:
                    raise self.error(f"term {quoted(self.text[start:])}: unterminated string")
                if escaped not in _ESCAPED:
                    sequence = quoted("\\" + escaped)
                    raise self.error(
                        f"term {quoted(self.term_so_far(start))}: unknown escape {sequence}; "
                        'a string has only \\" and \\\\'
                    )
                chars.append(escaped)
                self.pos += 2
                continue
            if char < " ":
                raise self.error(
                    f"term {quoted(self.term_so_far(start))}: control character "
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
                raise self.error(f"AND after term {quoted(previous.text)} needs a term after it")
            return
        raise self.error(f"after term {quoted(previous.text)}: {_conjunction_problem(word)}")


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
    if _NAME_PATH.fullmatch(name) or MAP_ENTRY.fullmatch(name):
        return None
    return (
        f"{quoted(name)} is not a field name (lower-case names joined by dots, or "
        "labels.<key> or metrics.<name> with a key of at most 63 characters)"
    )


def _misplaced_character_problem(char: str) -> str:
    if char == "(":
        return "parentheses are not supported"
    if char == '"':
        return "a value needs a field before it (field = value); there is no global search"
    return f"expected a field name, found {quoted(char)}"


def _conjunction_problem(word: str) -> str:
    if word in ("OR", "or", "||"):
        return f"{word} is not supported; terms can only be joined by AND"
    if word.upper() == "AND":
        return f"{quoted(word)} must be written AND, in upper case, between spaces"
    if word.startswith("("):
        return "parentheses are not supported"
    return f"expected AND before the next term, found {quoted(word)}"


def quoted(text: str) -> str:
    """`text` in single quotes, control characters escaped and cut to a readable length."""
    shown = "".join(c if c >= " " else f"\\x{ord(c):02x}" for c in text)
    if len(shown) > _MAX_QUOTED_CHARS:
        shown = shown[: _MAX_QUOTED_CHARS - 3] + "..."
    return f"'{shown}'"

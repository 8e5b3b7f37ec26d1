"""What a List RPC lets a filter name: its fields, each with a type and the operators it
allows (GEN-046, GEN-049). A layer declares a table of FilterField per List RPC; a wrong table
is a server bug, caught when the table is built."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

EQUALITY = frozenset({"=", "!="})
COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
SUBSTRING = frozenset({":"})

# The map fields a term can look into, by one entry (the grammar's second `field` form):
# `labels.<key>` (strings) and `metrics.<name>` (numbers; a missing entry matches nothing).
LABELS = "labels"
METRICS = "metrics"


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
    METRIC = "metric"


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
    FieldType.METRIC: COMPARISONS,
}
# The map field of each map type.
MAP_FIELDS = {FieldType.LABEL: LABELS, FieldType.METRIC: METRICS}


@dataclass(frozen=True)
class FilterField:
    """One field a List RPC lets a filter name, with its type and operators (GEN-049).

    For LABEL, `path` is "labels" and a filter names one entry, `labels.<key>`. For ENUM,
    `enum_values` are the value names without `enum_prefix` (`SUCCEEDED` with prefix
    `JOB_STATE_`), never the `_UNSPECIFIED` one; `for_enum` derives both from a proto enum.
    A `repeated` field holds several values; a term on it holds when it holds for any of
    them (`resolved_inputs.datasets.dataset_version = "..."`: any of the job's datasets).
    """

    path: str
    type: FieldType
    operators: frozenset[str]
    enum_values: frozenset[str] = frozenset()
    enum_prefix: str = ""
    repeated: bool = False

    def __post_init__(self) -> None:
        # A wrong table is a server bug; fail when the table is built, not on a client's call.
        object.__setattr__(self, "operators", frozenset(self.operators))
        object.__setattr__(self, "enum_values", frozenset(self.enum_values))
        allowed = _OPERATORS_A_TYPE_MAY_ALLOW[self.type]
        if not self.operators or not self.operators <= allowed:
            raise ValueError(
                f"filter field {self.path}: a {self.type.value} field allows only "
                f"{list_operators(allowed)}, not {list_operators(self.operators)}"
            )
        for kind, path in MAP_FIELDS.items():
            if (self.type is kind) != (self.path == path):
                raise ValueError(f"filter field {self.path}: only '{path}' is of type {kind.name}")
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

    @property
    def is_map(self) -> bool:
        """A map field, whose terms name one entry (`labels.<key>`, `metrics.<name>`)."""
        return self.type in MAP_FIELDS

    def describe(self) -> str:
        """The field as a filter writes it: `labels.<key>`, `metrics.<name>` for the maps."""
        if self.type is FieldType.LABEL:
            return f"{LABELS}.<key>"
        return f"{METRICS}.<name>" if self.type is FieldType.METRIC else self.path


def list_operators(operators: Iterable[str]) -> str:
    """`operators` as an error message lists them, in the grammar's order."""
    order = {op: i for i, op in enumerate(("=", "!=", "<", "<=", ">", ">=", ":"))}
    return ", ".join(sorted(operators, key=lambda op: order.get(op, len(order))))

"""`DataProcessor`: a fluent, immutable builder of lepton.data.v1 Pipeline messages, one
method per step kind of pipeline.proto (spec/data.md §6.4).

    clean = (
        DataProcessor()
        .drop_nulls(["label"])
        .fill_nulls(["age"], strategy="median")
        .filter(col("age") >= 18)
        .anonymize({"email": Hash("pepper"), "card": Mask(keep=4, from_end=True)})
        .standardize(["income"])
    )
    manager.process_data("customers", clean, "customers-clean")

Every method returns a new DataProcessor, so a shared prefix can be extended in several
ways (e.g. one split followed by three filters, spec/data.md §6.4). Nothing is checked
against a schema here: the server validates the pipeline (ValidatePipeline or
CreatePipelineRun) and names the offending step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal as TypingLiteral

import pyarrow as pa

from lepton.data.v1 import pipeline_pb2 as pl
from lepton_ai.data.expressions import (
    CastErrorLike,
    Condition,
    Expr,
    LiteralLike,
    cast_error_policy,
    expression,
    literal,
    type_string,
)

Columns = str | Iterable[str]
FillStrategyName = TypingLiteral["constant", "forward", "backward", "mean", "median", "mode"]
FILL_STRATEGIES = {
    "constant": pl.FILL_STRATEGY_CONSTANT,
    "forward": pl.FILL_STRATEGY_FORWARD,
    "backward": pl.FILL_STRATEGY_BACKWARD,
    "mean": pl.FILL_STRATEGY_MEAN,
    "median": pl.FILL_STRATEGY_MEDIAN,
    "mode": pl.FILL_STRATEGY_MODE,
}
NULL_ROW_POLICIES = {"any": pl.NULL_ROW_POLICY_ANY, "all": pl.NULL_ROW_POLICY_ALL}
DUPLICATE_KEEPS = {"first": pl.DUPLICATE_KEEP_FIRST, "last": pl.DUPLICATE_KEEP_LAST}


def _names(columns: Columns) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _choice(table: Mapping[str, int], value: str, what: str) -> int:
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{what} must be one of {sorted(table)}, not {value!r}") from None


# Column anonymization operators (AnonymizeStep).


@dataclass(frozen=True)
class Hash:
    """Salted SHA-256 pseudonym (string, binary and integer columns)."""

    salt: str


@dataclass(frozen=True)
class Mask:
    """Replace every code point with `char` except `keep` at the start (or, with `from_end`,
    at the end). An empty `char` means the server's default, "*"."""

    char: str = "*"
    keep: int = 0
    from_end: bool = False


@dataclass(frozen=True)
class Redact:
    """Replace every non-null value with a constant string."""

    replacement: str = ""


@dataclass(frozen=True)
class Drop:
    """Remove the column."""


Anonymizer = Hash | Mask | Redact | Drop


def _anonymization(column: str, operator: Anonymizer) -> pl.ColumnAnonymization:
    if isinstance(operator, Hash):
        return pl.ColumnAnonymization(column=column, hash=pl.HashOperator(salt=operator.salt))
    if isinstance(operator, Mask):
        return pl.ColumnAnonymization(
            column=column,
            mask=pl.MaskOperator(
                masking_char=operator.char,
                chars_to_keep=operator.keep,
                from_end=operator.from_end,
            ),
        )
    if isinstance(operator, Redact):
        return pl.ColumnAnonymization(
            column=column, redact=pl.RedactOperator(replacement=operator.replacement)
        )
    if isinstance(operator, Drop):
        return pl.ColumnAnonymization(column=column, drop=pl.DropOperator())
    raise TypeError(f"{operator!r} is not Hash, Mask, Redact or Drop")


class DataProcessor:
    """An ordered list of pipeline steps. `build()` returns the Pipeline message."""

    __slots__ = ("_steps",)

    def __init__(self, steps: Iterable[pl.Step] = ()) -> None:
        self._steps: tuple[pl.Step, ...] = tuple(_copy(step) for step in steps)

    @classmethod
    def from_pipeline(cls, pipeline: pl.Pipeline) -> DataProcessor:
        """A processor holding the steps of an existing Pipeline message."""
        return cls(pipeline.steps)

    def build(self) -> pl.Pipeline:
        """The Pipeline message (a fresh copy on every call)."""
        return pl.Pipeline(steps=[_copy(step) for step in self._steps])

    def fingerprint(self) -> str:
        """The pipeline fingerprint as lowercase hex: SHA-256 of the deterministic binary
        encoding (spec/data.md §6.5), as PipelineRun.pipeline_fingerprint reports it."""
        return hashlib.sha256(self.build().SerializeToString(deterministic=True)).hexdigest()

    @property
    def steps(self) -> tuple[pl.Step, ...]:
        """Copies of the steps, in execution order."""
        return tuple(_copy(step) for step in self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __add__(self, other: DataProcessor) -> DataProcessor:
        """This pipeline's steps followed by `other`'s."""
        return DataProcessor((*self._steps, *other._steps))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataProcessor) and self.build() == other.build()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kinds = ", ".join(str(step.WhichOneof("kind")) for step in self._steps)
        return f"DataProcessor([{kinds}])"

    def step(self, step: pl.Step) -> DataProcessor:
        """A processor with `step` (any Step message) appended."""
        return DataProcessor((*self._steps, step))

    # ----------------------------------------------------------------------------- cleaning

    def drop_nulls(
        self, columns: Columns = (), *, how: TypingLiteral["any", "all"] = "any"
    ) -> DataProcessor:
        """Remove rows with a null in any (or, with how="all", every) of `columns`; no
        columns means every column."""
        policy = _choice(NULL_ROW_POLICIES, how, "how")
        return self.step(
            pl.Step(drop_nulls=pl.DropNullsStep(columns=_names(columns), policy=policy))
        )

    def fill_nulls(
        self,
        columns: Columns,
        value: LiteralLike | None = None,
        *,
        strategy: FillStrategyName | None = None,
    ) -> DataProcessor:
        """Replace the nulls of `columns` with `value` (strategy "constant", the default when
        a value is given) or a computed value: "forward", "backward", "mean", "median",
        "mode"."""
        if strategy is None:
            if value is None:
                raise ValueError("fill_nulls needs a value or a strategy")
            strategy = "constant"
        fill = pl.FillNullsStep(
            columns=_names(columns), strategy=_choice(FILL_STRATEGIES, strategy, "strategy")
        )
        if value is not None:
            fill.value.CopyFrom(literal(value))
        return self.step(pl.Step(fill_nulls=fill))

    def deduplicate(
        self, columns: Columns = (), *, keep: TypingLiteral["first", "last"] = "first"
    ) -> DataProcessor:
        """Remove rows equal to an earlier (keep="first") or later (keep="last") row on
        `columns`; no columns means every column."""
        choice = _choice(DUPLICATE_KEEPS, keep, "keep")
        step = pl.DeduplicateStep(columns=_names(columns), keep=choice)
        return self.step(pl.Step(deduplicate=step))

    def filter(self, condition: Condition | pl.Predicate) -> DataProcessor:
        """Keep the rows for which `condition` is true, e.g. `col("age") >= 18`."""
        predicate = condition.to_proto() if isinstance(condition, Condition) else condition
        return self.step(pl.Step(filter=pl.FilterStep(predicate=predicate)))

    # ----------------------------------------------------------------------- transformation

    def select(self, columns: Columns) -> DataProcessor:
        """Keep `columns`, in this order, and remove every other column."""
        return self.step(pl.Step(select_columns=pl.SelectColumnsStep(columns=_names(columns))))

    def rename(self, renames: Mapping[str, str]) -> DataProcessor:
        """Rename columns {old: new}, all at once."""
        step = pl.RenameColumnsStep(
            renames=[pl.ColumnRename(old_name=old, new_name=new) for old, new in renames.items()]
        )
        return self.step(pl.Step(rename_columns=step))

    def cast(
        self, types: Mapping[str, str | pa.DataType], *, on_error: CastErrorLike = "fail"
    ) -> DataProcessor:
        """Convert columns {name: type}; a type is a cast type string ("int32",
        "timestamp[ms, tz=UTC]") or a pyarrow type. Values that do not convert exactly fail
        the run (on_error="fail") or become null (on_error="null")."""
        policy = cast_error_policy(on_error)
        casts = [
            pl.ColumnCast(column=name, type=type_string(kind), on_error=policy)
            for name, kind in types.items()
        ]
        return self.step(pl.Step(cast_columns=pl.CastColumnsStep(casts=casts)))

    def derive(
        self, column: str, expr: Expr | pl.Expression | LiteralLike, *, replace: bool = False
    ) -> DataProcessor:
        """Add the column `column` computed by `expr` (e.g. `col("a") * 2`), or replace an
        existing one in place with replace=True."""
        step = pl.DeriveColumnStep(column=column, expression=expression(expr), replace=replace)
        return self.step(pl.Step(derive_column=step))

    def normalize(self, columns: Columns) -> DataProcessor:
        """Rescale numeric columns to [0, 1] (min-max)."""
        return self.step(pl.Step(normalize=pl.NormalizeStep(columns=_names(columns))))

    def standardize(self, columns: Columns) -> DataProcessor:
        """Rescale numeric columns to mean 0, standard deviation 1 (z-score)."""
        return self.step(pl.Step(standardize=pl.StandardizeStep(columns=_names(columns))))

    # ------------------------------------------------------------------------ anonymization

    def anonymize(self, columns: Mapping[str, Anonymizer]) -> DataProcessor:
        """De-identify columns {name: Hash(salt) | Mask(...) | Redact(...) | Drop()}."""
        entries = [_anonymization(name, operator) for name, operator in columns.items()]
        return self.step(pl.Step(anonymize=pl.AnonymizeStep(columns=entries)))

    # --------------------------------------------------------------- sampling and splitting

    def sample(
        self, fraction: float | None = None, *, count: int | None = None, seed: int = 0
    ) -> DataProcessor:
        """Keep a seeded random subset: a `fraction` of the rows in (0, 1], or `count`
        rows."""
        if (fraction is None) == (count is None):
            raise ValueError("sample takes exactly one of fraction and count")
        step = pl.SampleStep(seed=seed)
        if fraction is not None:
            step.fraction = fraction
        else:
            step.count = int(count)  # type: ignore[arg-type]
        return self.step(pl.Step(sample=step))

    def split(
        self,
        train: float,
        validation: float,
        test: float,
        *,
        seed: int = 0,
        column: str = "",
        stratify: str = "",
    ) -> DataProcessor:
        """Add a column ("split" unless `column` names one) assigning each row to "train",
        "validation" or "test" in these fractions (summing to 1), optionally stratified by a
        class column."""
        step = pl.SplitStep(
            train_fraction=train,
            validation_fraction=validation,
            test_fraction=test,
            seed=seed,
            column=column,
            stratify_column=stratify,
        )
        return self.step(pl.Step(split=step))

    # ------------------------------------------------------------------------- augmentation

    def augment_noise(self, columns: Columns, stddev: float, *, seed: int = 0) -> DataProcessor:
        """Add seeded Gaussian noise N(0, stddev²) to floating-point columns."""
        step = pl.GaussianNoiseStep(columns=_names(columns), stddev=stddev, seed=seed)
        return self.step(pl.Step(gaussian_noise=step))

    def oversample(
        self, label_column: str, *, seed: int = 0, indicator_column: str = ""
    ) -> DataProcessor:
        """Copy rows of minority classes of `label_column` until every class is as large as
        the largest; `indicator_column` optionally names a bool column marking the copies."""
        step = pl.OversampleStep(
            label_column=label_column, seed=seed, indicator_column=indicator_column
        )
        return self.step(pl.Step(oversample=step))


def _copy(step: pl.Step) -> pl.Step:
    copy = pl.Step()
    copy.CopyFrom(step)
    return copy


def pipeline_of(processor: DataProcessor | pl.Pipeline | Sequence[pl.Step]) -> pl.Pipeline:
    """A Pipeline message from a DataProcessor, a Pipeline or a list of steps."""
    if isinstance(processor, DataProcessor):
        return processor.build()
    if isinstance(processor, pl.Pipeline):
        return processor
    return pl.Pipeline(steps=list(processor))

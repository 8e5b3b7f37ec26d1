"""The Pipeline messages the SDK's DataProcessor builds (spec/data.md §6): every step kind,
filter predicates and derived-column expressions from `col`/`lit`, immutability, the
fingerprint, and arguments refused before any call."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from lepton.data.v1 import pipeline_pb2 as pl
from lepton_ai import DataProcessor, Drop, Hash, Mask, Redact, col, lit


def _step(**kind) -> pl.Step:
    return pl.Step(**kind)


def test_processor_builds_the_expected_pipeline():
    processor = (
        DataProcessor()
        .drop_nulls(["name"])
        .fill_nulls("score", 0.0)
        .fill_nulls(["age"], strategy="median")
        .deduplicate(["id"], keep="last")
        .select(["id", "name", "score"])
        .rename({"name": "full_name"})
        .cast({"id": "int32", "score": pa.float32()}, on_error="null")
    )
    assert processor.build() == pl.Pipeline(
        steps=[
            _step(drop_nulls=pl.DropNullsStep(columns=["name"], policy=pl.NULL_ROW_POLICY_ANY)),
            _step(
                fill_nulls=pl.FillNullsStep(
                    columns=["score"],
                    strategy=pl.FILL_STRATEGY_CONSTANT,
                    value=pl.Literal(double_value=0.0),
                )
            ),
            _step(fill_nulls=pl.FillNullsStep(columns=["age"], strategy=pl.FILL_STRATEGY_MEDIAN)),
            _step(deduplicate=pl.DeduplicateStep(columns=["id"], keep=pl.DUPLICATE_KEEP_LAST)),
            _step(select_columns=pl.SelectColumnsStep(columns=["id", "name", "score"])),
            _step(
                rename_columns=pl.RenameColumnsStep(
                    renames=[pl.ColumnRename(old_name="name", new_name="full_name")]
                )
            ),
            _step(
                cast_columns=pl.CastColumnsStep(
                    casts=[
                        pl.ColumnCast(
                            column="id", type="int32", on_error=pl.CAST_ERROR_POLICY_NULL
                        ),
                        pl.ColumnCast(
                            column="score", type="float", on_error=pl.CAST_ERROR_POLICY_NULL
                        ),
                    ]
                )
            ),
        ]
    )


def test_processor_covers_every_step_kind():
    processor = (
        DataProcessor()
        .drop_nulls()
        .fill_nulls("a", strategy="forward")
        .deduplicate()
        .filter(col("a") > 1)
        .select("a")
        .rename({"a": "b"})
        .cast({"b": "double"})
        .derive("c", col("b") + 1)
        .normalize("b")
        .standardize(["c"])
        .anonymize({"b": Drop()})
        .sample(0.5, seed=7)
        .split(0.8, 0.1, 0.1, seed=1)
        .augment_noise("c", 0.01, seed=2)
        .oversample("split", seed=3, indicator_column="copy")
    )
    every_kind = {f.name for f in pl.Step.DESCRIPTOR.oneofs_by_name["kind"].fields}
    assert [s.WhichOneof("kind") for s in processor.steps] == [
        f.name for f in sorted(pl.Step.DESCRIPTOR.fields, key=lambda f: f.number)
    ]
    assert {s.WhichOneof("kind") for s in processor.steps} == every_kind


def test_filter_conditions_build_predicates():
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    condition = (
        ((col("age") >= 18) & col("country").isin(["DE", "FR"]))
        | ~col("email").is_null()
        | (col("seen") < when)
        | (col("a") == col("b"))
        | col("name").startswith("Dr", ignore_case=True)
    )
    predicate = DataProcessor().filter(condition).build().steps[0].filter.predicate
    adult, in_set = predicate.any_of.predicates[0].all_of.predicates
    assert adult == pl.Predicate(
        comparison=pl.Comparison(
            column="age",
            operator=pl.COMPARISON_OPERATOR_GREATER_OR_EQUAL,
            value=pl.Literal(int64_value=18),
        )
    )
    assert [v.string_value for v in in_set.in_set.values] == ["DE", "FR"]
    others = predicate.any_of.predicates[1:]  # `|` chains flatten into one any_of
    assert others[0] == pl.Predicate(negate=pl.Predicate(is_null=pl.IsNull(column="email")))
    assert others[1].comparison.value.timestamp_value.ToDatetime() == datetime.datetime(2024, 1, 1)
    assert others[2].comparison.other_column == "b"
    assert others[3].string_match == pl.StringMatch(
        column="name",
        operator=pl.STRING_MATCH_OPERATOR_STARTS_WITH,
        pattern="Dr",
        ignore_case=True,
    )


def test_reflected_comparison_keeps_the_column_on_the_left():
    predicate = (5 < col("x")).to_proto()  # noqa: SIM300 - the reflected form is the point
    assert predicate.comparison.column == "x"
    assert predicate.comparison.operator == pl.COMPARISON_OPERATOR_GREATER


def test_conditions_refuse_python_boolean_operators():
    with pytest.raises(TypeError):
        bool(col("a") > 1)
    with pytest.raises(TypeError):
        col("a") == None  # noqa: B015, E711 - the point of the test


def test_derive_builds_expression_trees():
    expr = ((col("price") * col("qty")).round(2) - 1).cast("float", on_error="null")
    step = DataProcessor().derive("total", expr, replace=True).build().steps[0].derive_column
    assert step.column == "total" and step.replace
    cast = step.expression.cast
    assert (cast.type, cast.on_error) == ("float", pl.CAST_ERROR_POLICY_NULL)
    subtract = cast.input.call
    assert subtract.function == pl.FUNCTION_SUBTRACT
    rounded, one = subtract.arguments
    assert one == pl.Expression(literal=pl.Literal(int64_value=1))
    assert rounded.call.function == pl.FUNCTION_ROUND
    product, digits = rounded.call.arguments
    assert digits.literal.int64_value == 2
    assert [a.column for a in product.call.arguments] == ["price", "qty"]
    text = DataProcessor().derive("t", col("s").trim().upper().substring(0, 3)).build()
    assert text.steps[0].derive_column.expression.call.function == pl.FUNCTION_SUBSTRING
    assert lit("x").to_proto() == pl.Expression(literal=pl.Literal(string_value="x"))


def test_anonymize_sample_split_and_augmentation_steps():
    steps = (
        DataProcessor()
        .anonymize(
            {
                "email": Hash("pepper"),
                "card": Mask(keep=4, from_end=True),
                "note": Redact("[removed]"),
                "ssn": Drop(),
            }
        )
        .sample(count=100, seed=9)
        .split(0.7, 0.2, 0.1, seed=4, stratify="label")
        .augment_noise(["x", "y"], 0.5, seed=5)
        .oversample("label")
        .steps
    )
    assert steps[0].anonymize == pl.AnonymizeStep(
        columns=[
            pl.ColumnAnonymization(column="email", hash=pl.HashOperator(salt="pepper")),
            pl.ColumnAnonymization(
                column="card",
                mask=pl.MaskOperator(masking_char="*", chars_to_keep=4, from_end=True),
            ),
            pl.ColumnAnonymization(
                column="note", redact=pl.RedactOperator(replacement="[removed]")
            ),
            pl.ColumnAnonymization(column="ssn", drop=pl.DropOperator()),
        ]
    )
    assert steps[1].sample == pl.SampleStep(count=100, seed=9)
    assert steps[1].sample.WhichOneof("size") == "count"
    assert steps[2].split == pl.SplitStep(
        train_fraction=0.7,
        validation_fraction=0.2,
        test_fraction=0.1,
        seed=4,
        stratify_column="label",
    )
    assert steps[3].gaussian_noise == pl.GaussianNoiseStep(columns=["x", "y"], stddev=0.5, seed=5)
    assert steps[4].oversample == pl.OversampleStep(label_column="label")


def test_processors_are_immutable_and_share_prefixes():
    split = DataProcessor().split(0.8, 0.1, 0.1, seed=1)
    train = split.filter(col("split") == "train")
    test = split.filter(col("split") == "test")
    assert len(split) == 1 and len(train) == len(test) == 2
    assert train.steps[0] == test.steps[0]
    assert train != test
    assert DataProcessor.from_pipeline(train.build()) == train
    assert split + DataProcessor().select("x") == split.select("x")


def test_fingerprint_is_sha256_of_the_deterministic_encoding():
    import hashlib  # noqa: PLC0415

    processor = DataProcessor().drop_nulls().sample(0.5)
    expected = hashlib.sha256(processor.build().SerializeToString(deterministic=True))
    assert processor.fingerprint() == expected.hexdigest()
    assert DataProcessor().fingerprint() == hashlib.sha256(b"").hexdigest()


def test_invalid_builder_arguments_are_rejected_locally():
    with pytest.raises(ValueError):
        DataProcessor().fill_nulls("a")
    with pytest.raises(ValueError):
        DataProcessor().sample()
    with pytest.raises(ValueError):
        DataProcessor().drop_nulls(how="some")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DataProcessor().filter(col("a") > object())

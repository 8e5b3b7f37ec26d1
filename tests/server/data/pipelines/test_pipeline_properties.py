"""Random pipelines over a small schema: each is rejected with a field path inside the
pipeline, or runs to the schema it validated to, the same way twice (spec/data.md §6)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pipelines import call, col, compare, derive, pipeline

from lepton_server.data.pipelines import run, validate
from lepton_server.data.table_digest import content_digest
from lepton_server.runtime.errors import FailedPrecondition, InvalidArgument

SCHEMA = pa.schema(
    [
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("s", pa.string()),
        ("b", pa.bool_()),
        ("u", pa.uint8()),
    ]
)
NAMES = st.sampled_from(["i", "f", "s", "b", "u", "missing"])
LITERALS = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(lambda v: f"int64_value: {v}"),
    st.floats().map(lambda v: f"double_value: {v!r}"),
    st.sampled_from(['string_value: "a"', "bool_value: true", 'date_value: "2024-01-01"']),
)
CAST_TYPES = st.sampled_from(
    [
        "int8",
        "int64",
        "uint8",
        "double",
        "float",
        "string",
        "bool",
        "date32[day]",
        "float64",
        "decimal128(6, 2)",
    ]
)


STEPS = st.one_of(
    st.builds(lambda c: f'drop_nulls {{ columns: "{c}" }}', NAMES),
    st.builds(
        lambda c, s: f'fill_nulls {{ columns: "{c}" strategy: {s} }}',
        NAMES,
        st.sampled_from(
            [
                "FILL_STRATEGY_FORWARD",
                "FILL_STRATEGY_MEAN",
                "FILL_STRATEGY_MODE",
                "FILL_STRATEGY_UNSPECIFIED",
            ]
        ),
    ),
    st.builds(
        lambda c, v: (
            f'fill_nulls {{ columns: "{c}" strategy: FILL_STRATEGY_CONSTANT value {{ {v} }} }}'
        ),
        NAMES,
        LITERALS,
    ),
    st.builds(lambda c: f'deduplicate {{ columns: "{c}" }}', NAMES),
    st.builds(
        lambda c, o, v: compare(c, o, f"value {{ {v} }}"),
        NAMES,
        st.sampled_from(["EQUAL", "LESS", "GREATER_OR_EQUAL"]),
        LITERALS,
    ),
    st.builds(lambda a, b: f'select_columns {{ columns: "{a}" columns: "{b}" }}', NAMES, NAMES),
    st.builds(
        lambda a, b: f'rename_columns {{ renames {{ old_name: "{a}" new_name: "{b}" }} }}',
        NAMES,
        NAMES,
    ),
    st.builds(
        lambda c, t, p: f'cast_columns {{ casts {{ column: "{c}" type: "{t}" on_error: {p} }} }}',
        NAMES,
        CAST_TYPES,
        st.sampled_from(["CAST_ERROR_POLICY_FAIL", "CAST_ERROR_POLICY_NULL"]),
    ),
    st.builds(
        lambda f, a, b: derive(call(f, col(a), col(b)), name="d", replace=True),
        st.sampled_from(["ADD", "MULTIPLY", "DIVIDE", "CONCAT", "COALESCE", "POWER"]),
        NAMES,
        NAMES,
    ),
    st.builds(lambda c: f'normalize {{ columns: "{c}" }}', NAMES),
    st.builds(lambda c: f'standardize {{ columns: "{c}" }}', NAMES),
    st.builds(lambda c: f'anonymize {{ columns {{ column: "{c}" hash {{ salt: "x" }} }} }}', NAMES),
    st.builds(
        lambda n, s: f"sample {{ count: {n} seed: {s} }}",
        st.integers(-1, 5),
        st.integers(0, 2**64 - 1),
    ),
    st.builds(
        lambda s: f"split {{ train_fraction: 0.5 test_fraction: 0.5 seed: {s} }}", st.integers(0, 9)
    ),
    st.builds(
        lambda c, s: f'gaussian_noise {{ columns: "{c}" stddev: {s} }}',
        NAMES,
        st.sampled_from([0.1, 0.0]),
    ),
    st.builds(lambda c: f'oversample {{ label_column: "{c}" seed: 1 }}', NAMES),
)
ROWS = st.lists(
    st.tuples(
        st.none() | st.integers(-(2**63), 2**63 - 1),
        st.none() | st.floats(),
        st.none() | st.sampled_from(["a", "b", "12", "ß"]),
        st.none() | st.booleans(),
        st.none() | st.integers(0, 255),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEPS, max_size=4), rows=ROWS)
def test_random_pipelines_validate_and_run_deterministically_or_are_rejected(
    steps: list[str], rows: list[tuple]
) -> None:
    p = pipeline(*steps)
    columns = [[row[i] for row in rows] for i in range(len(SCHEMA))]
    table = pa.Table.from_pydict(dict(zip(SCHEMA.names, columns, strict=True)), schema=SCHEMA)
    try:
        schema = validate(p, SCHEMA)
    except InvalidArgument as error:
        assert error.reason in {"COLUMN_NOT_FOUND", "SCHEMA_MISMATCH", "INVALID_FIELD"}
        assert int(error.metadata["step_index"]) < len(steps)
        assert error.violations[0].field.startswith(
            f"pipeline.steps[{error.metadata['step_index']}]"
        )
        return
    outcomes = []
    for _ in range(2):
        try:
            result = run(p, table)
        except FailedPrecondition as error:
            assert error.reason in {"CAST_FAILED", "ARITHMETIC_OVERFLOW"}
            outcomes.append((error.reason, dict(error.metadata)))
        else:
            assert result.table.schema.names == schema.names
            assert result.table.schema.types == schema.types
            reports = [r.SerializeToString(deterministic=True) for r in result.step_reports]
            outcomes.append((content_digest(result.table), reports))
    assert outcomes[0] == outcomes[1]

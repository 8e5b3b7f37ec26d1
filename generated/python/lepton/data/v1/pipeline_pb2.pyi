import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NullRowPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NULL_ROW_POLICY_UNSPECIFIED: _ClassVar[NullRowPolicy]
    NULL_ROW_POLICY_ANY: _ClassVar[NullRowPolicy]
    NULL_ROW_POLICY_ALL: _ClassVar[NullRowPolicy]

class FillStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILL_STRATEGY_UNSPECIFIED: _ClassVar[FillStrategy]
    FILL_STRATEGY_CONSTANT: _ClassVar[FillStrategy]
    FILL_STRATEGY_FORWARD: _ClassVar[FillStrategy]
    FILL_STRATEGY_BACKWARD: _ClassVar[FillStrategy]
    FILL_STRATEGY_MEAN: _ClassVar[FillStrategy]
    FILL_STRATEGY_MEDIAN: _ClassVar[FillStrategy]
    FILL_STRATEGY_MODE: _ClassVar[FillStrategy]

class DuplicateKeep(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DUPLICATE_KEEP_UNSPECIFIED: _ClassVar[DuplicateKeep]
    DUPLICATE_KEEP_FIRST: _ClassVar[DuplicateKeep]
    DUPLICATE_KEEP_LAST: _ClassVar[DuplicateKeep]

class ComparisonOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPARISON_OPERATOR_UNSPECIFIED: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_EQUAL: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_NOT_EQUAL: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_LESS: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_LESS_OR_EQUAL: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_GREATER: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_GREATER_OR_EQUAL: _ClassVar[ComparisonOperator]

class StringMatchOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STRING_MATCH_OPERATOR_UNSPECIFIED: _ClassVar[StringMatchOperator]
    STRING_MATCH_OPERATOR_CONTAINS: _ClassVar[StringMatchOperator]
    STRING_MATCH_OPERATOR_STARTS_WITH: _ClassVar[StringMatchOperator]
    STRING_MATCH_OPERATOR_ENDS_WITH: _ClassVar[StringMatchOperator]

class CastErrorPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAST_ERROR_POLICY_UNSPECIFIED: _ClassVar[CastErrorPolicy]
    CAST_ERROR_POLICY_FAIL: _ClassVar[CastErrorPolicy]
    CAST_ERROR_POLICY_NULL: _ClassVar[CastErrorPolicy]

class Function(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FUNCTION_UNSPECIFIED: _ClassVar[Function]
    FUNCTION_ADD: _ClassVar[Function]
    FUNCTION_SUBTRACT: _ClassVar[Function]
    FUNCTION_MULTIPLY: _ClassVar[Function]
    FUNCTION_DIVIDE: _ClassVar[Function]
    FUNCTION_NEGATE: _ClassVar[Function]
    FUNCTION_ABS: _ClassVar[Function]
    FUNCTION_POWER: _ClassVar[Function]
    FUNCTION_SQRT: _ClassVar[Function]
    FUNCTION_EXP: _ClassVar[Function]
    FUNCTION_LOG: _ClassVar[Function]
    FUNCTION_ROUND: _ClassVar[Function]
    FUNCTION_FLOOR: _ClassVar[Function]
    FUNCTION_CEIL: _ClassVar[Function]
    FUNCTION_CONCAT: _ClassVar[Function]
    FUNCTION_UPPER: _ClassVar[Function]
    FUNCTION_LOWER: _ClassVar[Function]
    FUNCTION_TRIM: _ClassVar[Function]
    FUNCTION_LENGTH: _ClassVar[Function]
    FUNCTION_SUBSTRING: _ClassVar[Function]
    FUNCTION_REPLACE: _ClassVar[Function]
    FUNCTION_COALESCE: _ClassVar[Function]
NULL_ROW_POLICY_UNSPECIFIED: NullRowPolicy
NULL_ROW_POLICY_ANY: NullRowPolicy
NULL_ROW_POLICY_ALL: NullRowPolicy
FILL_STRATEGY_UNSPECIFIED: FillStrategy
FILL_STRATEGY_CONSTANT: FillStrategy
FILL_STRATEGY_FORWARD: FillStrategy
FILL_STRATEGY_BACKWARD: FillStrategy
FILL_STRATEGY_MEAN: FillStrategy
FILL_STRATEGY_MEDIAN: FillStrategy
FILL_STRATEGY_MODE: FillStrategy
DUPLICATE_KEEP_UNSPECIFIED: DuplicateKeep
DUPLICATE_KEEP_FIRST: DuplicateKeep
DUPLICATE_KEEP_LAST: DuplicateKeep
COMPARISON_OPERATOR_UNSPECIFIED: ComparisonOperator
COMPARISON_OPERATOR_EQUAL: ComparisonOperator
COMPARISON_OPERATOR_NOT_EQUAL: ComparisonOperator
COMPARISON_OPERATOR_LESS: ComparisonOperator
COMPARISON_OPERATOR_LESS_OR_EQUAL: ComparisonOperator
COMPARISON_OPERATOR_GREATER: ComparisonOperator
COMPARISON_OPERATOR_GREATER_OR_EQUAL: ComparisonOperator
STRING_MATCH_OPERATOR_UNSPECIFIED: StringMatchOperator
STRING_MATCH_OPERATOR_CONTAINS: StringMatchOperator
STRING_MATCH_OPERATOR_STARTS_WITH: StringMatchOperator
STRING_MATCH_OPERATOR_ENDS_WITH: StringMatchOperator
CAST_ERROR_POLICY_UNSPECIFIED: CastErrorPolicy
CAST_ERROR_POLICY_FAIL: CastErrorPolicy
CAST_ERROR_POLICY_NULL: CastErrorPolicy
FUNCTION_UNSPECIFIED: Function
FUNCTION_ADD: Function
FUNCTION_SUBTRACT: Function
FUNCTION_MULTIPLY: Function
FUNCTION_DIVIDE: Function
FUNCTION_NEGATE: Function
FUNCTION_ABS: Function
FUNCTION_POWER: Function
FUNCTION_SQRT: Function
FUNCTION_EXP: Function
FUNCTION_LOG: Function
FUNCTION_ROUND: Function
FUNCTION_FLOOR: Function
FUNCTION_CEIL: Function
FUNCTION_CONCAT: Function
FUNCTION_UPPER: Function
FUNCTION_LOWER: Function
FUNCTION_TRIM: Function
FUNCTION_LENGTH: Function
FUNCTION_SUBSTRING: Function
FUNCTION_REPLACE: Function
FUNCTION_COALESCE: Function

class Pipeline(_message.Message):
    __slots__ = ("steps",)
    STEPS_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    def __init__(self, steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("drop_nulls", "fill_nulls", "deduplicate", "filter", "select_columns", "rename_columns", "cast_columns", "derive_column", "normalize", "standardize", "anonymize", "sample", "split", "gaussian_noise", "oversample")
    DROP_NULLS_FIELD_NUMBER: _ClassVar[int]
    FILL_NULLS_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SELECT_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    RENAME_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    CAST_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    DERIVE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_FIELD_NUMBER: _ClassVar[int]
    STANDARDIZE_FIELD_NUMBER: _ClassVar[int]
    ANONYMIZE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    GAUSSIAN_NOISE_FIELD_NUMBER: _ClassVar[int]
    OVERSAMPLE_FIELD_NUMBER: _ClassVar[int]
    drop_nulls: DropNullsStep
    fill_nulls: FillNullsStep
    deduplicate: DeduplicateStep
    filter: FilterStep
    select_columns: SelectColumnsStep
    rename_columns: RenameColumnsStep
    cast_columns: CastColumnsStep
    derive_column: DeriveColumnStep
    normalize: NormalizeStep
    standardize: StandardizeStep
    anonymize: AnonymizeStep
    sample: SampleStep
    split: SplitStep
    gaussian_noise: GaussianNoiseStep
    oversample: OversampleStep
    def __init__(self, drop_nulls: _Optional[_Union[DropNullsStep, _Mapping]] = ..., fill_nulls: _Optional[_Union[FillNullsStep, _Mapping]] = ..., deduplicate: _Optional[_Union[DeduplicateStep, _Mapping]] = ..., filter: _Optional[_Union[FilterStep, _Mapping]] = ..., select_columns: _Optional[_Union[SelectColumnsStep, _Mapping]] = ..., rename_columns: _Optional[_Union[RenameColumnsStep, _Mapping]] = ..., cast_columns: _Optional[_Union[CastColumnsStep, _Mapping]] = ..., derive_column: _Optional[_Union[DeriveColumnStep, _Mapping]] = ..., normalize: _Optional[_Union[NormalizeStep, _Mapping]] = ..., standardize: _Optional[_Union[StandardizeStep, _Mapping]] = ..., anonymize: _Optional[_Union[AnonymizeStep, _Mapping]] = ..., sample: _Optional[_Union[SampleStep, _Mapping]] = ..., split: _Optional[_Union[SplitStep, _Mapping]] = ..., gaussian_noise: _Optional[_Union[GaussianNoiseStep, _Mapping]] = ..., oversample: _Optional[_Union[OversampleStep, _Mapping]] = ...) -> None: ...

class Literal(_message.Message):
    __slots__ = ("bool_value", "int64_value", "double_value", "string_value", "bytes_value", "timestamp_value", "date_value")
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    BYTES_VALUE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_VALUE_FIELD_NUMBER: _ClassVar[int]
    DATE_VALUE_FIELD_NUMBER: _ClassVar[int]
    bool_value: bool
    int64_value: int
    double_value: float
    string_value: str
    bytes_value: bytes
    timestamp_value: _timestamp_pb2.Timestamp
    date_value: str
    def __init__(self, bool_value: _Optional[bool] = ..., int64_value: _Optional[int] = ..., double_value: _Optional[float] = ..., string_value: _Optional[str] = ..., bytes_value: _Optional[bytes] = ..., timestamp_value: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_value: _Optional[str] = ...) -> None: ...

class DropNullsStep(_message.Message):
    __slots__ = ("columns", "policy")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    policy: NullRowPolicy
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., policy: _Optional[_Union[NullRowPolicy, str]] = ...) -> None: ...

class FillNullsStep(_message.Message):
    __slots__ = ("columns", "strategy", "value")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    strategy: FillStrategy
    value: Literal
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., strategy: _Optional[_Union[FillStrategy, str]] = ..., value: _Optional[_Union[Literal, _Mapping]] = ...) -> None: ...

class DeduplicateStep(_message.Message):
    __slots__ = ("columns", "keep")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    keep: DuplicateKeep
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., keep: _Optional[_Union[DuplicateKeep, str]] = ...) -> None: ...

class FilterStep(_message.Message):
    __slots__ = ("predicate",)
    PREDICATE_FIELD_NUMBER: _ClassVar[int]
    predicate: Predicate
    def __init__(self, predicate: _Optional[_Union[Predicate, _Mapping]] = ...) -> None: ...

class Predicate(_message.Message):
    __slots__ = ("comparison", "all_of", "any_of", "negate", "is_null", "in_set", "string_match")
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    ALL_OF_FIELD_NUMBER: _ClassVar[int]
    ANY_OF_FIELD_NUMBER: _ClassVar[int]
    NEGATE_FIELD_NUMBER: _ClassVar[int]
    IS_NULL_FIELD_NUMBER: _ClassVar[int]
    IN_SET_FIELD_NUMBER: _ClassVar[int]
    STRING_MATCH_FIELD_NUMBER: _ClassVar[int]
    comparison: Comparison
    all_of: PredicateList
    any_of: PredicateList
    negate: Predicate
    is_null: IsNull
    in_set: InSet
    string_match: StringMatch
    def __init__(self, comparison: _Optional[_Union[Comparison, _Mapping]] = ..., all_of: _Optional[_Union[PredicateList, _Mapping]] = ..., any_of: _Optional[_Union[PredicateList, _Mapping]] = ..., negate: _Optional[_Union[Predicate, _Mapping]] = ..., is_null: _Optional[_Union[IsNull, _Mapping]] = ..., in_set: _Optional[_Union[InSet, _Mapping]] = ..., string_match: _Optional[_Union[StringMatch, _Mapping]] = ...) -> None: ...

class PredicateList(_message.Message):
    __slots__ = ("predicates",)
    PREDICATES_FIELD_NUMBER: _ClassVar[int]
    predicates: _containers.RepeatedCompositeFieldContainer[Predicate]
    def __init__(self, predicates: _Optional[_Iterable[_Union[Predicate, _Mapping]]] = ...) -> None: ...

class Comparison(_message.Message):
    __slots__ = ("column", "operator", "value", "other_column")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    OTHER_COLUMN_FIELD_NUMBER: _ClassVar[int]
    column: str
    operator: ComparisonOperator
    value: Literal
    other_column: str
    def __init__(self, column: _Optional[str] = ..., operator: _Optional[_Union[ComparisonOperator, str]] = ..., value: _Optional[_Union[Literal, _Mapping]] = ..., other_column: _Optional[str] = ...) -> None: ...

class IsNull(_message.Message):
    __slots__ = ("column",)
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    column: str
    def __init__(self, column: _Optional[str] = ...) -> None: ...

class InSet(_message.Message):
    __slots__ = ("column", "values")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    column: str
    values: _containers.RepeatedCompositeFieldContainer[Literal]
    def __init__(self, column: _Optional[str] = ..., values: _Optional[_Iterable[_Union[Literal, _Mapping]]] = ...) -> None: ...

class StringMatch(_message.Message):
    __slots__ = ("column", "operator", "pattern", "ignore_case")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    IGNORE_CASE_FIELD_NUMBER: _ClassVar[int]
    column: str
    operator: StringMatchOperator
    pattern: str
    ignore_case: bool
    def __init__(self, column: _Optional[str] = ..., operator: _Optional[_Union[StringMatchOperator, str]] = ..., pattern: _Optional[str] = ..., ignore_case: _Optional[bool] = ...) -> None: ...

class SelectColumnsStep(_message.Message):
    __slots__ = ("columns",)
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, columns: _Optional[_Iterable[str]] = ...) -> None: ...

class ColumnRename(_message.Message):
    __slots__ = ("old_name", "new_name")
    OLD_NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    old_name: str
    new_name: str
    def __init__(self, old_name: _Optional[str] = ..., new_name: _Optional[str] = ...) -> None: ...

class RenameColumnsStep(_message.Message):
    __slots__ = ("renames",)
    RENAMES_FIELD_NUMBER: _ClassVar[int]
    renames: _containers.RepeatedCompositeFieldContainer[ColumnRename]
    def __init__(self, renames: _Optional[_Iterable[_Union[ColumnRename, _Mapping]]] = ...) -> None: ...

class ColumnCast(_message.Message):
    __slots__ = ("column", "type", "on_error")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    column: str
    type: str
    on_error: CastErrorPolicy
    def __init__(self, column: _Optional[str] = ..., type: _Optional[str] = ..., on_error: _Optional[_Union[CastErrorPolicy, str]] = ...) -> None: ...

class CastColumnsStep(_message.Message):
    __slots__ = ("casts",)
    CASTS_FIELD_NUMBER: _ClassVar[int]
    casts: _containers.RepeatedCompositeFieldContainer[ColumnCast]
    def __init__(self, casts: _Optional[_Iterable[_Union[ColumnCast, _Mapping]]] = ...) -> None: ...

class DeriveColumnStep(_message.Message):
    __slots__ = ("column", "expression", "replace")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    column: str
    expression: Expression
    replace: bool
    def __init__(self, column: _Optional[str] = ..., expression: _Optional[_Union[Expression, _Mapping]] = ..., replace: _Optional[bool] = ...) -> None: ...

class Expression(_message.Message):
    __slots__ = ("column", "literal", "call", "cast")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    LITERAL_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    CAST_FIELD_NUMBER: _ClassVar[int]
    column: str
    literal: Literal
    call: FunctionCall
    cast: CastExpression
    def __init__(self, column: _Optional[str] = ..., literal: _Optional[_Union[Literal, _Mapping]] = ..., call: _Optional[_Union[FunctionCall, _Mapping]] = ..., cast: _Optional[_Union[CastExpression, _Mapping]] = ...) -> None: ...

class FunctionCall(_message.Message):
    __slots__ = ("function", "arguments")
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    function: Function
    arguments: _containers.RepeatedCompositeFieldContainer[Expression]
    def __init__(self, function: _Optional[_Union[Function, str]] = ..., arguments: _Optional[_Iterable[_Union[Expression, _Mapping]]] = ...) -> None: ...

class CastExpression(_message.Message):
    __slots__ = ("input", "type", "on_error")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    input: Expression
    type: str
    on_error: CastErrorPolicy
    def __init__(self, input: _Optional[_Union[Expression, _Mapping]] = ..., type: _Optional[str] = ..., on_error: _Optional[_Union[CastErrorPolicy, str]] = ...) -> None: ...

class NormalizeStep(_message.Message):
    __slots__ = ("columns",)
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, columns: _Optional[_Iterable[str]] = ...) -> None: ...

class StandardizeStep(_message.Message):
    __slots__ = ("columns",)
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, columns: _Optional[_Iterable[str]] = ...) -> None: ...

class HashOperator(_message.Message):
    __slots__ = ("salt",)
    SALT_FIELD_NUMBER: _ClassVar[int]
    salt: str
    def __init__(self, salt: _Optional[str] = ...) -> None: ...

class MaskOperator(_message.Message):
    __slots__ = ("masking_char", "chars_to_keep", "from_end")
    MASKING_CHAR_FIELD_NUMBER: _ClassVar[int]
    CHARS_TO_KEEP_FIELD_NUMBER: _ClassVar[int]
    FROM_END_FIELD_NUMBER: _ClassVar[int]
    masking_char: str
    chars_to_keep: int
    from_end: bool
    def __init__(self, masking_char: _Optional[str] = ..., chars_to_keep: _Optional[int] = ..., from_end: _Optional[bool] = ...) -> None: ...

class RedactOperator(_message.Message):
    __slots__ = ("replacement",)
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    replacement: str
    def __init__(self, replacement: _Optional[str] = ...) -> None: ...

class DropOperator(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ColumnAnonymization(_message.Message):
    __slots__ = ("column", "hash", "mask", "redact", "drop")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    MASK_FIELD_NUMBER: _ClassVar[int]
    REDACT_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    column: str
    hash: HashOperator
    mask: MaskOperator
    redact: RedactOperator
    drop: DropOperator
    def __init__(self, column: _Optional[str] = ..., hash: _Optional[_Union[HashOperator, _Mapping]] = ..., mask: _Optional[_Union[MaskOperator, _Mapping]] = ..., redact: _Optional[_Union[RedactOperator, _Mapping]] = ..., drop: _Optional[_Union[DropOperator, _Mapping]] = ...) -> None: ...

class AnonymizeStep(_message.Message):
    __slots__ = ("columns",)
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[ColumnAnonymization]
    def __init__(self, columns: _Optional[_Iterable[_Union[ColumnAnonymization, _Mapping]]] = ...) -> None: ...

class SampleStep(_message.Message):
    __slots__ = ("fraction", "count", "seed")
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    fraction: float
    count: int
    seed: int
    def __init__(self, fraction: _Optional[float] = ..., count: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class SplitStep(_message.Message):
    __slots__ = ("train_fraction", "validation_fraction", "test_fraction", "seed", "column", "stratify_column")
    TRAIN_FRACTION_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    STRATIFY_COLUMN_FIELD_NUMBER: _ClassVar[int]
    train_fraction: float
    validation_fraction: float
    test_fraction: float
    seed: int
    column: str
    stratify_column: str
    def __init__(self, train_fraction: _Optional[float] = ..., validation_fraction: _Optional[float] = ..., test_fraction: _Optional[float] = ..., seed: _Optional[int] = ..., column: _Optional[str] = ..., stratify_column: _Optional[str] = ...) -> None: ...

class GaussianNoiseStep(_message.Message):
    __slots__ = ("columns", "stddev", "seed")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    STDDEV_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    stddev: float
    seed: int
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., stddev: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class OversampleStep(_message.Message):
    __slots__ = ("label_column", "seed", "indicator_column")
    LABEL_COLUMN_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    INDICATOR_COLUMN_FIELD_NUMBER: _ClassVar[int]
    label_column: str
    seed: int
    indicator_column: str
    def __init__(self, label_column: _Optional[str] = ..., seed: _Optional[int] = ..., indicator_column: _Optional[str] = ...) -> None: ...

"""The Ray executor of pipeline runs (spec/data.md §6.6): the run's table is cut into row-range
chunks sized to a task's memory budget and held in Ray's object store; row-wise steps run as
one task per chunk, global steps follow the two-pass plan of §6.6 (pass 1: per-chunk partial
statistics, merged by this driver; pass 2: each chunk rewritten with the merged result). The
output is row for row the local executor's, so its content digest is the same (DAT-131).

Workers compile the pipeline themselves against the input schema (the same compiler the local
executor uses), so only bytes, chunks and small statistics cross process boundaries."""

from __future__ import annotations

import functools
import hashlib
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray
from ray.exceptions import RayTaskError

from lepton.data.v1 import pipeline_pb2 as pb
from lepton.data.v1 import pipeline_run_pb2 as run_pb
from lepton_server.data.arrow_types import decode_dictionaries
from lepton_server.data.pipelines import PipelineCancelled, RunResult
from lepton_server.data.pipelines.compilation import compile_pipeline
from lepton_server.data.pipelines.execution import check_output, step_report
from lepton_server.data.pipelines.plans import Fitted, Plan, column_array
from lepton_server.data.pipelines.statistics import float_sum, integer_sum
from lepton_server.data.pipelines.steps.cleaning import Deduplicate, kept_rows, key_table
from lepton_server.data.pipelines.steps.sampling import Sample, Split, row_draws
from lepton_server.data.pipelines.steps.scaling import Rescale, rescale_inputs, rescaled_column
from lepton_server.runtime import ray_connection

# What one task may hold by default; chunks take a quarter of it (input, output, temporaries).
DEFAULT_TASK_MEMORY_BYTES = 256 << 20
# Draws are binned by their top 16 bits when the ranks of sample and split are located.
_BIN_BITS = 16
_BIN_SHIFT = np.uint64(64 - _BIN_BITS)
# A threshold no (draw, row) pair reaches: the rank it stands for is beyond the group.
_NO_DRAW = np.iinfo(np.uint64).max
_NO_ROW = np.iinfo(np.int64).max
# Exact sums below this bound cannot have overflowed in any order of summation (math.fsum
# raises on an intermediate overflow; such columns are fitted on the driver instead).
_SAFE_SUM = 2.0**1000


class _OnDriver(Exception):
    """Pass 1's statistics cannot fix the local result exactly: the step runs on the driver."""


@dataclass(frozen=True)
class _Step:
    """What every task of one run receives: the pipeline, the schema it was compiled on, and
    the index of the step the task works for."""

    pipeline: bytes
    schema: bytes
    index: int

    @property
    def plan(self) -> Plan:
        return _compiled(self.pipeline, self.schema)[self.index]

    def at(self, index: int) -> _Step:
        return _Step(self.pipeline, self.schema, index)


@functools.lru_cache(maxsize=8)
def _compiled(pipeline: bytes, schema: bytes) -> list[Plan]:
    return compile_pipeline(
        pb.Pipeline.FromString(pipeline), pa.ipc.read_schema(pa.py_buffer(schema)), "pipeline"
    )


# --- Tasks (each on one chunk, or on the pieces of one partition) -----------------------------


def _row_steps(first: _Step, stop: int, chunk: pa.Table) -> tuple[pa.Table, list[int]]:
    """Row-wise steps first.index .. stop - 1 on one chunk, and its row count after each."""
    counts = []
    for index in range(first.index, stop):
        plan = first.at(index).plan
        chunk, _ = plan.apply(chunk)
        check_output(chunk, plan, index)
        counts.append(chunk.num_rows)
    return chunk, counts


@dataclass(frozen=True)
class _Moments:
    """Pass 1 of normalize and standardize on one column of one chunk."""

    integer: bool
    count: int
    total: Fraction  # the exact sum of the usable values (finite ones for a float column)
    positive_infinity: bool
    negative_infinity: bool
    largest: float  # the largest magnitude among the finite usable values
    low: float
    high: float
    zero_signs: frozenset[bool]  # the signs (signbit) of the zeros among the values


def _moments(at: _Step, chunk: pa.Table) -> list[_Moments]:
    step: Rescale = at.plan.global_step
    result = []
    for column in step.indices:
        array = column_array(chunk, column)
        x, _, usable = rescale_inputs(array)
        values = x[usable]
        finite = values[np.isfinite(values)]
        if pa.types.is_integer(array.type):
            total = Fraction(integer_sum(array))
        else:
            total = float_sum(finite)
        any_values = len(values) > 0
        result.append(
            _Moments(
                integer=pa.types.is_integer(array.type),
                count=len(values),
                total=total,
                positive_infinity=bool(np.isposinf(values).any()),
                negative_infinity=bool(np.isneginf(values).any()),
                largest=float(np.abs(finite).max()) if len(finite) else 0.0,
                low=float(values.min()) if any_values else math.nan,
                high=float(values.max()) if any_values else math.nan,
                zero_signs=frozenset(np.signbit(values[values == 0]).tolist()),
            )
        )
    return result


def _squares(at: _Step, chunk: pa.Table, means: list[float]) -> list[tuple]:
    """Standardize's second statistics round: per column (any NaN, any infinity, exact sum)
    of (x - mean)², each square computed in double as the local executor does."""
    step: Rescale = at.plan.global_step
    result = []
    for column, mean in zip(step.indices, means, strict=True):
        x, _, usable = rescale_inputs(column_array(chunk, column))
        with np.errstate(all="ignore"):
            squares = np.square(x[usable] - mean)
        nan, inf = bool(np.isnan(squares).any()), bool(np.isinf(squares).any())
        result.append((nan, inf, Fraction(0) if nan or inf else float_sum(squares)))
    return result


def _rescale(at: _Step, chunk: pa.Table, fitted: Fitted) -> pa.Table:
    plan = at.plan
    step: Rescale = plan.global_step
    for column, report in zip(step.indices, fitted, strict=True):
        x, valid, usable = rescale_inputs(column_array(chunk, column))
        rescaled = rescaled_column(x, valid, usable, report, standardize=step.standardize)
        chunk = chunk.set_column(column, plan.output_schema.field(column), rescaled)
    return chunk


def _route(keyed: pa.Table) -> np.ndarray:
    """A hash of each row's key columns (all but the last, "row") that equal keys share:
    it only routes rows to partitions; the partitions compare the keys themselves."""
    hashes = np.zeros(keyed.num_rows, np.uint64)
    for name in keyed.column_names[:-1]:
        encoded = keyed.column(name).combine_chunks().dictionary_encode(null_encoding="encode")
        codes = np.array(
            [
                int.from_bytes(
                    hashlib.blake2b(repr(value).encode(), digest_size=8).digest(), "little"
                )
                for value in encoded.dictionary.to_pylist()
            ],
            np.uint64,
        )
        with np.errstate(over="ignore"):
            hashes = hashes * np.uint64(1099511628211) ^ codes[encoded.indices.to_numpy()]
    return hashes


def _key_pieces(
    at: _Step, chunk: pa.Table, first_row: int, partitions: int
) -> list[pa.Table] | pa.Table:
    """Deduplicate's pass 1: the chunk's own survivors (keys and row numbers), split into
    `partitions` pieces by the hash of their keys."""
    step: Deduplicate = at.plan.global_step
    keyed = key_table(chunk, step.keys, first_row)
    keyed = keyed.take(kept_rows(keyed, step.keep_last) - first_row)
    route = _route(keyed) % np.uint64(partitions)
    pieces = [keyed.filter(pa.array(route == p)) for p in range(partitions)]
    return pieces if partitions > 1 else pieces[0]


def _partition_rows(keep_last: bool, *pieces: pa.Table) -> np.ndarray:
    """The row numbers deduplicate keeps among one partition's pieces (equal keys meet here)."""
    return kept_rows(pa.concat_tables(pieces), keep_last)


def _take(chunk: pa.Table, rows: np.ndarray) -> pa.Table:
    return chunk.take(rows)


def _groups(step: Sample | Split, chunk: pa.Table) -> tuple[np.ndarray, pa.Array | None]:
    """Each row's group within the chunk (its stratum's code; 0 without strata) and the
    chunk's strata (canonical keys) in code order."""
    key = step.strata_key(chunk) if isinstance(step, Split) else None
    if key is None:
        return np.zeros(chunk.num_rows, np.int64), None
    encoded = key.dictionary_encode(null_encoding="encode")
    return encoded.indices.to_numpy().astype(np.int64), encoded.dictionary


def _draw_cells(
    at: _Step, chunk: pa.Table, first_row: int, mapping: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's cell (group · 2^16 + top 16 bits of its draw, with groups numbered as in
    `mapping`, the driver's numbering of this chunk's strata), draw and row number."""
    step = at.plan.global_step
    groups, _ = _groups(step, chunk)
    if mapping is not None:
        groups = mapping[groups]
    draws = row_draws(step.seed, first_row, chunk.num_rows)
    cells = (groups << _BIN_BITS) + (draws >> _BIN_SHIFT).astype(np.int64)
    rows = np.arange(first_row, first_row + chunk.num_rows, dtype=np.int64)
    return cells, draws, rows


def _histogram(
    at: _Step, chunk: pa.Table, first_row: int
) -> tuple[pa.Array | None, np.ndarray, np.ndarray]:
    """Sample's and split's pass 1: the chunk's strata, and its row count per cell (with the
    chunk's own group codes)."""
    _, strata = _groups(at.plan.global_step, chunk)
    cells, _, _ = _draw_cells(at, chunk, first_row, None)
    found, counts = np.unique(cells, return_counts=True)
    return strata, found, counts


def _cell_rows(
    at: _Step,
    chunk: pa.Table,
    first_row: int,
    mapping: np.ndarray | None,
    wanted: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (cell, draw, row) of the chunk's rows in the `wanted` cells: where ranks fall."""
    cells, draws, rows = _draw_cells(at, chunk, first_row, mapping)
    inside = np.isin(cells, wanted)
    return cells[inside], draws[inside], rows[inside]


def _ranked(
    at: _Step,
    chunk: pa.Table,
    first_row: int,
    mapping: np.ndarray | None,
    thresholds: tuple[np.ndarray, np.ndarray],
) -> pa.Table:
    """Sample's and split's pass 2: each row's code is the number of its group's threshold
    pairs (draw, row) at or below its own; sample keeps code 0, split labels by code."""
    step = at.plan.global_step
    cells, draws, rows = _draw_cells(at, chunk, first_row, mapping)
    groups = cells >> _BIN_BITS
    threshold_draws, threshold_rows = thresholds
    codes = np.zeros(chunk.num_rows, np.int64)
    for j in range(threshold_draws.shape[1]):
        td, tr = threshold_draws[groups, j], threshold_rows[groups, j]
        codes += (draws > td) | ((draws == td) & (rows >= tr))
    if isinstance(step, Sample):
        return chunk.filter(pa.array(codes == 0))
    return step.labelled(chunk, codes)


# --- The driver -------------------------------------------------------------------------------


def _get(refs: Any) -> Any:
    """ray.get, re-raising a task's own exception (a domain error such as CAST_FAILED)."""
    try:
        return ray.get(refs)
    except RayTaskError as error:
        raise error.cause from None


class RayExecutor:
    """Runs pipelines on the Ray cluster at `address` (spec/data.md §6.6). Every task
    reserves `task_memory_bytes` of Ray's memory resource and is given a chunk of at most a
    quarter of it."""

    def __init__(self, address: str, *, task_memory_bytes: int = DEFAULT_TASK_MEMORY_BYTES) -> None:
        self.address = address
        self.task_memory_bytes = task_memory_bytes
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}

    def _connect(self) -> None:
        ray_connection.connect(self.address)

    def _task(self, function: Callable[..., Any], **options: Any) -> Any:
        """`function` as a Ray remote function that reserves the memory budget."""
        with self._lock:
            key = f"{function.__name__}{sorted(options.items())}"
            if key not in self._tasks:
                self._tasks[key] = ray.remote(function).options(
                    memory=self.task_memory_bytes, max_retries=0, **options
                )
            return self._tasks[key]

    def chunk_rows(self, table: pa.Table) -> int:
        """How many rows of `table` one chunk holds."""
        per_row = max(1, math.ceil(table.nbytes / max(1, table.num_rows)))
        return max(1, self.task_memory_bytes // 4 // per_row)

    def _chunks(self, table: pa.Table) -> tuple[list[Any], list[int]]:
        rows = self.chunk_rows(table)
        starts = range(0, max(table.num_rows, 1), rows)
        pieces = [table.slice(start, rows) for start in starts]
        return [ray.put(piece) for piece in pieces], [piece.num_rows for piece in pieces]

    def run(
        self,
        pipeline: pb.Pipeline,
        table: pa.Table,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunResult:
        """What pipelines.run returns for the same arguments, computed on the cluster."""
        table = decode_dictionaries(table)
        plans = compile_pipeline(pipeline, table.schema, "pipeline")
        job = _Step(pipeline.SerializeToString(), table.schema.serialize().to_pybytes(), 0)
        self._connect()
        chunks, counts = self._chunks(table)
        del table
        reports: list[run_pb.StepReport] = []
        if on_progress is not None:
            on_progress(0, len(plans))
        index = 0
        while index < len(plans):
            if should_stop is not None and should_stop():
                raise PipelineCancelled(index)
            stop = index + 1
            if plans[index].row_wise:
                while stop < len(plans) and plans[stop].row_wise:
                    stop += 1
                chunks, after = self._row_wise(job.at(index), stop, chunks)
                for step in range(index, stop):
                    before = counts if step == index else after[step - index - 1]
                    reports.append(step_report(step, sum(before), sum(after[step - index]), []))
                counts = after[-1]
            else:
                input_rows = sum(counts)
                chunks, counts, fitted = self._global(job.at(index), chunks, counts)
                reports.append(step_report(index, input_rows, sum(counts), fitted))
            if on_progress is not None:
                for step in range(index, stop):
                    on_progress(step + 1, len(plans))
            index = stop
        return RunResult(pa.concat_tables(_get(chunks)), reports)

    def _row_wise(
        self, first: _Step, stop: int, chunks: list[Any]
    ) -> tuple[list[Any], list[list[int]]]:
        task = self._task(_row_steps, num_returns=2)
        results = [task.remote(first, stop, chunk) for chunk in chunks]
        per_chunk = _get([counts for _, counts in results])
        after = [[counts[step] for counts in per_chunk] for step in range(stop - first.index)]
        return [chunk for chunk, _ in results], after

    def _global(
        self, at: _Step, chunks: list[Any], counts: list[int]
    ) -> tuple[list[Any], list[int], Fitted]:
        step = at.plan.global_step
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(int).tolist()
        try:
            if isinstance(step, Rescale):
                chunks, fitted = self._rescale(at, step, chunks)
                return chunks, counts, fitted
            if isinstance(step, Deduplicate) and step.keys and sum(counts):
                chunks = self._deduplicate(at, step, chunks, counts, offsets)
            elif isinstance(step, Sample | Split):
                chunks = self._ranks(at, step, chunks, offsets)
            else:
                raise _OnDriver
        except _OnDriver:
            return self._on_driver(at, chunks)
        return chunks, _get([self._task(_count).remote(chunk) for chunk in chunks]), []

    def _on_driver(self, at: _Step, chunks: list[Any]) -> tuple[list[Any], list[int], Fitted]:
        """A global step without a two-pass plan (or whose statistics cannot be merged
        exactly) runs here on the whole table, as the local executor runs it."""
        table, fitted = at.plan.apply(pa.concat_tables(_get(chunks)))
        check_output(table, at.plan, at.index)
        chunks, counts = self._chunks(table)
        return chunks, counts, fitted

    def _rescale(self, at: _Step, step: Rescale, chunks: list[Any]) -> tuple[list[Any], Fitted]:
        plan_names = [at.plan.output_schema.field(c).name for c in step.indices]
        moments = _get([self._task(_moments).remote(at, chunk) for chunk in chunks])
        columns = list(zip(*moments, strict=True))
        if step.standardize:
            means = [_mean(parts) for parts in columns]
            squares = _get([self._task(_squares).remote(at, chunk, means) for chunk in chunks])
            fitted = [
                run_pb.FittedColumn(column=name, mean=mean, stddev=_stddev(parts, count))
                for name, mean, parts, count in zip(
                    plan_names,
                    means,
                    zip(*squares, strict=True),
                    [sum(m.count for m in parts) for parts in columns],
                    strict=True,
                )
            ]
        else:
            fitted = [
                run_pb.FittedColumn(column=name, min=low, max=high)
                for name, (low, high) in zip(plan_names, map(_range, columns), strict=True)
            ]
        task = self._task(_rescale)
        return [task.remote(at, chunk, fitted) for chunk in chunks], fitted

    def _deduplicate(
        self,
        at: _Step,
        step: Deduplicate,
        chunks: list[Any],
        counts: list[int],
        offsets: list[int],
    ) -> list[Any]:
        partitions = len(chunks)
        pieces_task = self._task(_key_pieces, num_returns=partitions)
        pieces = [
            pieces_task.remote(at, chunk, first, partitions)
            for chunk, first in zip(chunks, offsets, strict=True)
        ]
        if partitions == 1:
            pieces = [[piece] for piece in pieces]
        merge = self._task(_partition_rows)
        kept = np.sort(
            np.concatenate(
                _get(
                    [
                        merge.remote(step.keep_last, *[chunk_pieces[p] for chunk_pieces in pieces])
                        for p in range(partitions)
                    ]
                )
            )
        )
        take = self._task(_take)
        result = []
        for chunk, first, count in zip(chunks, offsets, counts, strict=True):
            rows = kept[np.searchsorted(kept, first) : np.searchsorted(kept, first + count)]
            result.append(chunk if len(rows) == count else take.remote(chunk, rows - first))
        return result

    def _ranks(
        self,
        at: _Step,
        step: Sample | Split,
        chunks: list[Any],
        offsets: list[int],
    ) -> list[Any]:
        """Sample and split: pass 1 counts rows per cell, the driver locates the cell and the
        place in it of each rank that bounds a share, one more round fetches those cells' rows
        to fix each bound as a (draw, row) pair, and pass 2 codes every row by its bounds."""
        parts = _get(
            [
                self._task(_histogram).remote(at, chunk, first)
                for chunk, first in zip(chunks, offsets, strict=True)
            ]
        )
        mappings: list[np.ndarray | None] = [None] * len(chunks)
        if any(strata is not None for strata, _, _ in parts):
            everything = pa.concat_arrays([strata for strata, _, _ in parts]).unique()
            mappings = [
                pc.index_in(strata, value_set=everything, skip_nulls=False)
                .to_numpy(zero_copy_only=False)
                .astype(np.int64)
                for strata, _, _ in parts
            ]
            groups = len(everything)
        else:
            groups = 1
        found = [
            cells
            if mapping is None
            else (mapping[cells >> _BIN_BITS] << _BIN_BITS) + (cells & ((1 << _BIN_BITS) - 1))
            for (_, cells, _), mapping in zip(parts, mappings, strict=True)
        ]
        cells, inverse = np.unique(np.concatenate(found), return_inverse=True)
        cell_counts = np.zeros(len(cells), np.int64)
        np.add.at(cell_counts, inverse, np.concatenate([c for _, _, c in parts]))
        sizes = np.zeros(groups, np.int64)
        np.add.at(sizes, cells >> _BIN_BITS, cell_counts)
        if isinstance(step, Sample):
            ranks = np.array([[step.size(int(sizes[0]))]], np.int64)
        else:
            train, validation = step.counts(sizes)
            ranks = np.stack([train, train + validation], axis=1)
        # A rank r of group g is the global rank base[g] + r in the order of cells.
        bases = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        inside = ranks < sizes[:, None]
        wanted_ranks = (bases[:, None] + ranks)[inside]
        ends = np.cumsum(cell_counts)
        positions = np.searchsorted(ends, wanted_ranks, side="right")
        places = wanted_ranks - np.where(positions > 0, ends[positions - 1], 0)
        threshold_draws = np.full(ranks.shape, _NO_DRAW, np.uint64)
        threshold_rows = np.full(ranks.shape, _NO_ROW, np.int64)
        if len(wanted_ranks):
            wanted = np.unique(cells[positions])
            rows_task = self._task(_cell_rows)
            fetched = _get(
                [
                    rows_task.remote(at, chunk, first, mapping, wanted)
                    for chunk, first, mapping in zip(chunks, offsets, mappings, strict=True)
                ]
            )
            found_cells, draws, rows = (np.concatenate(part) for part in zip(*fetched, strict=True))
            order = np.lexsort((rows, draws, found_cells))
            found_cells, draws, rows = found_cells[order], draws[order], rows[order]
            picks = np.searchsorted(found_cells, cells[positions]) + places
            threshold_draws[inside] = draws[picks]
            threshold_rows[inside] = rows[picks]
        thresholds = ray.put((threshold_draws, threshold_rows))
        task = self._task(_ranked)
        return [
            task.remote(at, chunk, first, mapping, thresholds)
            for chunk, first, mapping in zip(chunks, offsets, mappings, strict=True)
        ]


def _count(chunk: pa.Table) -> int:
    return chunk.num_rows


def _mean(parts: Sequence[_Moments]) -> float:
    """The local executor's mean (statistics.mean_and_stddev) from the chunks' moments."""
    count = sum(m.count for m in parts)
    if count == 0:
        return math.nan
    positive = any(m.positive_infinity for m in parts)
    negative = any(m.negative_infinity for m in parts)
    if positive or negative:
        return math.nan if positive and negative else (math.inf if positive else -math.inf)
    total = sum((m.total for m in parts), Fraction(0))
    if parts[0].integer:  # the exact mean, rounded once
        return float(total / count)
    if max(m.largest for m in parts) * count >= _SAFE_SUM:
        raise _OnDriver
    return float(total) / count


def _stddev(parts: Sequence[tuple], count: int) -> float:
    """The population standard deviation from the chunks' sums of squared deviations."""
    if count == 0:
        return math.nan
    if any(nan for nan, _, _ in parts):
        return math.nan
    if any(inf for _, inf, _ in parts):
        return math.inf
    total = sum((s for _, _, s in parts), Fraction(0))
    if total >= _SAFE_SUM:
        raise _OnDriver
    return math.sqrt(float(total) / count)


def _range(parts: Sequence[_Moments]) -> tuple[float, float]:
    """The minimum and maximum of the usable values; a zero extreme where both zeros occur
    is left to the driver (which of -0.0 and 0.0 NumPy's reduction returns is its own)."""
    present = [m for m in parts if m.count]
    if not present:
        return math.nan, math.nan
    low, high = min(m.low for m in present), max(m.high for m in present)
    signs = frozenset().union(*(m.zero_signs for m in present))
    if len(signs) == 2 and 0 in (low, high):
        raise _OnDriver
    return low, high

"""Mutants: the reference server with exactly one MUST broken, to prove the suite catches it.

    python tests/mutant_server.py MUTANT serve --address 127.0.0.1:0 --data-dir DIR

applies the named mutation inside this process, then runs `lepton serve` unchanged.
MUTANTS maps each name to what it breaks and the case IDs that must fail — no more, no fewer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf import json_format, unknown_fields
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2

from lepton.data.v1 import dataset_pb2 as data_resources
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton_conformance import arrow_samples, vectors
from lepton_server import (
    auth,
    cli,
    discovery,
    error_mapping,
    errors,
    host,
    jobs,
    ordering,
    pagination,
)
from lepton_server.data import dataset_catalog, dataset_jobs, flight, pipeline_engine, processing
from lepton_server.data import servicer as data_servicer
from lepton_server.inference import (
    batcher,
    engine,
    model_repository,
    servicer,
    statistics,
    tensor_codec,
)

DISCOVERY_SERVICE = "lepton.discovery.v1.DiscoveryService"
HealthServicer = health.aio.HealthServicer


@dataclass(frozen=True)
class Mutant:
    """One broken server: what it breaks, how, and the cases that must catch it."""

    breaks: str
    apply: Callable[[], None]
    caught_by: frozenset[str]

    @property
    def profiles(self) -> list[str]:
        """The profiles it faces: the general profile and those of the cases that catch it.
        A mutation patches one layer's code, so the other layers' profiles would only repeat
        the reference server's run at the cost of minutes."""
        return sorted({"general"} | {case.split(".", 1)[0] for case in self.caught_by})


def _after_start(action: Callable[[host.RunningServer], object]) -> Callable[[], None]:
    """A mutation that runs `action` (a coroutine function) once the host has started."""

    def apply() -> None:
        original = host.ServerHost.start

        async def start(self: host.ServerHost) -> host.RunningServer:
            running = await original(self)
            await action(running)
            return running

        host.ServerHost.start = start

    return apply


def _health_class(cls: type) -> Callable[[], None]:
    def apply() -> None:
        health.aio.HealthServicer = cls

    return apply


class _LyingHealth(HealthServicer):
    async def Check(self, request, context):
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class _SilentWatchHealth(HealthServicer):
    async def Watch(self, request, context):
        await asyncio.Event().wait()


class _ClosingWatchHealth(HealthServicer):
    async def Watch(self, request, context):
        if request.service not in self._server_status:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        await super().Watch(request, context)


def _reflection_without(names: set[str], v1: bool = True) -> Callable[[], None]:
    def apply() -> None:
        from grpc_reflection.v1alpha import reflection  # noqa: PLC0415

        original = host.enable_reflection

        def enable(server, service_names, mirrors=None):
            kept = [n for n in service_names if n not in names]
            if v1:
                original(server, kept, mirrors)
            else:
                reflection.enable_server_reflection([*kept, reflection.SERVICE_NAME], server)

        host.enable_reflection = enable

    return apply


def _catch_all_unknown_methods() -> None:
    original = host.enable_reflection

    class CatchAll(grpc.GenericRpcHandler):
        def service(self, handler_call_details):
            async def answer(request, context):
                return b""

            return grpc.unary_unary_rpc_method_handler(answer)

    def enable(server, service_names, mirrors=None):
        original(server, service_names, mirrors)
        server.add_generic_rpc_handlers((CatchAll(),))

    host.enable_reflection = enable


def _discovery_describes_nothing() -> None:
    original = discovery.DiscoveryServicer.__init__

    def init(self, services):
        original(self, [])

    discovery.DiscoveryServicer.__init__ = init


def _strict_deserializer(deserializer):
    if deserializer is None:
        return None

    def deserialize(data: bytes):
        try:
            message = deserializer(data)
        except DecodeError:
            message = None
        # Inference requests arrive wrapped with their raw contents (wire.InferRequest).
        parsed = getattr(message, "message", message)
        if message is None or len(unknown_fields.UnknownFieldSet(parsed)):
            return error_mapping._Undecodable(
                errors.InvalidArgument(reason="MALFORMED_REQUEST", message="unknown fields")
            )
        return message

    return deserialize


def _set_attribute(owner: object, name: str, value: object) -> Callable[[], None]:
    return lambda: setattr(owner, name, value)


def _status_without_details(self: errors.LeptonError):
    from google.rpc import code_pb2, status_pb2  # noqa: PLC0415

    return status_pb2.Status(code=getattr(code_pb2, self.code.name), message=self.message)


def _replace(owner: object, name: str, make: Callable[[Callable], Callable]) -> Callable[[], None]:
    """A mutation that wraps `owner.name` with `make(original)`."""
    return lambda: setattr(owner, name, make(getattr(owner, name)))


def _unknown_version_unavailable(get):
    def mutated(self, name, version):
        try:
            return get(self, name, version)
        except errors.NotFound as error:
            if error.reason != "MODEL_VERSION_NOT_FOUND":
                raise
            raise errors.Unavailable(reason="MODEL_NOT_READY", message=error.message) from None

    return mutated


def _stream_aborts_on_error(_original):
    async def mutated(self, request):
        return servicer.wire.stream_response(await self.engine.infer(request.message, request.raw))

    return mutated


def _all_outputs(_original):
    return staticmethod(lambda loaded, request: list(loaded.model.outputs))


def _failures_not_counted(original):
    def mutated(self, ok, total_ns, **kwargs):
        if ok:
            original(self, ok, total_ns, **kwargs)

    return mutated


def _unload_ignored(original):
    return lambda self, name: [] if name in self.model_names() else original(self, name)


def _bool_unchecked(original):
    def mutated(data, dtype, shape, field):
        if dtype.name == "BOOL":
            return np.frombuffer(data, dtype=np.uint8).astype(bool).reshape(shape)
        return original(data, dtype, shape, field)

    return mutated


def _batches_cross_wired(original):
    """Outputs of a merged execution handed back to the requests in reverse order."""

    def mutated(self, batch):
        for size in {item.batch for item in batch}:
            same = [item for item in batch if item.batch == size]
            futures = [item.future for item in same]
            for item, future in zip(same, reversed(futures), strict=True):
                item.future = future
        return original(self, batch)

    return mutated


def _metadata_fixed_dimensions(original):
    def mutated(self, request):
        response = original(self, request)
        for tensor in [*response.inputs, *response.outputs]:
            tensor.shape[:] = [1 if d < 0 else d for d in tensor.shape]
        return response

    return mutated


def _tokens_never_end(paginate):
    """The last page still gets a token: the last item's position, the one it came from, or
    (for an empty list) a position before every item."""

    def mutated(items, order, getter, size, after, *, field_path="page_token"):
        page, last = paginate(items, order, getter, size, after, field_path=field_path)
        if last is None and page:
            last = ordering.sort_values(order, getter(page[-1]))
        elif last is None:
            last = after if after is not None else [None] * len(order)
        return page, last

    return mutated


def _foreign_tokens_accepted(original):
    def mutated(self, token, binding, field_path="page_token"):
        try:
            return original(self, token, binding, field_path)
        except errors.InvalidArgument:
            return None

    return mutated


def _negative_page_size_accepted(original):
    return lambda value, default, maximum=1000, field_path="page_size": original(
        max(value, 0), default, maximum, field_path
    )


def _mixed_contents_allowed(original):
    def mutated(loaded, inputs, raw, dtypes):
        if raw:
            for *_, tensor in inputs:
                tensor.ClearField("contents")
        return original(loaded, inputs, raw, dtypes)

    return mutated


# --- data layer ---------------------------------------------------------------------------------


def _copy(message):
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def _garbage_commits_an_empty_version(commit):
    async def mutated(self, session, spool):
        try:
            return await commit(self, session, spool)
        except errors.InvalidArgument as error:
            if error.reason != "INVALID_ARROW_DATA":
                raise
            empty = dataset_catalog.Commit(
                mode=data_resources.WRITE_MODE_OVERWRITE,
                lineage=data_resources.Lineage(origin=data_resources.VERSION_ORIGIN_WRITE),
            )
            await self.commit_table(session.dataset, pa.table({}), empty)
            raise

    return mutated


def _cancelled_write_commits(_original):
    """The commit is shielded from cancellation: a stream the client cancels, or whose
    deadline expires, commits what it delivered (a cancelled read looks like a half-close)."""

    async def mutated(self, requests, context):
        first = await anext(requests, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise errors.invalid_field("header", "the first message must carry a header")
        session = self.catalog.begin_write(first.header)
        if session.replay is not None:
            return data_pb.WriteVersionResponse(version=session.replay)
        spool = self.catalog.spool(first.header)
        async for message in requests:
            if message.WhichOneof("payload") != "arrow_data":
                spool.close()
                raise errors.invalid_field("header", "only the first message is a header")
            spool.write(message.arrow_data)

        async def commit() -> data_pb.WriteVersionResponse:
            try:
                return data_pb.WriteVersionResponse(
                    version=await self.catalog.commit(session, spool)
                )
            finally:
                spool.close()

        return await asyncio.shield(asyncio.ensure_future(commit()))

    return mutated


def _digest_of_the_batches_as_sent() -> None:
    """content_digest becomes the SHA-256 of the table as an IPC stream with the record
    batches the client sent: it changes with how the rows were split into batches."""
    parse, digest = dataset_catalog._parse_written, dataset_catalog.content_digest

    def parse_written(spool):
        table = parse(spool)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        sent = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
        metadata = {**(table.schema.metadata or {}), b"mutant-digest": sent.encode()}
        return table.replace_schema_metadata(metadata)

    def content_digest(table):
        sent = (table.schema.metadata or {}).get(b"mutant-digest")
        return sent.decode() if sent else digest(table)

    dataset_catalog._parse_written = parse_written
    dataset_catalog.content_digest = content_digest


def _projection_ignored(plan_read):
    def mutated(self, request):
        plan_read(self, request)  # the same validation, then every column
        everything = _copy(request)
        del everything.columns[:]
        return plan_read(self, everything)

    return mutated


def _parent_rows_dropped(store_rows):
    return lambda self, uid, segments, schema, written: store_rows(self, uid, [], schema, written)


def _header_tags_only_created(record_version):
    def mutated(self, dataset, commit, *rest):
        fresh = tuple(t for t in commit.tags if self.store.tag(dataset.uid, t) is None)
        return record_version(self, dataset, dataclasses.replace(commit, tags=fresh), *rest)

    return mutated


def _tag_name_kept(get_version):
    def mutated(self, reference):
        version = get_version(self, reference)
        if "/tags/" in reference:
            version.name = reference
        return version

    return mutated


def _versions_oldest_first(list_versions):
    def mutated(self, request):
        if not request.order_by:
            request = _copy(request)
            request.order_by = "sequence_number"
        return list_versions(self, request)

    return mutated


def _delete_always_forced(delete_dataset):
    def mutated(self, request):
        forced = _copy(request)
        forced.force = True
        return delete_dataset(self, forced)

    return mutated


def _replays_commit_again(begin_write):
    def mutated(self, header):
        session = begin_write(self, header)
        session.replay = None
        return session

    return mutated


def _update_etag_ignored(update_dataset):
    def mutated(self, request):
        unconditional = _copy(request)
        unconditional.dataset.etag = ""
        return update_dataset(self, unconditional)

    return mutated


def _offset_clamped(plan_read):
    def mutated(self, request):
        row_count = self.get_version(request.name).row_count
        if request.offset > row_count:
            request = _copy(request)
            request.offset = row_count
        return plan_read(self, request)

    return mutated


def _do_get_offset_ignored(rows):
    """DoGet streams as many rows as the ticket selects, but from row 0."""

    def mutated(self, selection):
        table = rows(self, selection)
        if not selection.offset or not table.num_rows:
            return table
        return rows(self, dataclasses.replace(selection, offset=0, limit=table.num_rows))

    return mutated


# --- jobs and processing ------------------------------------------------------------------------


def _failed_import_commits(run_import):
    """An import that fails still commits a version (and moves its tags)."""

    async def mutated(self, handle, dataset_id, locations, schema):
        try:
            await run_import(self, handle, dataset_id, locations, schema)
        except errors.LeptonError:
            job = handle.job
            commit = dataset_catalog.Commit(
                mode=data_resources.WRITE_MODE_OVERWRITE,
                lineage=data_resources.Lineage(
                    origin=data_resources.VERSION_ORIGIN_IMPORT, source=job.name
                ),
                tags=tuple(job.tags),
            )
            dataset = self.catalog.dataset_row(f"datasets/{dataset_id}")
            await self.catalog.commit_table(dataset, pa.table({"partial": [1]}), commit)
            raise

    return mutated


def _export_columns_ignored(run_export):
    """An export writes every column whatever `columns` selects (the job still shows them)."""

    async def mutated(self, handle, dataset_id, version_id, location):
        selected = list(handle.job.columns)
        handle.update(lambda job: job.ClearField("columns"))
        try:
            await run_export(self, handle, dataset_id, version_id, location)
        finally:
            handle.update(lambda job: job.columns.extend(selected))

    return mutated


def _finished_jobs_cancel_quietly(cancel):
    async def mutated(self, name):
        if self.state(name) in jobs.TERMINAL:
            return self.get(name)
        return await cancel(self, name)

    return mutated


def _watch_stays_open(watch):
    async def mutated(self, name):
        async for job in watch(self, name):
            yield job
        await asyncio.Event().wait()

    return mutated


def _fingerprint_of_json(pipeline):
    """SHA-256 of the JSON form: not the deterministic binary encoding of §6.5."""
    return hashlib.sha256(json_format.MessageToJson(pipeline).encode()).hexdigest()


def _negate_of_unknown_is_true(compile_predicate):
    """NOT(null) keeps the row: the filter drops unknown rows only when not negated."""

    def mutated(predicate, schema, path):
        evaluate = compile_predicate(predicate, schema, path)
        if predicate.WhichOneof("kind") != "negate":
            return evaluate
        return lambda table: pc.fill_null(evaluate(table), True)

    return mutated


def _normalize_by_max(compile_normalize):
    """normalize divides by max instead of max - min."""

    def mutated(step, schema, path):
        plan = compile_normalize(step, schema, path)

        def apply(table):
            result, fitted = plan.apply(table)
            for column in fitted:
                spread, top = column.max - column.min, column.max
                if spread and top:
                    index = result.schema.get_field_index(column.column)
                    scaled = pc.multiply(result.column(index), spread / top)
                    result = result.set_column(index, result.schema.field(index), scaled)
            return result, fitted

        return dataclasses.replace(plan, apply=apply)

    return mutated


def _hash_without_salt(hash_values):
    return lambda array, *, salt: hash_values(array, salt=b"")


def _sample_unseeded(compile_sample):
    """sample draws from a fresh seed on every compilation, not from the step's."""

    def mutated(step, schema, path):
        reseeded = type(step)()
        reseeded.CopyFrom(step)
        reseeded.seed = random.getrandbits(64)
        return compile_sample(reseeded, schema, path)

    return mutated


def _step_reports_dropped(run):
    def mutated(pipeline, table, **kwargs):
        result = run(pipeline, table, **kwargs)
        return pipeline_engine.RunResult(result.table, [])

    return mutated


def _set_item(mapping: dict, key: str, make: Callable[[Callable], Callable]) -> Callable[[], None]:
    """A mutation that wraps `mapping[key]` with `make(original)`."""
    return lambda: mapping.__setitem__(key, make(mapping[key]))


NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

# The inference cases that check an ErrorInfo reason: every row of the error table and these.
ERROR_TABLE = frozenset(
    f"inference-core.errors.{row['id']}" for row in vectors.load("inference.yaml")["errors"]
)
# The data cases that check an ErrorInfo reason: every row of the error tables and these.
DATA_TABLES = vectors.load("data.yaml")
DATA_ERROR_TABLES = (
    frozenset(
        f"data-core.{prefix}.{row['id']}"
        for table, prefix in (
            ("names", "names"),
            ("not_found", "not-found"),
            ("filters", "filters"),
            ("orders", "orders"),
            ("labels", "labels"),
            ("write_headers", "write-header"),
            ("read_errors", "read-error"),
        )
        for row in DATA_TABLES[table]
    )
    | {f"data-core.write-invalid-arrow.{kind}" for kind in arrow_samples.INVALID_STREAMS}
    | {f"data-core.write-unsupported-type.{kind}" for kind in arrow_samples.UNSUPPORTED_COLUMNS}
    # IssueFlightTicket repeats the ReadVersion rows it can send (profiles/data_flight.py).
    | {
        f"data-core.flight.ticket-error.{row['id']}"
        for row in DATA_TABLES["read_errors"]
        if set(row["request"]) <= {"columns", "offset", "limit"}
    }
    | {
        f"data-core.flight.ticket-error.{row['id'].removeprefix('read-version-')}"
        for table in ("names", "not_found")
        for row in DATA_TABLES[table]
        if row["rpc"] == "ReadVersion"
    }
)
# The job and processing cases that check an ErrorInfo reason: every row of their error
# tables and these.
JOB_TABLES = vectors.load("data_jobs.yaml")
PROCESSING_TABLES = vectors.load("processing.yaml")
JOB_ERROR_TABLES = (
    frozenset(
        f"data-core.{prefix}.{row['id']}"
        for table, prefix in (
            ("import_job_errors", "import.errors"),
            ("export_job_errors", "export.errors"),
            ("job_list_errors", "jobs.list-errors"),
        )
        for row in JOB_TABLES[table]
    )
    | {
        f"data-processing.validate.errors.{row['id']}"
        for row in PROCESSING_TABLES["validation_errors"]
    }
    | {
        "data-core.import.file-outside-the-roots-is-denied",
        "data-core.import.unlisted-storage-scheme-is-unimplemented",
        "data-core.jobs.cancel-of-a-finished-job-fails",
        "data-core.jobs.create-request-id-and-existing-id",
        "data-core.jobs.delete-dataset-while-a-job-runs",
        "data-core.jobs.deleted-with-their-dataset",
        "data-core.jobs.unknown-job-not-found",
        "data-processing.runs.create-validates-like-validate",
        "data-processing.runs.unknown-input-or-output-not-found",
        "data-processing.runs.watch-get-and-cancel",
        "data-processing.validate.at-most-1000-steps",
        "data-processing.validate.cast-type-strings-rejected",
        "data-processing.validate.schemas-per-step-and-fingerprint",
    }
)
# Golden vectors whose pipelines keep the input's schema metadata, where the mutant that digests
# the batches as sent hides its digest: every one but those that build a new schema.
GOLDEN_KEEPING_THE_INPUT_SCHEMA = frozenset(
    f"data-processing.golden.{row['id']}"
    for row in PROCESSING_TABLES["golden"]
    if row["id"] not in ("chain-of-steps", "rename-columns-at-once")
)
# Every case that checks an ErrorInfo reason. Not data-core.discovery.features-are-exactly-the-
# implemented-ones: the mutants list every feature it probes (data.flight too), so it checks none.
REASON_CHECKS = (
    ERROR_TABLE
    | DATA_ERROR_TABLES
    | JOB_ERROR_TABLES
    | {
        "general.auth.missing-token-is-unauthenticated",
        "general.auth.invalid-token-is-unauthenticated",
        "general.errors.malformed-request-is-invalid-argument",
        "general.pagination.negative-page-size-is-invalid",
        "general.pagination.foreign-token-is-invalid",
        "inference-core.infer.unknown-parameters-ignored",
        "inference-core.model.metadata",
        "inference-core.model.ready",
        "inference-extended.repository.unknown-model",
        "inference-extended.repository.unload-then-load",
        "inference-extended.statistics.every-loaded-version",
        "data-core.datasets.create-existing-id-already-exists",
        "data-core.datasets.create-rejects-long-texts",
        "data-core.datasets.create-request-id-replay",
        "data-core.datasets.delete-needs-force-when-not-empty",
        "data-core.datasets.delete-removes-everything",
        "data-core.datasets.etag-makes-changes-conditional",
        "data-core.datasets.update-mask-rejects-other-fields",
        "data-core.pagination.foreign-token-is-invalid",
        "data-core.pagination.negative-page-size-is-invalid",
        "data-core.pagination.token-bound-to-its-request",
        "data-core.tags.delete-removes-only-the-tag",
        "data-core.tags.etag-makes-changes-conditional",
        "data-core.tags.set-rejects-another-datasets-version",
        "data-core.write.append-schema-mismatch",
        "data-core.write.arrow-data-digest",
        "data-core.write.cancelled-stream-commits-nothing",
        "data-core.write.expected-parent-version",
        "data-core.write.failed-streams-leave-no-trace",
        "data-core.write.header-comes-first-and-once",
        "data-core.write.request-id-replay",
    }
)
MUTANTS: dict[str, Mutant] = {
    "auth-lets-anyone-in": Mutant(
        "GEN-010: calls without a valid token are served",
        _set_attribute(auth.BearerTokenInterceptor, "_rejection", lambda self, metadata: None),
        frozenset(
            {
                "general.auth.missing-token-is-unauthenticated",
                "general.auth.invalid-token-is-unauthenticated",
            }
        ),
    ),
    "page-token-never-ends": Mutant(
        "GEN-041: next_page_token is never empty",
        _replace(pagination, "paginate", _tokens_never_end),
        frozenset(
            {
                "data-core.datasets.list-default-order-and-pages",
                "data-core.datasets.list-filters",
                "data-core.datasets.list-order-by",
                "data-core.jobs.list-order-pages-and-filters",
                "data-core.tags.list-in-id-order",
                "data-core.versions.list-order-and-pages",
                "data-processing.runs.list-order-and-filters",
                "general.pagination.walk-returns-each-item-once-and-ends",
            }
        ),
    ),
    "foreign-page-token-accepted": Mutant(
        "GEN-042: a page token the server never issued starts the list over",
        _replace(pagination.PageTokens, "read", _foreign_tokens_accepted),
        frozenset(
            {
                "data-core.jobs.list-errors.foreign-page-token",
                "data-core.pagination.foreign-token-is-invalid",
                "data-core.pagination.token-bound-to-its-request",
                "general.pagination.foreign-token-is-invalid",
            }
        ),
    ),
    "negative-page-size-accepted": Mutant(
        "GEN-040: a negative page_size is treated as the default",
        _replace(pagination, "page_size", _negative_page_size_accepted),
        frozenset(
            {
                "general.pagination.negative-page-size-is-invalid",
                "data-core.jobs.list-errors.negative-page-size",
                "data-core.pagination.negative-page-size-is-invalid",
            }
        ),
    ),
    "health-overall-not-serving": Mutant(
        "GEN-020: the whole server reports NOT_SERVING while it serves",
        _after_start(lambda r: r.health.set("", NOT_SERVING)),
        frozenset({"general.health.check-overall", "general.health.watch-sends-current-status"}),
    ),
    "health-forgets-a-service": Mutant(
        "GEN-020: a hosted service has no SERVING health entry",
        _after_start(lambda r: r.health.set(DISCOVERY_SERVICE, SERVICE_UNKNOWN)),
        frozenset({"general.health.check-each-service"}),
    ),
    "health-lies-about-unknown-services": Mutant(
        "GEN-021: Check says SERVING for a service the server does not host",
        _health_class(_LyingHealth),
        frozenset({"general.health.check-unknown-service"}),
    ),
    "health-watch-sends-nothing": Mutant(
        "GEN-022: Watch never sends the current status",
        _health_class(_SilentWatchHealth),
        frozenset(
            {
                "general.health.watch-sends-current-status",
                "general.health.watch-unknown-service-stays-open",
            }
        ),
    ),
    "health-watch-closes-on-unknown-service": Mutant(
        "GEN-022: Watch of an unknown service ends at once with NOT_FOUND",
        _health_class(_ClosingWatchHealth),
        frozenset({"general.health.watch-unknown-service-stays-open"}),
    ),
    "reflection-v1-missing": Mutant(
        "GEN-030: only grpc.reflection.v1alpha is served",
        _reflection_without(set(), v1=False),
        frozenset(
            {
                "general.auth.discovery-needs-no-token",
                "general.reflection.lists-hosted-services",
                "general.reflection.describes-hosted-services",
                "general.reflection.v1alpha-lists-the-same-services",
            }
        ),
    ),
    "reflection-hides-a-service": Mutant(
        "GEN-030: reflection does not list a hosted service",
        _reflection_without({DISCOVERY_SERVICE}),
        frozenset(
            {
                "general.reflection.lists-hosted-services",
                "general.reflection.describes-hosted-services",
                "general.discovery.describes-the-server",
            }
        ),
    ),
    "discovery-describes-nothing": Mutant(
        "GEN-032: GetServerInfo lists no services",
        _discovery_describes_nothing,
        frozenset(
            {
                "data-core.discovery.features-are-exactly-the-implemented-ones",
                "data-core.discovery.processing-service-lists-data-processing",
                "general.discovery.describes-the-server",
            }
        ),
    ),
    "unknown-methods-answer-ok": Mutant(
        "GEN-034: a method the server does not know answers OK",
        _catch_all_unknown_methods,
        frozenset({"general.errors.unknown-method-is-unimplemented"}),
    ),
    "malformed-request-is-unknown": Mutant(
        "GEN-008: undecodable request bytes get gRPC's default UNKNOWN",
        _set_attribute(error_mapping, "_tolerant", lambda deserializer: deserializer),
        frozenset({"general.errors.malformed-request-is-invalid-argument"}),
    ),
    "errors-without-error-info": Mutant(
        "GEN-001: error statuses carry no ErrorInfo",
        _set_attribute(errors.LeptonError, "to_status_proto", _status_without_details),
        REASON_CHECKS,
    ),
    "error-info-in-another-domain": Mutant(
        "GEN-001: ErrorInfo.domain is not lepton.ai",
        _set_attribute(errors, "ERROR_DOMAIN", "example.com"),
        REASON_CHECKS,
    ),
    "unknown-fields-rejected": Mutant(
        "GEN-091: a request with a field the server does not know is rejected",
        _set_attribute(error_mapping, "_tolerant", _strict_deserializer),
        frozenset(
            {
                "general.compatibility.unknown-fields-are-ignored",
                "general.limits.accepts-64-mib-messages",
            }
        ),
    ),
}


MUTANTS |= {
    "bytes-framed-big-endian": Mutant(
        "INF-021: BYTES lengths framed big-endian",
        _set_attribute(tensor_codec, "LENGTH", struct.Struct(">I")),
        frozenset(
            {
                "inference-core.golden.identity-bytes.raw",
                "inference-core.golden.identity-bytes.typed",
                "inference-core.infer.bad-requests-change-nothing",
            }
        ),
    ),
    "raw-and-typed-accepted-mixed": Mutant(
        "INF-023: typed contents beside raw contents are silently dropped",
        _replace(engine, "_decode_inputs", _mixed_contents_allowed),
        frozenset(
            {
                "inference-core.errors.order-contents-form-before-size",
                "inference-core.errors.raw-and-typed-mixed",
            }
        ),
    ),
    "unknown-version-is-unavailable": Mutant(
        "INF-010: an unknown version is UNAVAILABLE instead of NOT_FOUND",
        _replace(model_repository.ModelRepository, "get", _unknown_version_unavailable),
        frozenset(
            {
                "inference-core.errors.unknown-version",
                "inference-core.model.ready",
            }
        ),
    ),
    "stream-aborts-on-a-bad-request": Mutant(
        "INF-051: a bad request ends the stream instead of an in-band error",
        _replace(servicer.InferenceServicer, "_stream_one", _stream_aborts_on_error),
        frozenset(
            {
                "inference-extended.streaming.error-in-band-and-stream-continues",
                "inference-extended.streaming.error-message-names-code-and-reason",
            }
        ),
    ),
    "requested-outputs-ignored": Mutant(
        "INF-033: every output is returned whatever the request names",
        _replace(engine.InferenceEngine, "_requested_outputs", _all_outputs),
        frozenset(
            {
                "inference-core.errors.duplicate-output",
                "inference-core.errors.order-outputs-before-batch-size",
                "inference-core.errors.unknown-output",
                "inference-core.infer.requested-outputs-subset-and-order",
            }
        ),
    ),
    "statistics-miss-failures": Mutant(
        "INF-061: failed requests are not counted",
        _replace(statistics.ModelStatistics, "request_done", _failures_not_counted),
        frozenset(
            {
                "inference-extended.statistics.count-successes-and-failures",
            }
        ),
    ),
    "unload-is-ignored": Mutant(
        "INF-072: RepositoryModelUnload leaves the model serving",
        _replace(model_repository.ModelRepository, "unload", _unload_ignored),
        frozenset(
            {
                "inference-extended.repository.unload-then-load",
            }
        ),
    ),
    "bool-bytes-unchecked": Mutant(
        "INF-022: BOOL bytes other than 0 and 1 are accepted",
        _replace(tensor_codec, "decode_raw", _bool_unchecked),
        frozenset(
            {
                "inference-core.errors.bool-byte-not-zero-or-one",
            }
        ),
    ),
    "batches-split-back-in-the-wrong-order": Mutant(
        "INF-040: merged requests get each other's rows",
        _replace(batcher.DynamicBatcher, "_execute", _batches_cross_wired),
        frozenset(
            {
                "inference-extended.batching.concurrent-results-identical",
            }
        ),
    ),
    "metadata-hides-variable-dimensions": Mutant(
        "INF-012: ModelMetadata reports 1 for variable dimensions",
        _replace(engine.InferenceEngine, "model_metadata", _metadata_fixed_dimensions),
        frozenset(
            {
                "inference-core.model.metadata",
            }
        ),
    ),
}


Catalog = dataset_catalog.DatasetCatalog
MUTANTS |= {
    "garbage-write-commits-a-version": Mutant(
        "DAT-026: a stream whose Arrow data is invalid still commits an empty version",
        _replace(Catalog, "commit", _garbage_commits_an_empty_version),
        frozenset(
            {f"data-core.write-invalid-arrow.{kind}" for kind in arrow_samples.INVALID_STREAMS}
            | {"data-core.write.failed-streams-leave-no-trace"}
        ),
    ),
    "cancelled-write-commits": Mutant(
        "DAT-026: a cancelled or expired stream commits what it received",
        _replace(data_servicer.DatasetServicer, "WriteVersion", _cancelled_write_commits),
        frozenset(
            {
                "data-core.write.cancelled-stream-commits-nothing",
                "data-core.write.expired-stream-commits-nothing",
            }
        ),
    ),
    "digest-of-the-batches-as-sent": Mutant(
        "DAT-041, DAT-042: content_digest hashes the record batches as sent, not the table",
        _digest_of_the_batches_as_sent,
        frozenset(
            {
                "data-core.import.compressed-files-by-extension",
                "data-core.versions.content-digest-recomputes",
                "data-core.versions.digest-ignores-how-rows-were-written",
                "data-core.write.accepts-4-mib-messages",
                "data-core.write.dictionary-columns-stored-decoded",
                "data-core.write.zero-rows",
                "data-processing.random.seeds-give-different-outputs",
            }
        )
        | GOLDEN_KEEPING_THE_INPUT_SCHEMA,
    ),
    "read-ignores-the-projection": Mutant(
        "DAT-054: ReadVersion returns every column whatever `columns` asks for",
        _replace(Catalog, "plan_read", _projection_ignored),
        frozenset(
            {
                # Flight still projects, so DoGet no longer streams ReadVersion's columns.
                "data-core.flight.do-get-returns-the-read-version-rows",
                "data-core.read.projection-in-requested-order",
            }
        ),
    ),
    "append-drops-the-parent-rows": Mutant(
        "DAT-028: APPEND commits only the written rows",
        _replace(Catalog, "_store_rows", _parent_rows_dropped),
        frozenset(
            {
                "data-core.import.commits-one-version-with-lineage",
                "data-core.versions.digest-ignores-how-rows-were-written",
                "data-core.write.append-adds-rows-after-the-parent",
                "data-core.write.concurrent-appends-serialize",
                "data-core.write.zero-rows",
            }
        ),
    ),
    "expected-parent-version-ignored": Mutant(
        "DAT-030: expected_parent_version never aborts a commit",
        _set_attribute(dataset_catalog, "_check_expected_parent", lambda *args: None),
        frozenset(
            {
                "data-core.import.expected-parent-version",
                "data-core.write.expected-parent-version",
            }
        ),
    ),
    "header-tags-not-moved": Mutant(
        "DAT-034: header tags that exist stay where they were",
        _replace(Catalog, "_record_version", _header_tags_only_created),
        frozenset(
            {
                "data-core.import.commits-one-version-with-lineage",
                "data-core.versions.get-by-version-or-tag",
                "data-core.write.header-tags-move-with-the-commit",
                "data-processing.runs.output-version-and-lineage",
            }
        ),
    ),
    "get-version-reports-the-tag-name": Mutant(
        "DAT-043: GetVersion of a tag names the tag instead of the canonical version",
        _replace(Catalog, "get_version", _tag_name_kept),
        frozenset(
            {
                "data-core.datasets.delete-needs-force-when-not-empty",
                "data-core.export.version-resolved-at-creation",
                "data-core.versions.get-by-version-or-tag",
                "data-core.write.failed-streams-leave-no-trace",
                "data-core.write.header-tags-move-with-the-commit",
                "data-processing.runs.reuse-an-earlier-output",
            }
        ),
    ),
    "versions-listed-oldest-first": Mutant(
        "DAT-044: ListVersions defaults to ascending sequence numbers",
        _replace(Catalog, "list_versions", _versions_oldest_first),
        frozenset(
            {
                "data-core.pagination.token-bound-to-its-request",
                "data-core.versions.list-filters",
                "data-core.versions.list-order-and-pages",
                "data-core.versions.time-travel-by-create-time",
            }
        ),
    ),
    "delete-without-force-deletes-versions": Mutant(
        "DAT-018: DeleteDataset without force deletes a dataset that holds versions",
        _replace(Catalog, "delete_dataset", _delete_always_forced),
        frozenset(
            {
                "data-core.datasets.delete-needs-force-when-not-empty",
            }
        ),
    ),
    "write-replay-commits-again": Mutant(
        "DAT-035: a WriteVersion retried with its request_id commits a second version",
        _replace(Catalog, "begin_write", _replays_commit_again),
        frozenset(
            {
                "data-core.write.request-id-replay",
            }
        ),
    ),
    "update-dataset-ignores-the-etag": Mutant(
        "DAT-016: UpdateDataset with a stale etag updates anyway",
        _replace(Catalog, "update_dataset", _update_etag_ignored),
        frozenset(
            {
                "data-core.datasets.etag-makes-changes-conditional",
            }
        ),
    ),
    "read-offset-past-the-end-is-clamped": Mutant(
        "DAT-056: an offset past row_count reads an empty selection instead of OUT_OF_RANGE",
        _replace(Catalog, "plan_read", _offset_clamped),
        frozenset(
            {
                "data-core.flight.ticket-error.offset-past-the-end",
                "data-core.read-error.offset-past-the-end",
            }
        ),
    ),
    "flight-doget-ignores-the-offset": Mutant(
        "DAT-062: Flight DoGet of a ticket streams its rows from row 0, not from its offset",
        _replace(flight.DatasetFlightServer, "_rows", _do_get_offset_ignored),
        frozenset(
            {
                "data-core.flight.do-get-returns-the-read-version-rows",
            }
        ),
    ),
}


Jobs = jobs.JobRunner
Steps = pipeline_engine._STEP_COMPILERS
MUTANTS |= {
    "failed-import-commits-a-version": Mutant(
        "DAT-069: an import job that fails still commits a version",
        _replace(dataset_jobs.DatasetJobs, "_run_import", _failed_import_commits),
        frozenset(
            {
                "data-core.import.arrow-schema-sets-names-order-and-types",
                "data-core.import.expected-parent-version",
                "data-core.import.missing-source-fails-and-commits-nothing",
            }
        ),
    ),
    "export-ignores-the-column-selection": Mutant(
        "DAT-079: an export writes every column whatever `columns` selects",
        _replace(dataset_jobs.DatasetJobs, "_run_export", _export_columns_ignored),
        frozenset(
            {
                "data-core.export.selected-columns-in-order",
            }
        ),
    ),
    "cancel-of-a-finished-job-succeeds": Mutant(
        "GEN-062: Cancel of a SUCCEEDED or FAILED job answers OK",
        _replace(Jobs, "cancel", _finished_jobs_cancel_quietly),
        frozenset(
            {
                "data-core.jobs.cancel-of-a-finished-job-fails",
                "data-processing.runs.watch-get-and-cancel",
            }
        ),
    ),
    "watch-stays-open-after-the-terminal-state": Mutant(
        "GEN-061: Watch does not end after it sent a terminal state",
        _replace(Jobs, "watch", _watch_stays_open),
        frozenset(
            {
                "data-core.jobs.watch-follows-to-the-terminal-state",
                "data-processing.runs.watch-get-and-cancel",
            }
        ),
    ),
    "delete-dataset-ignores-running-jobs": Mutant(
        "DAT-019: DeleteDataset deletes a dataset while an export of it runs",
        _set_attribute(dataset_jobs.DatasetJobs, "_in_use", lambda self, dataset: False),
        frozenset(
            {
                "data-core.jobs.delete-dataset-while-a-job-runs",
            }
        ),
    ),
    "pipeline-fingerprint-of-the-json-form": Mutant(
        "DAT-093: the fingerprint hashes the JSON form, not the deterministic encoding",
        _set_attribute(pipeline_engine, "fingerprint", _fingerprint_of_json),
        frozenset(
            {
                "data-processing.runs.output-version-and-lineage",
                "data-processing.validate.schemas-per-step-and-fingerprint",
            }
        ),
    ),
    "runs-never-reuse": Mutant(
        "DAT-102: an identical run computes again instead of reusing the earlier output",
        _set_attribute(processing.Processing, "_reusable", lambda self, run: None),
        frozenset(
            {
                "data-processing.runs.reuse-an-earlier-output",
            }
        ),
    ),
    "negated-unknown-keeps-the-row": Mutant(
        "DAT-112: negate maps null to true, so filters keep rows they must drop",
        _replace(pipeline_engine, "_compile_predicate", _negate_of_unknown_is_true),
        frozenset(
            {
                "data-processing.golden.filter-negate-keeps-null-unknown",
                "data-processing.golden.filter-negated-any-of-stays-unknown-on-nulls",
            }
        ),
    ),
    "normalize-divides-by-max": Mutant(
        "DAT-118: normalize divides by max instead of max - min",
        _set_item(Steps, "normalize", _normalize_by_max),
        frozenset(
            {
                "data-processing.golden.normalize-min-max",
                "data-processing.runs.step-reports",
            }
        ),
    ),
    "hash-without-the-salt": Mutant(
        "DAT-119: anonymize hash ignores the salt",
        _replace(pipeline_engine, "_hash_values", _hash_without_salt),
        frozenset(
            {
                "data-processing.golden.anonymize-hash-with-the-salt",
            }
        ),
    ),
    "sample-not-seeded": Mutant(
        "DAT-126: sample draws a fresh seed per run, so runs differ",
        _set_item(Steps, "sample", _sample_unseeded),
        frozenset(
            {
                "data-processing.random.sample-size-and-order",
                "data-processing.runs.recompute-is-deterministic",
            }
        ),
    ),
    "step-reports-missing": Mutant(
        "DAT-104: succeeded runs report no step",
        _replace(pipeline_engine, "run", _step_reports_dropped),
        frozenset(
            {
                "data-processing.golden.fill-nulls-mean-skips-nan-and-rounds-half-to-even",
                "data-processing.golden.fill-nulls-median-of-an-even-count",
                "data-processing.golden.fill-nulls-mode-ties-to-the-smallest",
                "data-processing.golden.normalize-min-max",
                "data-processing.golden.standardize-population-z-scores",
                "data-processing.runs.step-reports",
            }
        ),
    ),
}


def main(argv: list[str]) -> int:
    MUTANTS[argv[0]].apply()
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main(sys.argv[1:]))

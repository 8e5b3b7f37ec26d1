"""Bad input never breaks the data layer (spec/general.md §3, spec/data.md §6).

Hypothesis writes arbitrary messages from the proto descriptors themselves, so every field of
every step, predicate and expression is exercised, including unknown enum values, unset oneofs,
NaN and out-of-range literals. The engine must answer each one with a domain error (never a
Python exception), a pipeline that validates must run to the schema it promised, and the real
server must answer with a status a client can act on: never UNKNOWN or INTERNAL, and a run that
fails records INVALID_ARGUMENT or FAILED_PRECONDITION.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import grpc
import pyarrow as pa
import pytest
from google.protobuf import descriptor as pd
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lepton.data.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    pipeline_run_pb2,
    processing_service_pb2,
    processing_service_pb2_grpc,
)
from lepton.data.v1 import pipeline_pb2 as pb
from lepton.type.v1 import job_pb2
from lepton_server.data.pipelines import run, validate
from lepton_server.runtime.errors import FailedPrecondition, InvalidArgument

TABLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "small": pa.array([-128, 127, None, 0, 5], pa.int8()),
        "name": pa.array(["ann", "Bob", None, "", "dora"]),
        "score": pa.array([0.5, float("nan"), None, -2.0, 1e308]),
        "active": pa.array([True, False, None, True, False]),
        "day": pa.array([datetime.date(2020, 1, 1), None] * 2 + [datetime.date(1970, 1, 1)]),
        "at": pa.array(
            [datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC), None, None, None, None],
            pa.timestamp("us", tz="UTC"),
        ),
        "blob": pa.array([b"\x00", b"", None, b"abc", b"abc"], pa.binary()),
        "price": pa.array([None, 1, 2, 3, 4], pa.decimal128(10, 2)),
    }
)

# Mostly what a client would send (the table's columns, type names), sometimes near misses, so
# that most generated pipelines get past validation and the steps themselves run.
COLUMNS = st.sampled_from(TABLE.column_names)
TYPES = st.sampled_from(
    [
        "int64",
        "int8",
        "uint8",
        "float64",
        "float32",
        "string",
        "large_string",
        "bool",
        "date32[day]",
        "timestamp[us, tz=UTC]",
        "timestamp[ns]",
        "decimal128(10, 2)",
        "binary",
        "list<int64>",
        "nope",
    ]
)
STRINGS = st.one_of(*[COLUMNS] * 6, TYPES, st.text(max_size=6))
INTEGERS = st.one_of(
    st.integers(-3, 10), st.sampled_from([-(2**31), 2**31 - 1, 2**40, -(2**63), 2**63 - 1])
)


def _scalar(field: pd.FieldDescriptor) -> st.SearchStrategy:
    kind = field.type
    if kind == pd.FieldDescriptor.TYPE_STRING:
        return st.one_of(TYPES, TYPES, STRINGS) if field.name == "type" else STRINGS
    if kind == pd.FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=6)
    if kind == pd.FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == pd.FieldDescriptor.TYPE_ENUM:
        known = st.sampled_from([v.number for v in field.enum_type.values if v.number])
        return st.one_of(known, known, known, st.integers(0, len(field.enum_type.values) + 1))
    if kind in (pd.FieldDescriptor.TYPE_DOUBLE, pd.FieldDescriptor.TYPE_FLOAT):
        width = 64 if kind == pd.FieldDescriptor.TYPE_DOUBLE else 32
        usual = st.sampled_from([0.0, 0.25, 0.5, 1.0, -1.0, 2.0])
        return st.one_of(usual, usual, st.floats(width=width))
    unsigned = kind in (
        pd.FieldDescriptor.TYPE_UINT32,
        pd.FieldDescriptor.TYPE_UINT64,
        pd.FieldDescriptor.TYPE_FIXED32,
        pd.FieldDescriptor.TYPE_FIXED64,
    )
    bits = (
        32
        if kind
        in (
            pd.FieldDescriptor.TYPE_INT32,
            pd.FieldDescriptor.TYPE_SINT32,
            pd.FieldDescriptor.TYPE_SFIXED32,
            pd.FieldDescriptor.TYPE_UINT32,
            pd.FieldDescriptor.TYPE_FIXED32,
        )
        else 64
    )
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return INTEGERS.filter(lambda n: low <= n <= high)


@st.composite
def messages(draw: st.DrawFn, message_type: type[Message], depth: int = 3) -> Message:
    """An arbitrary `message_type`: each oneof gets at most one member, nesting stops at depth."""
    message = message_type()
    fields = message.DESCRIPTOR.fields
    for oneof in message.DESCRIPTOR.oneofs:
        members = list(oneof.fields)
        unset = depth == 0 or draw(st.integers(0, 9)) == 7
        chosen = None if unset else draw(st.sampled_from(members))
        fields = [f for f in fields if f not in members or f is chosen]
    for field in fields:
        if field.containing_oneof is None and draw(st.integers(0, 9)) == 7:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            if value.type != pd.FieldDescriptor.TYPE_MESSAGE:  # labels: string to string
                entries = st.dictionaries(_scalar(key), _scalar(value), max_size=3)
                getattr(message, field.name).update(draw(entries))
        elif field.type == pd.FieldDescriptor.TYPE_MESSAGE:
            if depth == 0:
                continue
            child = messages(field.message_type._concrete_class, depth - 1)
            if field.is_repeated:
                for item in draw(
                    st.lists(child, min_size=draw(st.sampled_from([1, 1, 1, 0])), max_size=3)
                ):
                    getattr(message, field.name).add().CopyFrom(item)
            else:
                getattr(message, field.name).CopyFrom(draw(child))
        elif field.is_repeated:
            values = st.lists(
                _scalar(field), min_size=draw(st.sampled_from([1, 1, 1, 0])), max_size=3
            )
            getattr(message, field.name).extend(draw(values))
        else:
            setattr(message, field.name, draw(_scalar(field)))
    return message


def steps() -> st.SearchStrategy[pb.Step]:
    """One step of any kind (an unset kind included), with arbitrary contents."""
    return messages(pb.Step, depth=4)


def pipelines() -> st.SearchStrategy[pb.Pipeline]:
    return st.lists(steps(), min_size=1, max_size=3).map(lambda s: pb.Pipeline(steps=s))


# --- The engine, in process -----------------------------------------------------------------


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_any_pipeline_is_rejected_cleanly_or_runs_to_its_validated_schema(
    pipeline: pb.Pipeline,
) -> None:
    try:
        expected = validate(pipeline, TABLE.schema)
    except InvalidArgument as error:
        assert error.violations, "an invalid pipeline names the offending field"
        assert all(v.field.startswith("pipeline") for v in error.violations)
        return
    try:
        result = run(pipeline, TABLE)
    except FailedPrecondition as error:
        # Data a step cannot process (DAT-105); validation could not have known.
        assert error.reason in {"CAST_FAILED", "ARITHMETIC_OVERFLOW"}
        assert "step_index" in error.metadata
        return
    assert result.table.schema.equals(expected)
    assert len(result.step_reports) == len(pipeline.steps)


# --- The real server ------------------------------------------------------------------------

ACTIONABLE = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.OUT_OF_RANGE,
}


@pytest.fixture(scope="module")
def channel(tmp_path_factory) -> Iterator[grpc.Channel]:
    from support.servers import start_server  # noqa: PLC0415 - the shared launcher, one server here

    server = start_server(
        ["--flight-address", "127.0.0.1:0"], tmp_path_factory.mktemp("robustness")
    )
    with grpc.insecure_channel(server.address) as opened:
        yield opened
    server.stop()
    assert server.process.returncode == 0, "".join(server.stderr)


def ipc_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def write_requests(
    dataset: str, chunks: list[bytes]
) -> list[dataset_service_pb2.WriteVersionRequest]:
    header = dataset_service_pb2.WriteVersionHeader(
        parent=dataset, mode=dataset_pb2.WRITE_MODE_OVERWRITE
    )
    return [
        dataset_service_pb2.WriteVersionRequest(header=header),
        *(dataset_service_pb2.WriteVersionRequest(arrow_data=chunk) for chunk in chunks),
    ]


@pytest.fixture(scope="module")
def version(channel: grpc.Channel) -> str:
    """A version holding TABLE."""
    datasets = dataset_service_pb2_grpc.DatasetServiceStub(channel)
    dataset = datasets.CreateDataset(
        dataset_service_pb2.CreateDatasetRequest(dataset_id="robust")
    ).dataset
    return datasets.WriteVersion(
        iter(write_requests(dataset.name, [ipc_stream(TABLE)]))
    ).version.name


def expect_actionable(call) -> None:
    """`call()` either succeeds or fails with a status that tells the client what to fix."""
    try:
        call()
    except grpc.RpcError as error:
        assert error.code() in ACTIONABLE, (error.code(), error.details())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline=pipelines())
def test_server_answers_any_pipeline_with_an_actionable_status(
    channel: grpc.Channel, version: str, pipeline: pb.Pipeline
) -> None:
    processing = processing_service_pb2_grpc.ProcessingServiceStub(channel)
    expect_actionable(
        lambda: processing.ValidatePipeline(
            processing_service_pb2.ValidatePipelineRequest(input_version=version, pipeline=pipeline)
        )
    )
    try:
        created = processing.CreatePipelineRun(
            processing_service_pb2.CreatePipelineRunRequest(
                pipeline_run=pipeline_run_pb2.PipelineRun(
                    input_version=version, pipeline=pipeline, output_dataset="datasets/robust"
                )
            )
        ).pipeline_run
    except grpc.RpcError as error:
        assert error.code() in ACTIONABLE, (error.code(), error.details())
        return
    for update in processing.WatchPipelineRun(
        processing_service_pb2.WatchPipelineRunRequest(name=created.name), timeout=60
    ):
        status = update.pipeline_run.status
        if status.state in FINISHED:
            break
    assert status.state in FINISHED
    if status.state != job_pb2.JOB_STATE_SUCCEEDED:
        assert status.error.code in {3, 9}, status.error  # INVALID_ARGUMENT, FAILED_PRECONDITION


FINISHED = {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_server_answers_arbitrary_requests_with_an_actionable_status(
    channel: grpc.Channel, version: str, data: st.DataObject
) -> None:
    """Random names, filters, orderings, page sizes and tokens on every read and list RPC."""
    datasets = dataset_service_pb2_grpc.DatasetServiceStub(channel)
    processing = processing_service_pb2_grpc.ProcessingServiceStub(channel)
    dataset = version.split("/versions/", maxsplit=1)[0]
    strings = st.one_of(
        STRINGS,
        st.sampled_from([dataset, version, f"{dataset}/tags/x", "datasets/-", "a=b", "name desc"]),
        st.text(max_size=40),
    )
    method, request_type = data.draw(
        st.sampled_from(
            [
                (datasets.ListDatasets, dataset_service_pb2.ListDatasetsRequest),
                (datasets.ListVersions, dataset_service_pb2.ListVersionsRequest),
                (datasets.ListTags, dataset_service_pb2.ListTagsRequest),
                (datasets.ListImportJobs, dataset_service_pb2.ListImportJobsRequest),
                (datasets.ListExportJobs, dataset_service_pb2.ListExportJobsRequest),
                (processing.ListPipelineRuns, processing_service_pb2.ListPipelineRunsRequest),
                (datasets.GetDataset, dataset_service_pb2.GetDatasetRequest),
                (datasets.GetVersion, dataset_service_pb2.GetVersionRequest),
                (datasets.IssueFlightTicket, dataset_service_pb2.IssueFlightTicketRequest),
                (datasets.CreateDataset, dataset_service_pb2.CreateDatasetRequest),
            ]
        )
    )
    request = request_type()
    for field in request.DESCRIPTOR.fields:
        if field.type == pd.FieldDescriptor.TYPE_STRING and not field.is_repeated:
            setattr(request, field.name, data.draw(strings))
        elif field.type in (pd.FieldDescriptor.TYPE_INT32, pd.FieldDescriptor.TYPE_INT64):
            setattr(request, field.name, data.draw(INTEGERS.filter(lambda n: abs(n) < 2**31)))
        elif field.type == pd.FieldDescriptor.TYPE_MESSAGE and not field.is_repeated:
            message_class = field.message_type._concrete_class
            getattr(request, field.name).CopyFrom(data.draw(messages(message_class, depth=2)))
    expect_actionable(lambda: method(request, timeout=30))
    stream = datasets.ReadVersion(
        dataset_service_pb2.ReadVersionRequest(
            name=data.draw(strings),
            columns=data.draw(st.lists(strings, max_size=2)),
            offset=data.draw(INTEGERS),
            limit=data.draw(INTEGERS),
        ),
        timeout=30,
    )
    expect_actionable(lambda: list(stream))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(max_size=300), min_size=1, max_size=3), cut=st.integers(0, 4000))
def test_a_corrupt_upload_is_refused_and_adds_no_version(
    channel: grpc.Channel, version: str, chunks: list[bytes], cut: int
) -> None:
    """Garbage, or a valid stream cut short and followed by garbage, never becomes a version."""
    datasets = dataset_service_pb2_grpc.DatasetServiceStub(channel)
    dataset = version.split("/versions/", maxsplit=1)[0]
    valid = ipc_stream(TABLE)
    payload = [valid[: min(cut, len(valid) - 1)], *chunks]
    before = datasets.ListVersions(dataset_service_pb2.ListVersionsRequest(parent=dataset))
    requests = write_requests(dataset, payload)
    try:
        datasets.WriteVersion(iter(requests), timeout=30)
    except grpc.RpcError as error:
        assert error.code() in ACTIONABLE, (error.code(), error.details())
    else:
        pytest.fail("a corrupt Arrow IPC stream was accepted")
    after = datasets.ListVersions(dataset_service_pb2.ListVersionsRequest(parent=dataset))
    assert [v.name for v in after.versions] == [v.name for v in before.versions]

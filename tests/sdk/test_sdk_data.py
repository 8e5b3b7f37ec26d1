"""The SDK's data API (lepton_ai.DataManager, StorageManager, DataProcessor) against a real
`lepton serve` on loopback: uploads and downloads of local files and in-memory tables,
versions and tags, server-side imports and exports through file:// URIs, typed errors that
carry the ErrorInfo reason, progress bars only on terminals, and the Pipeline messages the
DataProcessor builds."""

from __future__ import annotations

import datetime
import gzip
import io
import json
import pickle
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from support.certificates import CertificateAuthority
from support.servers import start_server

from lepton.data.v1 import pipeline_pb2 as pl
from lepton_ai import (
    AbortedError,
    AlreadyExistsError,
    DataManager,
    DataProcessor,
    Drop,
    FailedPreconditionError,
    Hash,
    InvalidArgumentError,
    JobFailedError,
    LeptonAIError,
    Mask,
    NotFoundError,
    Redact,
    StorageManager,
    UnauthenticatedError,
    col,
    lit,
)
from lepton_ai import progress as sdk_progress
from lepton_ai.data import PROCESSING_SERVICE, arrow_stream

PEOPLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "name": pa.array(["ada", "bob", None, "dan"], pa.string()),
        "score": pa.array([0.5, None, 2.25, -1.0], pa.float64()),
    }
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """One server for the module (datasets get unique ids), with a tmp dir as file root."""
    root = tmp_path_factory.mktemp("sdk")
    files = root / "files"
    files.mkdir()
    server = start_server(["--file-root", str(files)], root / "data")
    yield server.address, files
    server.stop()


@pytest.fixture
def data(shared) -> Iterator[DataManager]:
    with DataManager.connect(shared[0], progress=False) as manager:
        yield manager


@pytest.fixture
def files(shared, tmp_path) -> Path:
    """A fresh directory inside the server's file root."""
    directory = shared[1] / tmp_path.name
    directory.mkdir()
    return directory


def unique(prefix: str = "sdk") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


# ------------------------------------------------------------------------- loading and reading


def test_in_memory_table_round_trips(data):
    version = data.load_data(PEOPLE, "people-" + secrets.token_hex(4))
    assert version.sequence_number == 1
    assert version.row_count == 4
    assert data.read(version).equals(PEOPLE)


def test_record_batch_reader_streams_its_batches(data):
    reader = pa.RecordBatchReader.from_batches(PEOPLE.schema, PEOPLE.to_batches(max_chunksize=1))
    version = data.load_data(reader, dataset := unique())
    assert version.row_count == 4
    assert data.read(dataset).equals(PEOPLE)


def test_dict_of_columns_loads_as_a_table(data):
    dataset = unique()
    data.load_data({"x": [1, 2], "y": ["a", "b"]}, dataset)
    assert data.read(dataset).to_pydict() == {"x": [1, 2], "y": ["a", "b"]}


def test_local_csv_is_read_with_the_import_null_spellings(data, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,name,score\n1,ada,0.5\n2,NA,\n3,carl,2.25\n")
    data.load_data(path, dataset := unique())
    assert data.read(dataset).to_pydict() == {
        "id": [1, 2, 3],
        "name": ["ada", None, "carl"],
        "score": [0.5, None, 2.25],
    }


def test_local_parquet_keeps_its_types(data, tmp_path):
    table = pa.table(
        {
            "when": pa.array([datetime.datetime(2024, 5, 1, 12)], pa.timestamp("ms", tz="UTC")),
            "tags": pa.array([["a", "b"]], pa.list_(pa.string())),
            "small": pa.array([7], pa.int8()),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    data.load_data(str(tmp_path / "t.parquet"), dataset := unique())
    assert data.read(dataset).equals(table)


def test_local_gzipped_json_lines_load(data, tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"k": 1, "v": "x"}\n{"k": 2, "v": null}\n'))
    data.load_data(path, dataset := unique())
    assert data.read(dataset).to_pydict() == {"k": [1, 2], "v": ["x", None]}


def test_unknown_extension_needs_a_format(data, tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text("a\n1\n")
    with pytest.raises(ValueError, match="format="):
        data.load_data(path, unique())
    data.load_data(path, dataset := unique(), format="csv")
    assert data.read(dataset).to_pydict() == {"a": [1]}


def test_append_adds_rows_after_the_head(data):
    dataset = unique()
    first = data.load_data(PEOPLE.slice(0, 2), dataset)
    second = data.load_data(PEOPLE.slice(2), dataset, mode="append")
    assert second.parent_version == first.name
    assert second.sequence_number == 2
    assert data.read(dataset).equals(PEOPLE)


def test_read_projects_columns_and_selects_a_row_range(data):
    data.load_data(PEOPLE, dataset := unique())
    table = data.read(dataset, columns=["score", "id"], offset=1, limit=2)
    assert table.to_pydict() == {"score": [None, 2.25], "id": [2, 3]}


def test_empty_selection_keeps_the_schema(data):
    data.load_data(PEOPLE, dataset := unique())
    table = data.read(dataset, offset=4)
    assert table.num_rows == 0
    assert table.schema.equals(PEOPLE.schema)


def test_large_table_uploads_in_chunks_and_reads_back(data):
    rows = 300_000  # ~7 MiB of Arrow data: several WriteVersion chunks, several read batches
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "text": pa.array([f"row-{i:08d}" for i in range(rows)], pa.string()),
        }
    )
    version = data.load_data(table, dataset := unique())
    assert version.row_count == rows
    assert data.read(dataset).equals(table)


def test_upload_chunks_fit_the_default_grpc_message_limit():
    table = pa.table({"blob": pa.array([b"x" * 100_000] * 100, pa.binary())})  # ~10 MiB
    chunks = list(arrow_stream.ipc_chunks(table.schema, arrow_stream.batches_of(table)))
    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks) <= 3 * 1024 * 1024
    assert pa.ipc.open_stream(b"".join(chunks)).read_all().equals(table)


# ------------------------------------------------------------------------- versions and tags


def test_versions_are_listed_newest_first_and_readable_by_id(data):
    dataset = unique()
    first = data.load_data(PEOPLE.slice(0, 1), dataset)
    second = data.load_data(PEOPLE.slice(1, 1), dataset)
    assert [v.name for v in data.versions(dataset)] == [second.name, first.name]
    old_id = first.name.rsplit("/", 1)[1]
    assert data.read(dataset, version=old_id).equals(PEOPLE.slice(0, 1))
    assert data.read(dataset).equals(PEOPLE.slice(1, 1))  # the head
    assert data.get_dataset(dataset).head_version == second.name


def test_tags_point_at_versions_and_move(data):
    dataset = unique()
    first = data.load_data(PEOPLE.slice(0, 1), dataset, tags=["prod"])
    second = data.load_data(PEOPLE.slice(1, 1), dataset)
    assert first.tags == ["prod"]
    assert data.tags(dataset) == {"prod": first.name}
    data.tag(dataset, "latest")  # the head
    assert data.tags(dataset) == {"latest": second.name, "prod": first.name}
    assert data.read(dataset, tag="prod").equals(PEOPLE.slice(0, 1))
    moved = data.tag(second, "prod")
    assert moved.version == second.name
    data.untag(dataset, "latest")
    assert data.tags(dataset) == {"prod": second.name}
    assert data.get_version(dataset, tag="prod").name == second.name


def test_list_and_delete_datasets(data):
    dataset = unique("listed")
    data.create_dataset(dataset, display_name="Listed", labels={"team": "sdk"})
    assert dataset in [d.name.split("/")[1] for d in data.list_datasets()]
    data.load_data(PEOPLE, dataset)
    with pytest.raises(FailedPreconditionError) as raised:
        data.delete_dataset(dataset)
    assert raised.value.reason == "DATASET_NOT_EMPTY"
    data.delete_dataset(dataset, force=True)
    with pytest.raises(NotFoundError):
        data.get_dataset(dataset)


# ---------------------------------------------------------------------------------- saving


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.jsonl", "out.csv.gz"])
def test_save_data_writes_a_local_file_that_reads_back(data, tmp_path, name):
    data.load_data(PEOPLE, dataset := unique())
    written = data.save_data(dataset, tmp_path / name)
    assert written == [str(tmp_path / name)]
    data.load_data(tmp_path / name, copy := unique())
    assert data.read(copy).equals(PEOPLE)


def test_save_data_encodes_json_lines_like_export_jobs(data, tmp_path):
    table = pa.table(
        {
            "at": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("s", tz="UTC")),
            "day": pa.array([datetime.date(2024, 1, 2)], pa.date32()),
            "raw": pa.array([b"\x00\xff"], pa.binary()),
            "x": pa.array([float("nan")], pa.float64()),
        }
    )
    data.load_data(table, dataset := unique())
    data.save_data(dataset, tmp_path / "rows.jsonl")
    row = json.loads((tmp_path / "rows.jsonl").read_text())
    assert row == {"at": "2024-01-02T03:04:05Z", "day": "2024-01-02", "raw": "AP8=", "x": None}


def test_save_data_does_not_replace_a_local_file_unless_asked(data, tmp_path):
    data.load_data(PEOPLE, dataset := unique())
    target = tmp_path / "out.parquet"
    target.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        data.save_data(dataset, target)
    data.save_data(dataset, target, overwrite=True, columns=["id"])
    assert pq.read_table(target).to_pydict() == {"id": [1, 2, 3, 4]}


# ------------------------------------------------------------------------ import and export


def test_file_uri_is_imported_by_the_server(data, files):
    pa_csv.write_csv(PEOPLE, files / "people.csv")
    version = data.load_data((files / "people.csv").as_uri(), dataset := unique(), tags=["raw"])
    assert version.lineage.source.startswith(f"datasets/{dataset}/importJobs/")
    assert version.tags == ["raw"]
    assert data.read(dataset).equals(PEOPLE)


def test_storage_manager_resolves_relative_paths(data, files):
    pq.write_table(PEOPLE.slice(0, 2), files / "a.parquet")
    pq.write_table(PEOPLE.slice(2), files / "b.parquet")
    storage = StorageManager.local(files)
    assert storage.join("a.parquet") == (files / "a.parquet").as_uri()
    data.load_data(["a.parquet", "b.parquet"], dataset := unique(), storage=storage)
    assert data.read(dataset).equals(PEOPLE)


def test_export_then_import_round_trips_through_storage(data, files):
    data.load_data(PEOPLE, dataset := unique())
    storage = StorageManager.local(files)
    written = data.save_data(dataset, "out/", storage=storage, format="parquet")
    assert written == [storage.join("out/part-00000.parquet")]
    data.load_data("out/", copy := unique(), storage=storage, format="parquet")
    assert data.read(copy).equals(PEOPLE)


def test_storage_options_are_sent_only_when_set():
    assert StorageManager("s3://bucket/raw").options is None
    options = StorageManager("s3://bucket/raw", region="eu-west-1", anonymous=True).options
    assert (options.region, options.endpoint_override, options.anonymous) == (
        "eu-west-1",
        "",
        True,
    )
    assert StorageManager("s3://bucket/raw") / "x.csv" == "s3://bucket/raw/x.csv"
    with pytest.raises(ValueError):
        StorageManager("relative/path")


def test_failed_import_raises_job_failed_error_with_its_reason(data, files):
    with pytest.raises(JobFailedError) as raised:
        data.load_data((files / "missing.csv").as_uri(), unique())
    error = raised.value
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.reason == "STORAGE_OBJECT_NOT_FOUND"
    assert error.state == "JOB_STATE_FAILED"
    assert "/importJobs/" in error.job


def test_export_onto_an_existing_file_fails_with_destination_exists(data, files):
    data.load_data(PEOPLE, dataset := unique())
    (files / "taken.csv").write_text("x\n")
    with pytest.raises(JobFailedError) as raised:
        data.save_data(dataset, (files / "taken.csv").as_uri())
    assert raised.value.reason == "DESTINATION_EXISTS"
    data.save_data(dataset, (files / "taken.csv").as_uri(), overwrite=True)
    assert pa_csv.read_csv(files / "taken.csv").num_rows == 4


# ---------------------------------------------------------------------------- typed errors


def test_missing_dataset_is_not_found_with_its_reason(data):
    with pytest.raises(NotFoundError) as raised:
        data.read(unique("missing"))
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert raised.value.reason == "RESOURCE_NOT_FOUND"
    assert isinstance(raised.value, LeptonAIError)


def test_missing_tag_is_not_found(data):
    data.load_data(PEOPLE, dataset := unique())
    with pytest.raises(NotFoundError) as raised:
        data.read(dataset, tag="nope")
    assert raised.value.reason == "RESOURCE_NOT_FOUND"


def test_dataset_without_versions_has_no_head(data):
    data.create_dataset(dataset := unique())
    with pytest.raises(NotFoundError, match="no version"):
        data.read(dataset)


def test_bad_dataset_id_is_invalid_argument_with_field_violation(data):
    with pytest.raises(InvalidArgumentError) as raised:
        data.create_dataset("Not_Valid")
    assert raised.value.reason == "INVALID_NAME"
    assert [path for path, _ in raised.value.field_violations] == ["dataset_id"]
    assert str(raised.value).startswith("INVALID_ARGUMENT [INVALID_NAME]: ")


def test_existing_dataset_is_already_exists_unless_exist_ok(data):
    data.create_dataset(dataset := unique())
    with pytest.raises(AlreadyExistsError) as raised:
        data.create_dataset(dataset)
    assert raised.value.reason == "RESOURCE_ALREADY_EXISTS"
    assert data.create_dataset(dataset, exist_ok=True).name == f"datasets/{dataset}"


def test_append_with_another_schema_is_schema_mismatch(data):
    data.load_data(PEOPLE, dataset := unique())
    with pytest.raises(InvalidArgumentError) as raised:
        data.load_data(pa.table({"other": [1]}), dataset, mode="append")
    assert raised.value.reason == "SCHEMA_MISMATCH"


def test_stale_expected_parent_is_aborted_with_the_head(data):
    head = data.load_data(PEOPLE, dataset := unique())
    with pytest.raises(AbortedError) as raised:
        data.load_data(PEOPLE, dataset, expected_parent="")
    assert raised.value.reason == "PARENT_VERSION_MISMATCH"
    assert raised.value.metadata["head_version"] == head.name
    assert data.load_data(PEOPLE, dataset, expected_parent=head.name).parent_version == head.name


def test_errors_survive_pickling():
    error = NotFoundError(grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND", "gone", {"k": "v"})
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.reason, copy.metadata, str(copy)) == (
        NotFoundError,
        "RESOURCE_NOT_FOUND",
        {"k": "v"},
        str(error),
    )
    failed = JobFailedError(grpc.StatusCode.ABORTED, "X", "m", job="j", state="JOB_STATE_FAILED")
    assert pickle.loads(pickle.dumps(failed)).job == "j"


def test_token_is_sent_as_a_bearer_header(server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("s3cret\n")
    server = server_factory("--auth-tokens", str(tokens))
    with DataManager.connect(server.address) as anonymous:
        with pytest.raises(UnauthenticatedError) as raised:
            anonymous.list_datasets()
        assert raised.value.reason == "MISSING_CREDENTIALS"
    with DataManager.connect(server.address, token="s3cret", progress=False) as data:
        data.load_data(PEOPLE, "authed")
        assert data.read("authed").equals(PEOPLE)


def test_mutual_tls_with_a_private_ca(server_factory, tmp_path):
    authority = CertificateAuthority(tmp_path)
    issued = authority.issue("server", server=True)
    server = server_factory(
        "--tls-cert",
        str(issued.cert),
        "--tls-key",
        str(issued.key),
        "--tls-client-ca",
        str(authority.cert),
    )
    client = authority.issue("client", server=False)
    with DataManager.connect(
        server.address,
        ca=authority.cert,
        client_cert=client.cert,
        client_key=client.key.read_bytes(),
        progress=False,
    ) as data:
        data.load_data(PEOPLE, "secure")
        assert data.read("secure").equals(PEOPLE)


# ----------------------------------------------------------------- resumption after a break


class _InjectedBreak(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection reset (injected by the test)"

    def trailing_metadata(self) -> None:
        return None


class _BreakingStream:
    """The responses of a real call, broken after `after` messages."""

    def __init__(self, call, after: int) -> None:
        self._call, self._after = call, after

    def __iter__(self):
        for index, response in enumerate(self._call):
            if index == self._after:
                self._call.cancel()
                raise _InjectedBreak()
            yield response

    def cancel(self) -> bool:
        return self._call.cancel()


class BreakFirstRead(grpc.UnaryStreamClientInterceptor):
    """Breaks the first ReadVersion stream after two batches; records every request."""

    def __init__(self) -> None:
        self.requests = []

    def intercept_unary_stream(self, continuation, details, request):
        call = continuation(details, request)
        if not details.method.endswith("/ReadVersion"):
            return call
        self.requests.append(request)
        return _BreakingStream(call, 2) if len(self.requests) == 1 else call


def test_broken_read_resumes_from_the_next_batch(shared):
    table = pa.table({"n": pa.array(range(1000), pa.int64())})
    breaker = BreakFirstRead()
    channel = grpc.intercept_channel(grpc.insecure_channel(shared[0]), breaker)
    with DataManager(channel, progress=False) as data:
        version = data.load_data(table, unique())
        tag = data.tag(version, "resume")
        assert data.read(tag.name, batch_rows=100).equals(table)
    first, resumed = breaker.requests
    assert (first.name, first.start_batch_index) == (tag.name, 0)
    assert resumed.name == version.name  # the canonical version, not the tag
    assert (resumed.batch_rows, resumed.start_batch_index) == (100, 2)


# ------------------------------------------------------------------------------ progress


def test_no_progress_bar_when_not_attached_to_a_terminal(shared, capsys, monkeypatch):
    monkeypatch.setattr(sdk_progress, "PROGRESS_DELAY_SECONDS", 0)
    with DataManager.connect(shared[0]) as data:  # progress=None: decided by the terminal
        data.load_data(PEOPLE, dataset := unique())
        data.read(dataset)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(shared, monkeypatch):
    monkeypatch.setattr(sdk_progress, "PROGRESS_DELAY_SECONDS", 0)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with DataManager.connect(shared[0]) as data:
        data.load_data(PEOPLE, unique())
    assert "Uploading to datasets/" in terminal.getvalue()


def test_quick_transfers_draw_no_bar_even_on_a_terminal(shared, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sdk_progress, "PROGRESS_DELAY_SECONDS", 60)
    with DataManager.connect(shared[0]) as data:
        data.load_data(PEOPLE, unique())
    assert terminal.getvalue() == ""


# -------------------------------------------------------------------------- DataProcessor


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


# ------------------------------------------------------------- processing (when it is served)


@pytest.fixture
def processing(data) -> DataManager:
    if data.features(PROCESSING_SERVICE) is None:
        pytest.skip(f"the server does not host {PROCESSING_SERVICE} yet")
    return data


def test_process_data_commits_the_pipeline_output(processing):
    processing.load_data(PEOPLE, source := unique())
    clean = (
        DataProcessor()
        .drop_nulls(["name", "score"])
        .filter(col("score") > 0)
        .derive("double_id", col("id") * 2)
        .select(["name", "double_id"])
    )
    version = processing.process_data(source, clean, output := unique(), tags=["clean"])
    assert version.name.startswith(f"datasets/{output}/versions/")
    assert version.tags == ["clean"]
    assert version.lineage.source.startswith("pipelineRuns/")
    assert processing.read(version).to_pydict() == {"name": ["ada"], "double_id": [2]}


def test_pipeline_that_does_not_fit_the_schema_names_the_step(processing):
    processing.load_data(PEOPLE, source := unique())
    broken = DataProcessor().drop_nulls().filter(col("missing") > 1)
    with pytest.raises(InvalidArgumentError) as raised:
        processing.process_data(source, broken)
    assert raised.value.reason == "COLUMN_NOT_FOUND"
    assert raised.value.metadata["step_index"] == "1"


def test_failed_run_raises_job_failed_error(processing):
    processing.load_data(pa.table({"s": ["1", "x"]}), source := unique())
    with pytest.raises(JobFailedError) as raised:
        processing.process_data(source, DataProcessor().cast({"s": "int64"}))
    assert raised.value.reason == "CAST_FAILED"

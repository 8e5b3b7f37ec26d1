"""A training job's data (TRN-017, TRN-056, TRN-057) against a real data layer over gRPC
(`DataLayerSource`): roles checked, tags resolved once to concrete versions with their
content digests, columns checked, and each role's rows written as the Arrow IPC file a worker
reads."""

from __future__ import annotations

import pyarrow as pa
import pytest
from support.servers import start_server

from lepton.training.v1 import training_job_pb2 as tj
from lepton.type.v1 import dataset_reference_pb2 as refs
from lepton_ai.data import DataManager
from lepton_server.runtime.errors import InvalidArgument, NotFound, Unimplemented
from lepton_server.training.layer_clients import DataLayerSource
from lepton_server.training.training_data import resolve_inputs, write_role_files

TRAIN, VALIDATION, TEST = (
    refs.DATASET_ROLE_TRAIN,
    refs.DATASET_ROLE_VALIDATION,
    refs.DATASET_ROLE_TEST,
)
FIRST = "datasets/people/versions/v1"
PEOPLE = pa.table({"age": [31, 45, 27], "income": [3.5, 7.25, 2.0], "churned": [0, 1, 0]})


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    server = start_server(["--services", "data"], tmp_path_factory.mktemp("data"))
    with DataManager.connect(server.address) as data:
        assert data.load_data(PEOPLE, "people").name == FIRST
        data.load_data(PEOPLE.slice(1), "people", tags=["prod"])
        yield DataLayerSource(data)
    server.stop()


def _data(*entries: tuple[str, int], **columns) -> tj.TrainingData:
    return tj.TrainingData(
        datasets=[refs.DatasetReference(dataset_version=name, role=role) for name, role in entries],
        **columns,
    )


def test_tags_resolve_once_to_concrete_versions_with_digests(catalog):
    data = _data(("datasets/people/tags/prod", TEST), (FIRST, TRAIN))
    resolved = resolve_inputs(catalog, data)
    head = catalog.data.get_version("datasets/people/tags/prod")
    first = catalog.data.get_version(FIRST)
    assert [(r.dataset_version, r.role) for r in resolved] == [
        (FIRST, TRAIN),
        (head.name, TEST),
    ]
    assert head.name != FIRST
    assert resolved[0].content_digest == first.content_digest
    assert resolved[1].content_digest == head.content_digest


SPEC = "training_job.spec.data"
REFUSED = {
    "no-train": (_data((FIRST, VALIDATION)), InvalidArgument, f"{SPEC}.datasets"),
    "train-twice": (
        _data((FIRST, TRAIN), (FIRST, TRAIN)),
        InvalidArgument,
        f"{SPEC}.datasets[1].role",
    ),
    "role-other": (
        _data((FIRST, refs.DATASET_ROLE_OTHER)),
        InvalidArgument,
        f"{SPEC}.datasets[0].role",
    ),
    "no-label": (_data((FIRST, TRAIN), label_column="x"), InvalidArgument, f"{SPEC}.label_column"),
    "no-feature": (
        _data((FIRST, TRAIN), feature_columns=["x"]),
        InvalidArgument,
        f"{SPEC}.feature_columns",
    ),
    "malformed": (_data(("datasets/people/pages/1", TRAIN)), InvalidArgument, "dataset_version"),
    "no-version": (_data(("datasets/people/versions/v9", TRAIN)), NotFound, ""),
    "no-tag": (_data(("datasets/people/tags/gone", TRAIN)), NotFound, ""),
}


@pytest.mark.parametrize(("data", "error", "field"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_data_is_refused_with_the_field(catalog, data, error, field):
    with pytest.raises(error) as refused:
        resolve_inputs(catalog, data)
    assert field in refused.value.message


def test_a_uri_needs_a_feature_this_server_lacks(catalog):
    data = tj.TrainingData(datasets=[refs.DatasetReference(uri="s3://b/t.parquet", role=TRAIN)])
    with pytest.raises(Unimplemented):
        resolve_inputs(catalog, data)


def test_each_role_becomes_an_arrow_file_of_the_selected_columns(catalog, tmp_path):
    data = _data(
        (FIRST, TRAIN),
        ("datasets/people/tags/prod", VALIDATION),
        feature_columns=["income"],
        label_column="churned",
    )
    files = write_role_files(catalog, resolve_inputs(catalog, data), data, tmp_path / "inputs")
    assert sorted(files) == ["train", "validation"]
    with pa.memory_map(str(files["train"])) as source:
        train = pa.ipc.open_file(source).read_all()
    assert train.equals(PEOPLE.select(["income", "churned"]))
    with pa.memory_map(str(files["validation"])) as source:
        assert pa.ipc.open_file(source).read_all().num_rows == 2
    everything = _data((FIRST, TRAIN), label_column="churned")
    files = write_role_files(
        catalog, resolve_inputs(catalog, everything), everything, tmp_path / "all"
    )
    with pa.memory_map(str(files["train"])) as source:
        assert pa.ipc.open_file(source).read_all().column_names == ["age", "income", "churned"]

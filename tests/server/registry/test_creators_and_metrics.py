"""Who made a model or version (REG-045, GEN-014) and the typed metrics of a version, filtered
as numbers (REG-047)."""

from __future__ import annotations

import math
import os

import grpc
import pytest
from google.protobuf import field_mask_pb2
from registry_calls import artifact, create_model, create_version
from support.servers import start_server
from support.status_details import error_info

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.registry.v1 import model_version_pb2 as mv
from lepton_server.runtime.principals import token_principal


def test_without_authentication_there_is_no_creator(stub):
    model = create_model(stub)
    version = create_version(stub, model, os.urandom(8))
    got = stub.GetModel(pb.GetModelRequest(name=model), timeout=10).model
    assert (got.creator, version.creator) == ("", "")


def test_the_creator_is_the_principal_of_the_token(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("alice-token alice@example.com\nanonymous-token\n")
    server = start_server(
        ["--services", "registry", "--auth-tokens", str(tokens)], tmp_path / "data"
    )
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ModelRegistryServiceStub(channel)
            alice = (("authorization", "Bearer alice-token"),)
            other = (("authorization", "Bearer anonymous-token"),)
            stub.CreateModel(pb.CreateModelRequest(model_id="owned"), metadata=alice, timeout=10)
            version = stub.CreateModelVersion(
                pb.CreateModelVersionRequest(
                    parent="models/owned",
                    model_version=mv.ModelVersion(artifact=artifact(b"1234")),
                ),
                metadata=other,
                timeout=10,
            ).model_version
            model = stub.GetModel(pb.GetModelRequest(name="models/owned"), metadata=other).model
            assert model.creator == "alice@example.com"
            assert version.creator == token_principal("anonymous-token")
            assert "anonymous-token" not in version.creator
            listed = stub.ListModelVersions(
                pb.ListModelVersionsRequest(
                    parent="models/-", filter=f'creator = "{version.creator}"'
                ),
                metadata=alice,
            ).model_versions
            assert [v.name for v in listed] == [version.name]
    finally:
        server.stop()


def test_metrics_are_stored_replaced_and_filtered_as_numbers(stub):
    model = create_model(stub)
    good = create_version(stub, model, os.urandom(8), metrics={"accuracy": 0.93, "auc": 0.97})
    weak = create_version(stub, model, os.urandom(8), metrics={"accuracy": 0.81})
    bare = create_version(stub, model, os.urandom(8))

    def listed(flt: str) -> list[str]:
        request = pb.ListModelVersionsRequest(parent=model, filter=flt, order_by="create_time")
        return [v.name for v in stub.ListModelVersions(request, timeout=10).model_versions]

    assert listed("metrics.accuracy > 0.9") == [good.name]
    assert listed("metrics.accuracy <= 0.9") == [weak.name]
    assert listed("metrics.accuracy != 0.5") == [good.name, weak.name]  # bare has none
    assert listed("metrics.auc >= 0.97 AND metrics.accuracy > 0.9") == [good.name]
    change = mv.ModelVersion(name=bare.name, metrics={"accuracy": 0.99})
    mask = field_mask_pb2.FieldMask(paths=["metrics"])
    updated = stub.UpdateModelVersion(
        pb.UpdateModelVersionRequest(model_version=change, update_mask=mask), timeout=10
    ).model_version
    assert dict(updated.metrics) == {"accuracy": 0.99}
    assert listed("metrics.accuracy > 0.9") == [good.name, bare.name]


@pytest.mark.parametrize(
    ("metrics", "field"),
    [
        ({"accuracy": math.nan}, "model_version.metrics.accuracy"),
        ({"loss": math.inf}, "model_version.metrics.loss"),
        ({"Bad Name": 1.0}, "model_version.metrics.Bad Name"),
        ({f"m{i}": 1.0 for i in range(65)}, "model_version.metrics"),
    ],
)
def test_invalid_metrics_are_rejected(stub, metrics, field):
    model = create_model(stub)
    with pytest.raises(grpc.RpcError) as error:
        create_version(stub, model, os.urandom(8), metrics=metrics)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error.value).reason == "INVALID_FIELD"
    assert stub.GetModel(pb.GetModelRequest(name=model), timeout=10).model.version_count == 0


def test_a_metric_filter_with_a_string_value_is_invalid(stub):
    model = create_model(stub)
    request = pb.ListModelVersionsRequest(parent=model, filter='metrics.accuracy > "high"')
    with pytest.raises(grpc.RpcError) as error:
        stub.ListModelVersions(request, timeout=10)
    assert error_info(error.value).reason == "INVALID_FILTER"

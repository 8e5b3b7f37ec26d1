"""Aliases (REG-015, REG-033 to REG-038): set and move by compare-and-swap on the model's
etag, resolved at every read, `latest` implicit and reserved, never a target of writes."""

from __future__ import annotations

import threading

import grpc
from registry_calls import create_model, create_version, download, expect_error, ready_version

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _set(stub, alias: str, version: str, etag: str = ""):
    return stub.SetModelAlias(
        pb.SetModelAliasRequest(name=alias, model_version=version, etag=etag), timeout=10
    )


def _get(stub, name: str):
    return stub.GetModelVersion(pb.GetModelVersionRequest(name=name), timeout=10).model_version


def test_set_creates_then_moves_and_versions_list_their_aliases(stub):
    model = create_model(stub)
    one, two = ready_version(stub, model, b"one"), ready_version(stub, model, b"two")
    etag = stub.GetModel(pb.GetModelRequest(name=model)).model.etag
    created = _set(stub, f"{model}/aliases/prod", one.name)
    assert created.previous_model_version == ""
    assert dict(created.model.aliases) == {"prod": one.name} and created.model.etag != etag
    moved = _set(stub, f"{model}/aliases/prod", two.name, etag=created.model.etag)
    assert moved.previous_model_version == one.name
    assert dict(moved.model.aliases) == {"prod": two.name}
    assert list(_get(stub, two.name).aliases) == ["prod"]
    assert list(_get(stub, one.name).aliases) == []


def test_reads_resolve_the_alias_at_each_call(stub):
    model = create_model(stub)
    one, two = ready_version(stub, model, b"first"), ready_version(stub, model, b"second")
    alias = f"{model}/aliases/champion"
    _set(stub, alias, one.name)
    assert _get(stub, alias).name == one.name
    assert download(stub, alias)[1] == b"first"
    _set(stub, alias, two.name)
    assert _get(stub, alias).name == two.name
    assert download(stub, alias)[1] == b"second"


def test_latest_is_the_newest_ready_version_and_reserved(stub):
    model = create_model(stub)
    expect_error(
        lambda: _get(stub, f"{model}/aliases/latest"),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name=f"{model}/aliases/latest",
    )
    ready = ready_version(stub, model, b"ready")
    create_version(stub, model, b"pending")
    assert _get(stub, f"{model}/aliases/latest").name == ready.name
    expect_error(
        lambda: _set(stub, f"{model}/aliases/latest", ready.name), INVALID, "RESERVED_ALIAS"
    )
    expect_error(
        lambda: stub.DeleteModelAlias(pb.DeleteModelAliasRequest(name=f"{model}/aliases/latest")),
        INVALID,
        "RESERVED_ALIAS",
    )
    expect_error(
        lambda: _set(stub, f"{model}/aliases/Prod", ready.name), INVALID, "INVALID_NAME", "name"
    )


def test_set_checks_the_target(stub):
    model, other = create_model(stub), create_model(stub)
    ready = ready_version(stub, model, b"ready")
    pending = create_version(stub, model, b"pending")
    foreign = ready_version(stub, other, b"foreign")
    alias = f"{model}/aliases/prod"
    expect_error(lambda: _set(stub, alias, foreign.name), INVALID, "INVALID_FIELD", "model_version")
    expect_error(
        lambda: _set(stub, alias, f"{model}/versions/99"),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name=f"{model}/versions/99",
    )
    expect_error(
        lambda: _set(stub, alias, pending.name),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_NOT_READY",
    )
    expect_error(
        lambda: _set(stub, "models/absent/aliases/prod", "models/absent/versions/1"),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
    # An alias target is resolved once: the new alias does not follow it later.
    _set(stub, f"{model}/aliases/staging", ready.name)
    _set(stub, alias, f"{model}/aliases/staging")
    newer = ready_version(stub, model, b"newer")
    _set(stub, f"{model}/aliases/staging", newer.name)
    assert _get(stub, alias).name == ready.name


def test_a_stale_etag_changes_nothing(stub):
    model = create_model(stub)
    one, two = ready_version(stub, model, b"1"), ready_version(stub, model, b"2")
    first = _set(stub, f"{model}/aliases/prod", one.name)
    _set(stub, f"{model}/aliases/other", one.name)
    expect_error(
        lambda: _set(stub, f"{model}/aliases/prod", two.name, etag=first.model.etag),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    expect_error(
        lambda: stub.DeleteModelAlias(
            pb.DeleteModelAliasRequest(name=f"{model}/aliases/prod", etag=first.model.etag)
        ),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    assert _get(stub, f"{model}/aliases/prod").name == one.name


def test_of_two_clients_moving_an_alias_from_the_same_etag_one_wins(registry_server, stub):
    model = create_model(stub)
    versions = [ready_version(stub, model, bytes([i])) for i in range(2)]
    etag = _set(stub, f"{model}/aliases/prod", versions[0].name).model.etag
    targets = [versions[1].name, versions[0].name]
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def move(target: str) -> None:
        with grpc.insecure_channel(registry_server.address) as channel:
            client = pb_grpc.ModelRegistryServiceStub(channel)
            start.wait()
            try:
                _set(client, f"{model}/aliases/prod", target, etag=etag)
                outcomes.append("set")
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.ABORTED
                outcomes.append("aborted")

    threads = [threading.Thread(target=move, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["aborted", "set"]


def test_delete_returns_the_previous_version_and_leaves_it(stub):
    model = create_model(stub)
    version = ready_version(stub, model, b"v")
    etag = _set(stub, f"{model}/aliases/prod", version.name).model.etag
    deleted = stub.DeleteModelAlias(
        pb.DeleteModelAliasRequest(name=f"{model}/aliases/prod", etag=etag)
    )
    assert deleted.previous_model_version == version.name
    assert not deleted.model.aliases and deleted.model.etag != etag
    kept = _get(stub, version.name)
    assert kept.state == version.state and list(kept.aliases) == []
    expect_error(
        lambda: stub.DeleteModelAlias(pb.DeleteModelAliasRequest(name=f"{model}/aliases/prod")),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name=f"{model}/aliases/prod",
    )


def test_writes_through_an_alias_are_refused(stub):
    model = create_model(stub)
    version = ready_version(stub, model, b"w")
    alias = f"{model}/aliases/prod"
    _set(stub, alias, version.name)
    expect_error(
        lambda: stub.GetModelVersionUploadStatus(pb.GetModelVersionUploadStatusRequest(name=alias)),
        INVALID,
        "INVALID_NAME",
        "name",
    )
    expect_error(
        lambda: stub.UploadModelVersionArtifact(
            iter(
                [
                    pb.UploadModelVersionArtifactRequest(
                        header=pb.ModelVersionUploadHeader(
                            model_version=alias, artifact=version.artifact.descriptor
                        )
                    )
                ]
            )
        ),
        INVALID,
        "INVALID_NAME",
        "header.model_version",
    )

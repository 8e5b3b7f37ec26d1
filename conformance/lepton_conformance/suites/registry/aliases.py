"""registry-core cases of aliases: set and move with their etag, resolution at every call,
a compare-and-swap race with one winner, and deletion (spec/registry.md, "Aliases")."""

from __future__ import annotations

from concurrent import futures

import grpc

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    RegistryClient,
    assembled,
    random_bytes,
)

CASES = CaseList()


@CASES.case(CORE, "aliases.set-and-move", "REG-033", "REG-038", "REG-015")
def set_and_move(ctx: CaseContext) -> None:
    """SetModelAlias creates then moves an alias, returns the previous version and a new
    etag, and reads through the alias follow it at once."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        one_bytes, two_bytes = random_bytes(64), random_bytes(64)
        one, two = client.register(name, one_bytes), client.register(name, two_bytes)
        alias = f"{name}/aliases/prod"
        created = client.set_alias(alias, one.name)
        expect.equal(
            (created.previous_model_version, dict(created.model.aliases)),
            ("", {"prod": one.name}),
            "(previous_model_version, aliases) of a new alias",
        )
        moved = client.set_alias(alias, two.name, etag=created.model.etag)
        expect.equal(moved.previous_model_version, one.name, "previous_model_version")
        expect.holds(moved.model.etag != created.model.etag, "a new etag", moved.model.etag)
        expect.equal(list(client.version(two.name).aliases), ["prod"], "aliases of the target")
        expect.equal(list(client.version(one.name).aliases), [], "aliases of the previous one")
        expect.equal(client.version(alias).name, two.name, "GetModelVersion through the alias")
        expect.holds(assembled(client.download(alias)[1]) == two_bytes, "its bytes", "others")


@CASES.case(CORE, "aliases.compare-and-swap-has-one-winner", "REG-036")
def race(ctx: CaseContext) -> None:
    """Of clients that read the same etag and move the same alias at once, exactly one
    succeeds; the others are ABORTED [ETAG_MISMATCH]."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        versions = [client.register(name, random_bytes(16)) for _ in range(4)]
        alias = f"{name}/aliases/prod"
        etag = client.set_alias(alias, versions[0].name).model.etag

        def move(version: str) -> str:
            try:
                client.set_alias(alias, version, etag=etag)
                return "OK"
            except grpc.RpcError as error:
                return error.code().name

        with futures.ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(pool.map(move, [v.name for v in versions[1:]] * 2))
        expect.equal(sorted(outcomes), ["ABORTED"] * 5 + ["OK"], "outcomes of 6 racing moves")


@CASES.case(CORE, "aliases.an-alias-target-is-resolved-once", "REG-035")
def alias_of_alias(ctx: CaseContext) -> None:
    """An alias set to another alias points to that alias's version at the time of the call
    and does not follow it later."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        one, two = client.register(name, random_bytes(8)), client.register(name, random_bytes(8))
        client.set_alias(f"{name}/aliases/prod", one.name)
        client.set_alias(f"{name}/aliases/backup", f"{name}/aliases/prod")
        client.set_alias(f"{name}/aliases/prod", two.name)
        expect.equal(client.version(f"{name}/aliases/backup").name, one.name, "where backup points")


@CASES.case(CORE, "aliases.delete-leaves-the-version", "REG-037")
def delete(ctx: CaseContext) -> None:
    """DeleteModelAlias removes the alias, returns its version and a new etag, and leaves the
    version as it was."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        version = client.register(name, random_bytes(8))
        etag = client.set_alias(f"{name}/aliases/prod", version.name).model.etag
        request = pb.DeleteModelAliasRequest(name=f"{name}/aliases/prod", etag=etag)
        answer = client.call("DeleteModelAlias", request)
        expect.equal(
            (answer.previous_model_version, dict(answer.model.aliases)),
            (version.name, {}),
            "(previous_model_version, aliases)",
        )
        expect.holds(answer.model.etag != etag, "a new etag", answer.model.etag)
        after = client.version(version.name)
        expect.equal((after.state, list(after.aliases)), (version.state, []), "the version")

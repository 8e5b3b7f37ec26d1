"""registry-core cases generated from vectors/registry.yaml: every row of the error table,
each checked to fail with its code and reason and to change nothing (REG-002, REG-003)."""

from __future__ import annotations

import grpc

from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_checks import TABLES, fixture, request_of, send
from lepton_conformance.suites.registry.registry_client import RegistryClient

CASES = CaseList()


def _register() -> None:
    for row in TABLES["errors"]:

        def body(ctx: CaseContext, row=row) -> None:
            client = RegistryClient(ctx)
            with fixture(client) as names:
                before = client.model(names["model"])
                request = request_of(row["rpc"], row["request"], names)
                expect.fails_with(
                    lambda: send(client, row["rpc"], request),
                    getattr(grpc.StatusCode, row["code"]),
                    row["reason"],
                )
                after = client.model(names["model"])
                expect.equal(
                    (after.etag, after.version_count, dict(after.aliases)),
                    (before.etag, before.version_count, dict(before.aliases)),
                    "the model (etag, version_count, aliases) after the rejected call",
                )

        body.__doc__ = f"{row['id'].replace('-', ' ')}: {row['code']} [{row['reason']}]"
        CASES.case(CORE, f"errors.{row['id']}", *row["requirements"], "REG-002")(body)


_register()

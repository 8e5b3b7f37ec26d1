"""The fixture and the error table the registry-core cases share (spec/registry.md).

Every case works in scratch models of its own (IDs `conf-<random>`), deleted with force at
the end, so runs repeat against the same server. Artifacts are random bytes, so no run's
upload is ever deduplicated against another's by chance."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_conformance.harness import vectors
from lepton_conformance.suites.registry.registry_client import (
    RegistryClient,
    random_bytes,
    unique_id,
)

TABLES = vectors.load("lepton_conformance.suites.registry", "registry.yaml")


@contextlib.contextmanager
def fixture(client: RegistryClient) -> Iterator[dict[str, str]]:
    """A scratch model with a READY 4-byte version `{v}` (alias `champion`) and a PENDING
    version `{p}`: the placeholders of vectors/registry.yaml."""
    with client.scratch() as model:
        ready = client.register(model, random_bytes(4))
        client.set_alias(f"{model}/aliases/champion", ready.name)
        pending = client.create_version(model, random_bytes(8))
        sha = hashlib.sha256(random_bytes(4)).hexdigest()
        yield {
            "{m}": model.removeprefix("models/"),
            "{v}": ready.name,
            "{p}": pending.name,
            "{missing}": unique_id("conf-missing"),
            "{sha}": sha,
            "{SHA}": sha.upper(),
            "model": model,
        }


def request_of(rpc: str, fields: dict[str, Any], names: dict[str, str]) -> Message:
    """The row's request message, its placeholders filled."""
    return json_format.ParseDict(vectors.filled(fields, names), getattr(pb, f"{rpc}Request")())


def send(client: RegistryClient, rpc: str, request: Message) -> Any:
    """Call `rpc`; a server stream is read to its end."""
    if rpc == "DownloadModelVersionArtifact":
        return list(client.stream(rpc, request))
    return client.call(rpc, request)

"""The data the training-core cases share (vectors/training.yaml) and how a row of it becomes
a request: the conformance trainer's declaration, the valid job the error rows start from,
and the merge of a row's changes into it."""

from __future__ import annotations

import copy
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from lepton.training.v1 import training_service_pb2 as pb
from lepton_conformance.harness import vectors
from lepton_conformance.suites.training.training_client import TrainingClient

TABLES = vectors.load("lepton_conformance.suites.training", "training.yaml")


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` merged in at any depth: a None deletes a key, anything else
    that is not a non-empty mapping (a list included) replaces it."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict) and value:
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def create_request(row: dict[str, Any]) -> dict[str, Any]:
    """A CreateTrainingJob request as JSON data with placeholders: the table's valid `base`
    with the row's `request`, `job` and `spec` changes, and its `trainer` in place of the
    base's."""
    request = merged(TABLES["base"], row.get("request", {}))
    job = merged(request["trainingJob"], row.get("job", {}))
    spec = dict(row.get("spec", {}))
    # Each hyperparameter value is replaced whole: its kind is a oneof.
    hyperparameters = spec.pop("hyperparameters", {})
    job["spec"] = merged(job["spec"], spec)
    if hyperparameters is None:
        job["spec"].pop("hyperparameters", None)
    else:
        job["spec"]["hyperparameters"] = {**job["spec"]["hyperparameters"], **hyperparameters}
    if "trainer" in row:
        job["spec"]["trainer"] = copy.deepcopy(row["trainer"])
    request["trainingJob"] = job
    return request


def request_of(rpc: str, fields: dict[str, Any], names: dict[str, str]) -> Message:
    """The request message of `rpc` from JSON data, its placeholders filled."""
    return json_format.ParseDict(vectors.filled(fields, names), getattr(pb, f"{rpc}Request")())


def send(client: TrainingClient, rpc: str, request: Message) -> Any:
    """Call `rpc`; a server stream is read to its end."""
    answer = client.call(rpc, request)
    return list(answer) if rpc.startswith(("Watch", "Stream", "Download")) else answer

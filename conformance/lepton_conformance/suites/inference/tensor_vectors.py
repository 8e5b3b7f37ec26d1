"""The inference vectors (vectors/inference.yaml) as tensors and requests, the edits an
error-table row makes to a request, and the check of a golden vector: shared by the inference
cases (spec/inference.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList, Profile
from lepton_conformance.suites.inference import oip

DATA = vectors.load("lepton_conformance.suites.inference", "inference.yaml")
GOLDEN = {g["id"]: g for g in DATA["golden"]}


# --- vectors -> tensors and requests --------------------------------------------------------


def _values(spec: dict[str, Any]) -> list:
    values = spec["values"]
    count = int(np.prod(spec["shape"]))
    if isinstance(values, dict) and "range" in values:
        start, stop = values["range"]
        return (
            [start + i for i in range(count)]
            if stop - start == count
            else [start + i * (stop - start) / count for i in range(count)]
        )
    if isinstance(values, dict) and "fill" in values:
        return [values["fill"]] * count
    return values


def _tensors(specs: dict[str, dict[str, Any]]) -> list[oip.Tensor]:
    return [
        oip.tensor(name, spec["datatype"], _values(spec), spec["shape"])
        for name, spec in specs.items()
    ]


def golden_io(vector: dict[str, Any]) -> tuple[list[oip.Tensor], dict[str, oip.Tensor]]:
    if "identity" in vector:
        spec = vector["identity"]
        inputs = _tensors({"INPUT0": spec})
        return inputs, {"OUTPUT0": oip.Tensor("OUTPUT0", spec["datatype"], inputs[0].array)}
    return _tensors(vector["inputs"]), {t.name: t for t in _tensors(vector["outputs"])}


def golden_request(vector: dict[str, Any], raw: bool, request_id: str = "") -> pb.ModelInferRequest:
    inputs, _ = golden_io(vector)
    return oip.request(
        vector["model"], inputs, raw=raw, version=vector.get("version", ""), request_id=request_id
    )


def check_golden(ctx: CaseContext, vector: dict[str, Any], raw: bool) -> None:
    client = oip.client(ctx)
    request_id = f"golden-{vector['id']}"
    response = expect.succeeds(
        lambda: client.infer(golden_request(vector, raw, request_id)),
        f"ModelInfer on {vector['model']} to succeed",
    )
    expect.equal(response.id, request_id, "response id")
    expect.equal(response.model_name, vector["model"], "response model_name")
    # The Open Inference Protocol makes the response's model_version optional; when it is
    # there it must name the version that ran. Lepton's "never empty" (INF-013) is checked by
    # its own case, infer.model-version-and-id-echoed, not by every golden vector.
    wanted_version = vector.get("version") or vector.get("expect_version")
    if wanted_version and response.model_version:
        expect.equal(response.model_version, wanted_version, "response model_version")
    _, outputs = golden_io(vector)
    oip.assert_tensors_equal(oip.decode_outputs(response), outputs)


def register_golden(
    cases: CaseList, profile: Profile, requirements: Callable[[dict[str, Any]], Sequence[str]]
) -> None:
    """One case per golden vector and form (raw, typed) in `profile`: the outputs bit-exact,
    citing `requirements(vector)`."""
    for vector in DATA["golden"]:
        for form in vector.get("forms", ["raw", "typed"]):

            def body(ctx: CaseContext, vector=vector, form=form) -> None:
                check_golden(ctx, vector, raw=form == "raw")

            body.__doc__ = f"{vector['model']}: outputs bit-exact for {form} contents"
            cases.case(profile, f"golden.{vector['id']}.{form}", *requirements(vector))(body)


def changed_request(row: dict[str, Any]) -> pb.ModelInferRequest:
    """The row's base request with its change applied, key by key in the row's order."""
    vector = GOLDEN[row["base"]]
    editor = _Editor(golden_request(vector, raw=row.get("form", "raw") == "raw"))
    for key, value in row["change"].items():
        operation = getattr(editor, key, None)
        if operation is None:
            raise ValueError(f"{row['id']}: unknown change {key!r}")
        operation(value)
    return editor.message


class _Editor:
    """The changes an error-table row can make. `input` and `raw` pick the entry that the
    following keys change."""

    def __init__(self, message: pb.ModelInferRequest) -> None:
        self.message = message
        self.index = 0

    @property
    def _input(self) -> pb.ModelInferRequest.InferInputTensor:
        return self.message.inputs[self.index]

    @property
    def _typed(self):
        contents = self._input.contents
        return getattr(contents, next(f.name for f, _ in contents.ListFields()))

    def model_name(self, value: str) -> None:
        self.message.model_name = value

    def model_version(self, value: str) -> None:
        self.message.model_version = value

    def input(self, index: int) -> None:
        self.index = index

    raw = input

    def datatype(self, value: str) -> None:
        self._input.datatype = value

    def name(self, value: str) -> None:
        self._input.name = value

    def shape(self, value: list[int]) -> None:
        del self._input.shape[:]
        self._input.shape.extend(value)

    def drop_input(self, index: int) -> None:
        del self.message.inputs[index]
        del self.message.raw_input_contents[index]

    def duplicate_input(self, index: int) -> None:
        self.message.inputs.add().CopyFrom(self.message.inputs[index])
        self.message.raw_input_contents.append(self.message.raw_input_contents[index])

    def drop_raw(self, index: int) -> None:
        del self.message.raw_input_contents[index]

    def truncate(self, count: int) -> None:
        raw = self.message.raw_input_contents
        raw[self.index] = raw[self.index][:-count]

    def append(self, hex_bytes: str) -> None:
        raw = self.message.raw_input_contents
        raw[self.index] = raw[self.index] + bytes.fromhex(hex_bytes)

    def replace(self, hex_bytes: str) -> None:
        raw, patch = self.message.raw_input_contents, bytes.fromhex(hex_bytes)
        raw[self.index] = patch + raw[self.index][len(patch) :]

    def typed(self, fields: dict[str, list]) -> None:
        for field, values in fields.items():
            getattr(self._input.contents, field).extend(values)

    def typed_only(self, fields: dict[str, list]) -> None:
        del self.message.raw_input_contents[:]
        self.typed(fields)

    def move_typed(self, field: str) -> None:
        values = list(self._typed)
        self._input.ClearField("contents")
        getattr(self._input.contents, field).extend(values)

    def drop_typed(self, count: int) -> None:
        del self._typed[-count:]

    def typed_values(self, values: list) -> None:
        typed = self._typed
        del typed[:]
        typed.extend(values)

    def outputs(self, names: list[str]) -> None:
        for name in names:
            self.message.outputs.add(name=name)

    def rows(self, count: int) -> None:
        raw = self.message.raw_input_contents
        for position, tensor in enumerate(self.message.inputs):
            row = raw[position][: len(raw[position]) // tensor.shape[0]]
            raw[position] = row * count
            tensor.shape[0] = count

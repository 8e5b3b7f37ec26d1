"""Golden vectors of a release's health check: TensorValue encoding, building vectors from a
real ONNX model with onnxruntime, and the comparison an agent's health check makes
(EDG-109)."""

from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pytest

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import tensor_pb2
from lepton_ai.edge.health_vectors import (
    DEFAULT_ABSOLUTE_TOLERANCE,
    DEFAULT_RELATIVE_TOLERANCE,
    build_vectors,
    check_vectors,
    decode_tensor,
    encode_tensor,
    make_vector,
    parse_vectors,
)

DataType = tensor_pb2.DataType


def onnx_model() -> bytes:
    """Y = 2 X + 1 (float), I = argmax(X, axis 1) (int64), S = T (string)."""
    from onnx import TensorProto, helper  # noqa: PLC0415

    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["X", "two"], ["D"]),
            helper.make_node("Add", ["D", "one"], ["Y"]),
            helper.make_node("ArgMax", ["X"], ["I"], axis=1, keepdims=0),
            helper.make_node("Identity", ["T"], ["S"]),
        ],
        "golden",
        [
            helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3]),
            helper.make_tensor_value_info("T", TensorProto.STRING, [None]),
        ],
        [
            helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 3]),
            helper.make_tensor_value_info("I", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("S", TensorProto.STRING, [None]),
        ],
        [two, one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


SAMPLES = [
    {"X": np.array([[0.5, 2.0, -1.0]], dtype=np.float32), "T": np.array(["café"], dtype=object)},
    {
        "X": np.array([[1.0, 0.0, 3.0], [9.0, 8.0, 7.0]], dtype=np.float32),
        "T": np.array([b"a", b""], dtype=object),
    },
]


def reference(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's function in numpy: what a correct release gives."""
    x = inputs["X"]
    return {"Y": x * 2 + 1, "I": x.argmax(axis=1).astype(np.int64), "S": inputs["T"]}


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> release_pb2.HealthCheckVectors:
    path = tmp_path_factory.mktemp("model") / "model.onnx"
    path.write_bytes(onnx_model())
    return build_vectors(path, SAMPLES)


# ---------------------------------------------------------------------------- tensors


@pytest.mark.parametrize(
    ("array", "data_type"),
    [
        (np.array([True, False]), DataType.DATA_TYPE_BOOL),
        (np.arange(6, dtype=np.uint8).reshape(2, 3), DataType.DATA_TYPE_UINT8),
        (np.arange(3, dtype=np.uint16), DataType.DATA_TYPE_UINT16),
        (np.arange(3, dtype=np.uint32), DataType.DATA_TYPE_UINT32),
        (np.arange(3, dtype=np.uint64), DataType.DATA_TYPE_UINT64),
        (np.arange(-3, 3, dtype=np.int8), DataType.DATA_TYPE_INT8),
        (np.arange(3, dtype=np.int16), DataType.DATA_TYPE_INT16),
        (np.arange(3, dtype=np.int32), DataType.DATA_TYPE_INT32),
        (np.arange(3, dtype=np.int64), DataType.DATA_TYPE_INT64),
        (np.array([0.5, -1], dtype=np.float16), DataType.DATA_TYPE_FP16),
        (np.arange(12, dtype=np.float32).reshape(2, 2, 3), DataType.DATA_TYPE_FP32),
        (np.array(3.25), DataType.DATA_TYPE_FP64),
        (np.zeros((0, 4), dtype=np.float32), DataType.DATA_TYPE_FP32),
    ],
)
def test_fixed_size_round_trip(array, data_type):
    value = encode_tensor("t", array)
    assert (value.data_type, list(value.shape)) == (data_type, list(array.shape))
    decoded = decode_tensor(value)
    assert decoded.dtype == array.dtype and np.array_equal(decoded, array)


def test_raw_contents_are_row_major_little_endian():
    value = encode_tensor("t", np.array([[1, 2], [3, 4]], dtype=">i4"))  # big-endian input
    assert value.raw_contents == struct.pack("<4i", 1, 2, 3, 4)
    transposed = np.array([[1, 2], [3, 4]], dtype=np.int16).T  # not C-contiguous
    assert encode_tensor("t", transposed).raw_contents == struct.pack("<4h", 1, 3, 2, 4)


def test_bytes_are_length_prefixed():
    value = encode_tensor("t", np.array(["ab", b"", "é"], dtype=object))
    assert value.data_type == DataType.DATA_TYPE_BYTES
    assert value.raw_contents == b"\2\0\0\0ab" + b"\0\0\0\0" + b"\2\0\0\0\xc3\xa9"
    assert list(decode_tensor(value)) == [b"ab", b"", "é".encode()]
    assert encode_tensor("t", np.array(["x", "yz"])).raw_contents == b"\1\0\0\0x\2\0\0\0yz"


def test_bf16_travels_as_bit_patterns():
    patterns = np.array([0x3F80, 0xC000], dtype=np.uint16)  # 1.0, -2.0
    value = encode_tensor("t", patterns, DataType.DATA_TYPE_BF16)
    assert value.raw_contents == struct.pack("<2H", 0x3F80, 0xC000)
    assert np.array_equal(decode_tensor(value), patterns)


@pytest.mark.parametrize(
    "value",
    [
        release_pb2.TensorValue(
            name="t", data_type=DataType.DATA_TYPE_FP32, shape=[2], raw_contents=b"\0" * 7
        ),
        release_pb2.TensorValue(name="t", data_type=DataType.DATA_TYPE_UNSPECIFIED, shape=[0]),
        release_pb2.TensorValue(name="t", data_type=DataType.DATA_TYPE_INT8, shape=[-1]),
        release_pb2.TensorValue(
            name="t", data_type=DataType.DATA_TYPE_BOOL, shape=[1], raw_contents=b"\2"
        ),
        release_pb2.TensorValue(
            name="t", data_type=DataType.DATA_TYPE_BYTES, shape=[1], raw_contents=b"\1\0\0"
        ),
        release_pb2.TensorValue(
            name="t", data_type=DataType.DATA_TYPE_BYTES, shape=[1], raw_contents=b"\5\0\0\0ab"
        ),
        release_pb2.TensorValue(
            name="t", data_type=DataType.DATA_TYPE_BYTES, shape=[1], raw_contents=b"\1\0\0\0ab"
        ),
    ],
)
def test_malformed_tensors_are_refused(value):
    with pytest.raises(ValueError):
        decode_tensor(value)


def test_unsupported_array_types_are_refused():
    with pytest.raises(ValueError):
        encode_tensor("t", np.array([1 + 2j]))


# ---------------------------------------------------------------------------- building


def test_build_vectors_records_the_models_outputs(vectors):
    assert len(vectors.vectors) == 2
    first = vectors.vectors[1]
    inputs = {value.name: decode_tensor(value) for value in first.inputs}
    outputs = {value.name: decode_tensor(value) for value in first.expected_outputs}
    assert np.array_equal(inputs["X"], SAMPLES[1]["X"])
    assert np.array_equal(outputs["Y"], [[3, 1, 7], [19, 17, 15]])
    assert outputs["Y"].dtype == np.float32
    assert list(outputs["I"]) == [2, 0] and outputs["I"].dtype == np.int64
    assert list(outputs["S"]) == [b"a", b""]
    assert (first.absolute_tolerance, first.relative_tolerance) == (
        DEFAULT_ABSOLUTE_TOLERANCE,
        DEFAULT_RELATIVE_TOLERANCE,
    )
    assert list(decode_tensor(vectors.vectors[0].expected_outputs[2])) == ["café".encode()]


def test_build_vectors_from_bytes_with_chosen_outputs_and_tolerances():
    vectors = build_vectors(
        onnx_model(), SAMPLES[:1], outputs=["I"], absolute_tolerance=0.5, relative_tolerance=0
    )
    (vector,) = vectors.vectors
    assert [value.name for value in vector.expected_outputs] == ["I"]
    assert (vector.absolute_tolerance, vector.relative_tolerance) == (0.5, 0)


def test_vectors_of_exact_outputs_default_to_exact_equality():
    vector = make_vector({"x": np.array([1])}, {"label": np.array([b"cat"], dtype=object)})
    assert (vector.absolute_tolerance, vector.relative_tolerance) == (0, 0)


def test_build_vectors_needs_a_sample():
    with pytest.raises(ValueError):
        build_vectors(onnx_model(), [])


def test_vectors_survive_serialization(vectors):
    assert parse_vectors(vectors.SerializeToString()) == vectors
    with pytest.raises(ValueError):
        parse_vectors(b"\xff\xff\xff")


def test_the_sdk_imports_without_onnxruntime():
    """onnxruntime is imported only when vectors are built."""
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "import lepton_ai, lepton_ai.edge.health_vectors, lepton_ai.edge.releases\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- checking


def test_a_correct_release_passes(vectors):
    """EDG-109: every output within tolerance."""
    assert check_vectors(reference, vectors) == []


def test_float_outputs_pass_within_the_tolerance(vectors):
    def close(inputs):
        outputs = reference(inputs)
        outputs["Y"] = outputs["Y"] + np.float32(1e-5)  # within 1e-5 + 1e-4 * |y|
        return outputs

    assert check_vectors(close, vectors) == []


def test_float_outputs_outside_the_tolerance_fail(vectors):
    def drifted(inputs):
        outputs = reference(inputs)
        outputs["Y"] = outputs["Y"] * np.float32(1.01)
        return outputs

    mismatches = check_vectors(drifted, vectors)
    assert [(m.vector, m.output) for m in mismatches] == [(0, "Y"), (1, "Y")]
    assert "outside the tolerance" in str(mismatches[0])


def test_tolerance_formula_is_absolute_plus_relative():
    vector = make_vector(
        {}, {"y": np.array([100.0, 0.0])}, absolute_tolerance=0.5, relative_tolerance=0.01
    )
    vectors = release_pb2.HealthCheckVectors(vectors=[vector])
    assert check_vectors(lambda _: {"y": np.array([101.5, -0.5])}, vectors) == []
    assert check_vectors(lambda _: {"y": np.array([101.6, 0.0])}, vectors)
    assert check_vectors(lambda _: {"y": np.array([100.0, 0.51])}, vectors)


def test_nan_and_infinity_match_only_themselves():
    vector = make_vector({}, {"y": np.array([np.nan, np.inf, -np.inf])})
    vectors = release_pb2.HealthCheckVectors(vectors=[vector])
    assert check_vectors(lambda _: {"y": np.array([np.nan, np.inf, -np.inf])}, vectors) == []
    assert check_vectors(lambda _: {"y": np.array([0.0, np.inf, -np.inf])}, vectors)
    assert check_vectors(lambda _: {"y": np.array([np.nan, -np.inf, -np.inf])}, vectors)


def test_integer_and_bytes_outputs_are_exact_whatever_the_tolerance():
    vector = make_vector(
        {},
        {"i": np.array([1, 2]), "s": np.array([b"cat"], dtype=object)},
        absolute_tolerance=10,
        relative_tolerance=10,
    )
    vectors = release_pb2.HealthCheckVectors(vectors=[vector])
    ok = {"i": np.array([1, 2]), "s": np.array(["cat"], dtype=object)}  # str is its UTF-8
    assert check_vectors(lambda _: ok, vectors) == []
    wrong = check_vectors(
        lambda _: {"i": np.array([1, 3]), "s": np.array([b"dog"], dtype=object)}, vectors
    )
    assert [m.output for m in wrong] == ["i", "s"]


def test_bf16_outputs_compare_as_values():
    vector = make_vector({}, {"y": np.array([1.0], dtype=np.float32)})
    vector.expected_outputs[0].CopyFrom(
        encode_tensor("y", np.array([0x3F80], dtype=np.uint16), DataType.DATA_TYPE_BF16)
    )
    vectors = release_pb2.HealthCheckVectors(vectors=[vector])
    assert check_vectors(lambda _: {"y": np.array([0x3F80], dtype=np.uint16)}, vectors) == []
    assert check_vectors(lambda _: {"y": np.array([1.0], dtype=np.float32)}, vectors) == []
    assert check_vectors(lambda _: {"y": np.array([2.0], dtype=np.float32)}, vectors)


@pytest.mark.parametrize(
    ("change", "output", "says"),
    [
        (lambda o: o.pop("I"), "I", "no such output"),
        (lambda o: o.update(Y=o["Y"].reshape(-1)), "Y", "shape"),
        (lambda o: o.update(Y=o["Y"].astype(np.float64)), "Y", "data type"),
        (lambda o: o.update(I=o["I"].astype(np.int32)), "I", "data type"),
        (lambda o: o.update(S=np.array(["x"] * len(o["S"]), dtype=object)), "S", "differ"),
    ],
)
def test_wrong_outputs_are_mismatches(vectors, change, output, says):
    def broken(inputs):
        outputs = reference(inputs)
        change(outputs)
        return outputs

    mismatches = check_vectors(broken, vectors)
    assert {(m.vector, m.output) for m in mismatches} == {(0, output), (1, output)}
    assert says in mismatches[0].description


def test_a_failing_run_is_a_mismatch(vectors):
    def crash(_inputs):
        raise RuntimeError("session lost")

    mismatches = check_vectors(crash, vectors)
    assert [(m.vector, m.output) for m in mismatches] == [(0, ""), (1, "")]
    assert "session lost" in mismatches[0].description


def test_outputs_not_listed_are_not_compared(vectors):
    def extra(inputs):
        return {**reference(inputs), "unlisted": np.array([42])}

    assert check_vectors(extra, vectors) == []


def test_empty_or_malformed_vectors_fail():
    assert check_vectors(reference, release_pb2.HealthCheckVectors())
    no_outputs = release_pb2.HealthCheckVectors(vectors=[release_pb2.HealthCheckVector()])
    assert check_vectors(reference, no_outputs)
    malformed = release_pb2.HealthCheckVectors(
        vectors=[
            release_pb2.HealthCheckVector(
                expected_outputs=[
                    release_pb2.TensorValue(name="y", data_type=DataType.DATA_TYPE_FP32, shape=[1])
                ]
            )
        ]
    )
    (mismatch,) = check_vectors(lambda _: {"y": np.zeros(1, np.float32)}, malformed)
    assert "malformed" in mismatch.description

"""Generated requests for every RPC a server serves: random bytes, mutated valid encodings and
messages built from the descriptors by hypothesis. A client's mistake must never be UNKNOWN
or INTERNAL, never hang a call that is not a watch, and never take the server down
(spec/general.md, GEN-003); UNAVAILABLE only with the reason the spec gives it.

    make fuzz                                               # 100,000 requests
    PYTHONPATH=tests .venv/bin/python -m support.rpc_fuzz --examples 5000 --seed 7

`make test` runs a slice (tests/server/runtime/test_fuzz.py). At the end, every resource the
top-level lists (datasets, models, training jobs, devices, …) hold must have been named by a
write that succeeded: no refused request left one behind (GEN-004). What a refused request
might leave inside those (a partial version) is for the layers' own tests."""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import pkgutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor as d
from google.protobuf import message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import lepton

# Codes a client's mistake must never get. UNAVAILABLE is one unless the server gave it with
# an ErrorInfo reason: a model the fuzzer itself unloaded is MODEL_NOT_READY, as specified.
BUGS = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
# Verbs of methods that only read (spec/general.md GEN-016).
READS = ("Get", "List", "Watch", "Read", "Download", "Stream", "Compute", "Validate", "Stat")
# Server streams read this long: a watch with nothing to report waits, by design.
STREAM_SECONDS = 2.0
CALL_SECONDS = 10.0
# Strings that reach past the first checks: resource names of every layer, and hostile ones.
NAMES = [
    "",
    "*",
    "-",
    # Ids a Create accepts, so that some creates succeed and later calls find what they made.
    "d",
    "m",
    "t",
    "datasets/d",
    "datasets/d/versions/v1",
    "datasets/d/tags/latest",
    "models/m",
    "models/m/versions/1",
    "add_sub_fp32",
    "identity_bytes",
    "trainingJobs/t",
    "devices/x",
    "fleets/f",
    "projects/p",
    "../../etc/passwd",
    "a" * 300,
    "\x00",
    "π✓",
    "file:///etc/passwd",
    "s3://bucket/key",
    'name = "x" AND labels.a:*',
]


def services() -> list[d.ServiceDescriptor]:
    """Every service of the standard's generated bindings."""
    found = {}
    for module in pkgutil.walk_packages(lepton.__path__, "lepton."):
        if module.name.endswith("_pb2"):
            file = importlib.import_module(module.name).DESCRIPTOR
            for service in file.services_by_name.values():
                found[service.full_name] = service
    return [found[name] for name in sorted(found)]


def _scalar(f: d.FieldDescriptor) -> st.SearchStrategy[Any]:
    t = f.type
    if t == d.FieldDescriptor.TYPE_STRING:
        return st.one_of(st.sampled_from(NAMES), st.text(max_size=24))
    if t == d.FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == d.FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (d.FieldDescriptor.TYPE_FLOAT, d.FieldDescriptor.TYPE_DOUBLE):
        return st.floats(width=32 if t == d.FieldDescriptor.TYPE_FLOAT else 64)
    if t == d.FieldDescriptor.TYPE_ENUM:
        numbers = [v.number for v in f.enum_type.values]
        return st.one_of(st.sampled_from(numbers), st.integers(-3, max(numbers) + 3))
    unsigned = t in (
        d.FieldDescriptor.TYPE_UINT32,
        d.FieldDescriptor.TYPE_UINT64,
        d.FieldDescriptor.TYPE_FIXED32,
        d.FieldDescriptor.TYPE_FIXED64,
    )
    wide = t in (
        d.FieldDescriptor.TYPE_INT64,
        d.FieldDescriptor.TYPE_UINT64,
        d.FieldDescriptor.TYPE_SINT64,
        d.FieldDescriptor.TYPE_FIXED64,
        d.FieldDescriptor.TYPE_SFIXED64,
    )
    bits = 64 if wide else 32
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    edges = [low, high, 0, 1, -1] if not unsigned else [low, high, 1]
    small = st.integers(max(low, -5), 100)
    return st.one_of(st.sampled_from(edges), st.integers(low, high), small)


@functools.cache
def messages(descriptor: d.Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of `descriptor` with any subset of their fields set (nested to depth 3)."""
    cls = message_factory.GetMessageClass(descriptor)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for f in descriptor.fields:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            entry = f.message_type.fields_by_name
            key, value = entry["key"], entry["value"]
            if value.message_type is not None:
                inner = messages(value.message_type, depth + 1)
            else:
                inner = _scalar(value)
            fields[f.name] = st.dictionaries(_scalar(key), inner, max_size=3)
            continue
        if f.message_type is not None:
            if depth >= 3:
                continue
            item = messages(f.message_type, depth + 1)
        else:
            item = _scalar(f)
        fields[f.name] = st.lists(item, max_size=3) if f.is_repeated else item

    def build(values: dict[str, Any]) -> Any:
        message = cls()
        for name, value in values.items():
            target = getattr(message, name)
            f = descriptor.fields_by_name[name]
            if isinstance(value, dict):
                for k, v in value.items():
                    if hasattr(v, "SerializeToString"):
                        target[k].CopyFrom(v)
                    else:
                        target[k] = v
            elif isinstance(value, list):
                for v in value:
                    target.add().CopyFrom(v) if f.message_type else target.append(v)
            elif f.message_type is not None:
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries({}, optional=fields).map(build)


@st.composite
def _mutated(draw: st.DrawFn, descriptor: d.Descriptor) -> bytes:
    """A valid encoding with bytes flipped, cut, inserted or repeated."""
    data = bytearray(draw(messages(descriptor)).SerializeToString())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        if action == "flip" and data:
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = data[max(0, at - 8) : at]
    return bytes(data)


def payloads(descriptor: d.Descriptor) -> st.SearchStrategy[tuple[str, bytes]]:
    """(kind, bytes) of one request message."""
    return st.one_of(
        st.tuples(st.just("random bytes"), st.binary(max_size=96)),
        st.tuples(st.just("mutated encoding"), _mutated(descriptor)),
        st.tuples(st.just("message"), messages(descriptor).map(lambda m: m.SerializeToString())),
    )


@dataclass
class Outcome:
    """Codes by (method, kind), and the findings: calls answered with a code in BUGS or an
    UNAVAILABLE without a reason, or a non-watch call that did not end."""

    codes: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    findings: list[tuple[str, str, str, str]] = field(default_factory=list)
    calls: int = 0
    # Every resource name the response of a successful write named.
    created: set[str] = field(default_factory=set)


def _has_reason(error: grpc.RpcError) -> bool:
    """Whether the status carries a google.rpc.ErrorInfo of the standard's domain."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.domain == "lepton.ai" and bool(info.reason)
    return False


def _call(channel: grpc.Channel, method: d.MethodDescriptor, requests: list[bytes]) -> bytes | None:
    """The call's response bytes when it has one response; None for a server stream."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    if method.server_streaming:
        if method.client_streaming:
            call = channel.stream_stream(path)(iter(requests), timeout=STREAM_SECONDS)
        else:
            call = channel.unary_stream(path)(requests[0], timeout=STREAM_SECONDS)
        for index, _ in enumerate(call):
            if index >= 5:
                call.cancel()
                break
        return None
    if method.client_streaming:
        return channel.stream_unary(path)(iter(requests), timeout=CALL_SECONDS)
    return channel.unary_unary(path)(requests[0], timeout=CALL_SECONDS)


def _names(message: Any) -> Iterator[str]:
    """Every `name` field of `message` and of the messages it holds."""
    for field_descriptor, value in message.ListFields():
        if field_descriptor.message_type is None:
            if field_descriptor.name == "name" and isinstance(value, str):
                yield value
            continue
        if field_descriptor.message_type.GetOptions().map_entry:
            continue
        for item in value if field_descriptor.label == field_descriptor.LABEL_REPEATED else [value]:
            yield from _names(item)


def top_level_lists() -> list[d.MethodDescriptor]:
    """The unary List methods of collections without a parent (datasets, models, devices, …)."""
    return [
        m
        for s in services()
        for m in s.methods
        if m.name.startswith("List")
        and not m.server_streaming
        and "parent" not in m.input_type.fields_by_name
        and "page_token" in m.input_type.fields_by_name
    ]


def listed(address: str) -> set[str]:
    """Every resource the top-level lists hold."""
    names: set[str] = set()
    with grpc.insecure_channel(address) as channel:
        for method in top_level_lists():
            request = message_factory.GetMessageClass(method.input_type)()
            response_class = message_factory.GetMessageClass(method.output_type)
            path = f"/{method.containing_service.full_name}/{method.name}"
            while True:
                try:
                    raw = channel.unary_unary(path)(
                        request.SerializeToString(), timeout=CALL_SECONDS
                    )
                except grpc.RpcError as error:
                    if error.code() != grpc.StatusCode.UNIMPLEMENTED:  # a service not hosted
                        raise
                    break
                answer = response_class.FromString(raw)
                for field_descriptor, items in answer.ListFields():
                    if field_descriptor.label == field_descriptor.LABEL_REPEATED:
                        names.update(getattr(item, "name", "") for item in items)
                if not answer.next_page_token:
                    break
                request.page_token = answer.next_page_token
    return names - {""}


def fuzz(address: str, examples: int, seed: int = 0) -> Outcome:
    """Send `examples` generated calls to the server at `address`; what they were answered."""
    outcome = Outcome()
    methods = [m for s in services() for m in s.methods]
    channel = grpc.insecure_channel(address)

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def one_call(data: st.DataObject) -> None:
        method = data.draw(st.sampled_from(methods))
        count = data.draw(st.integers(1, 3)) if method.client_streaming else 1
        drawn = [data.draw(payloads(method.input_type)) for _ in range(count)]
        kind = drawn[0][0]
        name = f"{method.containing_service.name}.{method.name}"
        code = grpc.StatusCode.OK
        try:
            answer = _call(channel, method, [payload for _, payload in drawn])
            # What a write that succeeded names it made (reads name what exists already).
            if answer is not None and not method.name.startswith(READS):
                response = message_factory.GetMessageClass(method.output_type).FromString(answer)
                outcome.created.update(_names(response))
        except grpc.RpcError as error:
            code = error.code()
            watch = method.server_streaming and method.name.startswith(("Watch", "Stream"))
            if (
                code in BUGS
                or (code == grpc.StatusCode.DEADLINE_EXCEEDED and not watch)
                or (code == grpc.StatusCode.UNAVAILABLE and not _has_reason(error))
            ):
                outcome.findings.append((name, kind, code.name, (error.details() or "")[:200]))
        outcome.codes[(name, code.name)] += 1
        outcome.calls += 1

    # The seed makes a run repeatable.
    hypothesis_seed(seed)(one_call)()
    channel.close()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    from lepton_conformance.suites.inference.model_set import write_model_set  # noqa: PLC0415
    from support.servers import start_server  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="lepton-fuzz-") as tmp:
        root = Path(tmp)
        (root / "models").mkdir()
        write_model_set(root / "models")
        args = ["--model-repository", str(root / "models"), "--flight-address", "127.0.0.1:0"]
        server = start_server(args, root / "data")
        try:
            before = listed(server.address)
            outcome = fuzz(server.address, options.examples, options.seed)
            alive = server.process.poll() is None
            left = listed(server.address) - before - outcome.created if alive else set()
        finally:
            server.stop()
    by_code = collections.Counter()
    for (_, code), count in outcome.codes.items():
        by_code[code] += count
    print(f"{outcome.calls} calls, {len({m for m, _ in outcome.codes})} methods: {dict(by_code)}")
    for finding, count in collections.Counter(outcome.findings).most_common(50):
        print(f"  {count} x {finding}")
    print(f"left behind by refused calls: {sorted(left) or 'nothing'}")
    print(f"findings: {len(outcome.findings)}; server alive at the end: {alive}")
    return 0 if alive and not outcome.findings and not left else 1


if __name__ == "__main__":
    sys.exit(main())

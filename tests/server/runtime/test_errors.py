"""Domain errors reach the client as the right status with ErrorInfo and BadRequest."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import grpc
import pytest
from google.protobuf import wrappers_pb2
from grpc import aio
from support.hosting import ECHO_SERVICE, echo_service, hosted
from support.status_details import bad_request, error_info

from lepton_ai import LeptonAIError, from_rpc_error
from lepton_server.config import ServerConfig
from lepton_server.runtime.error_mapping import ErrorMappingServer
from lepton_server.runtime.errors import FieldViolation, InvalidArgument, NotFound, invalid_field


async def _raise_invalid(request: bytes, _context) -> bytes:
    raise InvalidArgument(
        reason="SHAPE_MISMATCH",
        message="input 'x' has shape [3], the model wants [2]",
        metadata={"input": "x"},
        violations=[FieldViolation("inputs[0].shape", "expected [2], got [3]")],
    )


async def _raise_bug(request: bytes, _context) -> bytes:
    raise ZeroDivisionError("a server bug")


async def _stream_then_not_found(request: bytes, _context):
    yield b"first"
    raise NotFound(reason="RESOURCE_NOT_FOUND", message="gone", metadata={"resource_name": "x"})


@pytest.fixture
def serve(tmp_path):
    """Host the echo test service with the given behaviours; yield its address."""
    with contextlib.ExitStack() as stack:

        def start(behavior, stream_behavior=None) -> str:
            echo = echo_service(behavior, stream_behavior)
            return stack.enter_context(hosted(ServerConfig(data_dir=tmp_path), [echo]))

        yield start


def _unary_error(address: str) -> grpc.RpcError:
    with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as error:
        channel.unary_unary(f"/{ECHO_SERVICE}/Call")(b"x", timeout=10)
    return error.value


def test_domain_error_becomes_its_status_with_error_info_and_bad_request(serve):
    error = _unary_error(serve(_raise_invalid))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "input 'x' has shape [3], the model wants [2]"
    info = error_info(error)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "SHAPE_MISMATCH",
        "lepton.ai",
        {"input": "x"},
    )
    violations = bad_request(error).field_violations
    assert [(v.field, v.description) for v in violations] == [
        ("inputs[0].shape", "expected [2], got [3]")
    ]


def test_unexpected_exception_is_internal_and_hides_the_cause(serve):
    error = _unary_error(serve(_raise_bug))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error_info(error).reason == "INTERNAL_ERROR"
    assert "ZeroDivisionError" not in (error.details() or "")


def test_error_in_a_stream_ends_it_with_the_status(serve):
    address = serve(_raise_bug, _stream_then_not_found)
    with grpc.insecure_channel(address) as channel:
        responses = channel.unary_stream(f"/{ECHO_SERVICE}/Stream")(b"x", timeout=10)
        assert next(responses) == b"first"
        with pytest.raises(grpc.RpcError) as error:
            next(responses)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(error.value).reason == "RESOURCE_NOT_FOUND"


def test_invalid_field_names_the_field_path():
    error = invalid_field("page_size", "must not be negative")
    status = error.to_status_proto()
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert error.reason == "INVALID_FIELD"
    assert [v.field for v in error.violations] == ["page_size"]
    assert str(error) == "INVALID_ARGUMENT [INVALID_FIELD]: page_size: must not be negative"


def test_sdk_surfaces_the_reason_and_violations_as_a_typed_exception(serve):
    sdk_error = from_rpc_error(_unary_error(serve(_raise_invalid)))
    assert isinstance(sdk_error, LeptonAIError)
    assert sdk_error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sdk_error.reason == "SHAPE_MISMATCH"
    assert sdk_error.field_violations == [("inputs[0].shape", "expected [2], got [3]")]
    assert str(sdk_error).startswith("INVALID_ARGUMENT [SHAPE_MISMATCH]: ")


class _ClientFirst:
    """A call observer that, as each call ends, waits a moment for its client to have the
    status: it records whether the client had it before the observer was told."""

    def __init__(self) -> None:
        self.client_done = threading.Event()
        self.client_first: list[bool] = []

    def for_method(self, method: str, kind: str) -> _ClientFirst:
        return self

    def started(self, context) -> None:
        return None

    def ended(self, start, code, reason, request, response) -> None:
        # Blocks the server's loop: a status not yet sent cannot reach the client meanwhile.
        self.client_first.append(self.client_done.wait(0.5))


@contextlib.contextmanager
def _observed_server(observer: _ClientFirst):
    """A grpc.aio server on loopback, registered through the error mapping with `observer`:
    `Call` raises NotFound, `Fail` a bug, `Stream` NotFound after one answer, and `Parse`
    takes a StringValue."""

    async def not_found(request, context):
        raise NotFound(reason="RESOURCE_NOT_FOUND", message="gone")

    async def bug(request, context):
        raise ZeroDivisionError("a server bug")

    handlers = {
        "Call": grpc.unary_unary_rpc_method_handler(not_found),
        "Fail": grpc.unary_unary_rpc_method_handler(bug),
        "Stream": grpc.unary_stream_rpc_method_handler(_stream_then_not_found),
        "Parse": grpc.unary_unary_rpc_method_handler(
            not_found, request_deserializer=wrappers_pb2.StringValue.FromString
        ),
    }
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[aio.Server, int]:
        server = aio.server()
        ErrorMappingServer(server, (), [observer]).add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(ECHO_SERVICE, handlers),)
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("Call", grpc.StatusCode.NOT_FOUND),
        ("Fail", grpc.StatusCode.INTERNAL),
        ("Stream", grpc.StatusCode.NOT_FOUND),
        ("Parse", grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_observers_are_told_of_a_failed_call_before_its_client_has_the_status(method, code):
    """GEN-101: a client that reads the metrics as soon as its call failed finds it counted,
    whether the handler raised, the server had a bug, a stream failed, or the request did not
    parse."""
    observer = _ClientFirst()
    with _observed_server(observer) as address, grpc.insecure_channel(address) as channel:
        with pytest.raises(grpc.RpcError) as error:
            try:
                if method == "Stream":
                    call = channel.unary_stream(f"/{ECHO_SERVICE}/Stream")(b"", timeout=10)
                    assert next(call) == b"first"
                    next(call)
                else:
                    payload = b"\xff\xff\xff" if method == "Parse" else b""
                    channel.unary_unary(f"/{ECHO_SERVICE}/{method}")(payload, timeout=10)
            finally:
                observer.client_done.set()
        assert error.value.code() == code
    assert observer.client_first == [False]

"""An annotation server shared by a test module: `lepton serve --services data,annotation`
with three principals, a dataset to label, and stubs per principal."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pyarrow as pa
import pytest
from support.servers import start_server

from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton_ai.data import DataManager

TOKENS = {"ann": "alice", "bob-token": "bob", "carol-token": "carol"}


def png(width: int, height: int) -> bytes:
    """A real PNG of `width` x `height` grey pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


@dataclass
class AnnotationServer:
    address: str
    data: DataManager
    version: str

    def stub(self, token: str = "ann") -> pb_grpc.AnnotationServiceStub:
        channel = grpc.insecure_channel(self.address)
        return _Authed(pb_grpc.AnnotationServiceStub(channel), token)


class _Authed:
    """A stub whose calls carry a bearer token."""

    def __init__(self, stub: pb_grpc.AnnotationServiceStub, token: str) -> None:
        self._stub, self._metadata = stub, (("authorization", f"Bearer {token}"),)

    def __getattr__(self, name: str):
        method = getattr(self._stub, name)
        return lambda request, **kw: method(request, metadata=self._metadata, **kw)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AnnotationServer]:
    root = tmp_path_factory.mktemp("annotation")
    token_file = root / "tokens"
    token_file.write_text("".join(f"{t} {p}\n" for t, p in TOKENS.items()))
    process = start_server(
        ["--services", "data,annotation", "--auth-tokens", str(token_file)], root / "data"
    )
    data = DataManager.connect(process.address, token="ann", progress=False)
    table = pa.table(
        {
            "text": [f"review number {i}" for i in range(6)],
            "image": [png(40 + i, 20) for i in range(6)],
            "stars": list(range(6)),
        }
    )
    version = data.load_data(table, "datasets/reviews").name
    try:
        yield AnnotationServer(process.address, data, version)
    finally:
        data.close()
        process.stop()

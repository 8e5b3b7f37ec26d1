"""A bare grpc.aio server that answers ModelInfer with a fixed, pre-serialized response.

The baseline of benchmarks/inference.py: the fastest a Python gRPC server can answer with the
same payload, without parsing the request or touching a model.

    python benchmarks/echo_server.py RESPONSE_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc
from grpc import aio

SERVICES = ("lepton.inference.v1.InferenceService", "inference.GRPCInferenceService")
LIMIT = 128 * 1024 * 1024


async def serve(response: bytes) -> None:
    async def model_infer(_request: bytes, _context: aio.ServicerContext) -> bytes:
        return response

    handler = grpc.unary_unary_rpc_method_handler(model_infer)
    server = aio.server(
        options=[
            ("grpc.max_receive_message_length", LIMIT),
            ("grpc.max_send_message_length", LIMIT),
        ]
    )
    server.add_generic_rpc_handlers(
        tuple(grpc.method_handlers_generic_handler(s, {"ModelInfer": handler}) for s in SERVICES)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"echo: listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]).read_bytes()))

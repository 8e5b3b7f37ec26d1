"""A grpc.aio DatasetService whose WriteVersion keeps what it receives and does nothing else:
the floor of benchmarks/data.py's write, what receiving the stream through Python gRPC costs
before any parsing, digest or disk write.

    python benchmarks/drain_server.py
"""

from __future__ import annotations

import asyncio

from grpc import aio

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc

LIMIT = 64 * 1024 * 1024


class DrainService(pb_grpc.DatasetServiceServicer):
    async def WriteVersion(self, requests, context) -> pb.WriteVersionResponse:
        received = [message.arrow_data async for message in requests]
        del received
        return pb.WriteVersionResponse()


async def main() -> None:
    server = aio.server(options=[("grpc.max_receive_message_length", LIMIT)])
    pb_grpc.add_DatasetServiceServicer_to_server(DrainService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"drain: listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())

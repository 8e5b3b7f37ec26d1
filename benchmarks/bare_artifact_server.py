"""The baseline of benchmarks/registry.py: a grpc.aio ModelRegistryService whose upload only
writes the chunks it receives to a new file and whose download only streams it back, in
3 MiB chunks — what a user would write instead of a registry, with no digest, no resume and
no metadata.

    python benchmarks/bare_artifact_server.py DIRECTORY
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from grpc import aio

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.type.v1 import artifact_pb2

CHUNK = 3 * 1024 * 1024
LIMIT = 8 * 1024 * 1024


class BareArtifacts(pb_grpc.ModelRegistryServiceServicer):
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.uploads = 0

    @property
    def path(self) -> Path:
        """The file of the latest upload."""
        return self.directory / f"bare-artifact-{self.uploads}.bin"

    async def UploadModelVersionArtifact(self, requests, context):
        # A new file per upload, as a store keeps every artifact: overwriting one file would
        # reuse its cached pages and spare the page-cache reclaim the registry pays.
        self.uploads += 1
        size = 0
        with self.path.open("wb") as sink:
            async for message in requests:
                if message.HasField("chunk"):
                    sink.write(message.chunk.data)
                    size += len(message.chunk.data)
        return pb.UploadModelVersionArtifactResponse(committed_offset=size)

    async def DownloadModelVersionArtifact(self, request, context):
        yield pb.DownloadModelVersionArtifactResponse(artifact=artifact_pb2.ArtifactDescriptor())
        offset = 0
        with self.path.open("rb") as source:
            while data := source.read(CHUNK):
                yield pb.DownloadModelVersionArtifactResponse(
                    chunk=artifact_pb2.ArtifactChunk(offset=offset, data=data)
                )
                offset += len(data)


async def main(directory: Path) -> None:
    server = aio.server(
        options=[
            ("grpc.max_receive_message_length", LIMIT),
            ("grpc.max_send_message_length", LIMIT),
        ]
    )
    pb_grpc.add_ModelRegistryServiceServicer_to_server(BareArtifacts(directory), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"bare: listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))

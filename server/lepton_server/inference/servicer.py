"""The gRPC face of the inference engine, mounted as `lepton.inference.v1.InferenceService`
and as the Open Inference Protocol's `inference.GRPCInferenceService` (INF-001, INF-002)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from grpc import aio

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_server.inference import wire
from lepton_server.inference.engine import InferenceEngine
from lepton_server.inference.replicas import WorkerEngines
from lepton_server.runtime.errors import LeptonError

SERVICE = pb.DESCRIPTOR.services_by_name["InferenceService"]
SERVICE_NAMES = (SERVICE.full_name, "inference.GRPCInferenceService")
PRESERIALIZED = frozenset({"ModelInfer", "ModelStreamInfer"})


class InferenceServicer:
    """Turns each RPC into one engine call; errors stay LeptonError, which the error mapping
    every handler is wrapped in at registration (runtime/error_mapping.py) turns into a status,
    except on the stream, where they travel in-band (INF-050, INF-051)."""

    def __init__(self, engine: InferenceEngine, replicas: WorkerEngines | None = None) -> None:
        self.engine = engine
        # The engines of this server's worker processes, on the primary of several.
        self.replicas = replicas

    async def ServerLive(
        self, request: pb.ServerLiveRequest, context: aio.ServicerContext
    ) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(
        self, request: pb.ServerReadyRequest, context: aio.ServicerContext
    ) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.engine.ready)

    async def ModelReady(
        self, request: pb.ModelReadyRequest, context: aio.ServicerContext
    ) -> pb.ModelReadyResponse:
        return pb.ModelReadyResponse(ready=self.engine.model_ready(request))

    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: aio.ServicerContext
    ) -> pb.ServerMetadataResponse:
        return self.engine.server_metadata()

    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: aio.ServicerContext
    ) -> pb.ModelMetadataResponse:
        return self.engine.model_metadata(request)

    async def ModelInfer(self, request: wire.InferRequest, context: aio.ServicerContext) -> bytes:
        return await self.engine.infer(request.message, request.raw)

    async def ModelStreamInfer(
        self, requests: AsyncIterator[wire.InferRequest], context: aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        # Requests run concurrently; responses leave in request order (INF-053).
        answers: asyncio.Queue[asyncio.Task[bytes] | None] = asyncio.Queue()

        async def read() -> None:
            try:
                async for request in requests:
                    await answers.put(asyncio.ensure_future(self._stream_one(request)))
            finally:
                await answers.put(None)

        reader = asyncio.ensure_future(read())
        try:
            while (task := await answers.get()) is not None:
                yield await task
            await reader
        finally:
            reader.cancel()

    async def _stream_one(self, request: wire.InferRequest) -> bytes:
        try:
            return wire.stream_response(await self.engine.infer(request.message, request.raw))
        except LeptonError as error:
            return pb.ModelStreamInferResponse(error_message=str(error)).SerializeToString()

    async def ModelStatistics(
        self, request: pb.ModelStatisticsRequest, context: aio.ServicerContext
    ) -> pb.ModelStatisticsResponse:
        own = self.engine.statistics(request)
        return own if self.replicas is None else await self.replicas.statistics(request, own)

    async def RepositoryIndex(
        self, request: pb.RepositoryIndexRequest, context: aio.ServicerContext
    ) -> pb.RepositoryIndexResponse:
        return self.engine.index(request)

    async def RepositoryModelLoad(
        self, request: pb.RepositoryModelLoadRequest, context: aio.ServicerContext
    ) -> pb.RepositoryModelLoadResponse:
        await self.engine.load(request)
        if self.replicas is not None:
            await self.replicas.load(request)
        return pb.RepositoryModelLoadResponse()

    async def RepositoryModelUnload(
        self, request: pb.RepositoryModelUnloadRequest, context: aio.ServicerContext
    ) -> pb.RepositoryModelUnloadResponse:
        self.engine.unload(request)
        if self.replicas is not None:
            await self.replicas.unload(request)
        return pb.RepositoryModelUnloadResponse()

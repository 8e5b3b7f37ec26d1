"""The gRPC face of pipeline runs: lepton.data.v1.ProcessingService."""

from __future__ import annotations

from grpc import aio

from lepton.data.v1 import processing_service_pb2 as pb
from lepton.data.v1 import processing_service_pb2_grpc as pb_grpc
from lepton_server.data.processing import Processing


class ProcessingServicer(pb_grpc.ProcessingServiceServicer):
    """One Processing call per RPC; errors stay LeptonError for the error mapping."""

    def __init__(self, processing: Processing) -> None:
        self.processing = processing

    async def ValidatePipeline(self, request, context: aio.ServicerContext):
        return self.processing.validate(request)

    async def CreatePipelineRun(self, request, context: aio.ServicerContext):
        return pb.CreatePipelineRunResponse(pipeline_run=self.processing.create(request))

    async def GetPipelineRun(self, request, context: aio.ServicerContext):
        return pb.GetPipelineRunResponse(pipeline_run=self.processing.get(request.name))

    async def ListPipelineRuns(self, request, context: aio.ServicerContext):
        runs, token = self.processing.list(request)
        return pb.ListPipelineRunsResponse(pipeline_runs=runs, next_page_token=token)

    async def CancelPipelineRun(self, request, context: aio.ServicerContext):
        return pb.CancelPipelineRunResponse(pipeline_run=await self.processing.cancel(request.name))

    async def WatchPipelineRun(self, request, context: aio.ServicerContext):
        async for run in self.processing.watch(request.name):
            yield pb.WatchPipelineRunResponse(pipeline_run=run)

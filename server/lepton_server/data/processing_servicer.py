"""The gRPC face of pipeline runs: lepton.data.v1.ProcessingService."""

from __future__ import annotations

from grpc import aio

from lepton.data.v1 import processing_service_pb2 as pb
from lepton.data.v1 import processing_service_pb2_grpc as pb_grpc
from lepton_server.aip.jobs.rpcs import job_rpcs
from lepton_server.data.processing import Processing


class ProcessingServicer(pb_grpc.ProcessingServiceServicer):
    """One Processing call per RPC; errors stay LeptonError for the error mapping."""

    def __init__(self, processing: Processing) -> None:
        self.processing = processing

    async def ValidatePipeline(self, request, context: aio.ServicerContext):
        return self.processing.validate(request)

    async def CreatePipelineRun(self, request, context: aio.ServicerContext):
        return pb.CreatePipelineRunResponse(pipeline_run=self.processing.create(request))

    GetPipelineRun, ListPipelineRuns, CancelPipelineRun, WatchPipelineRun = job_rpcs(
        "PipelineRun", pb, lambda self: self.processing.runs
    )

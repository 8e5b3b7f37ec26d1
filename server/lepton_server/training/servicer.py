"""The gRPC face of training: lepton.training.v1.TrainingService, one domain call per RPC;
errors stay LeptonError for the host's error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from lepton.training.v1 import training_service_pb2 as pb
from lepton.training.v1 import training_service_pb2_grpc as pb_grpc
from lepton_server.aip.pagination import PageTokens
from lepton_server.training import trainer_catalogue
from lepton_server.training.training_jobs import TrainingJobs


class TrainingServicer(pb_grpc.TrainingServiceServicer):
    """Requests to TrainingJobs and their results to responses."""

    def __init__(self, jobs: TrainingJobs, tokens: PageTokens) -> None:
        self.jobs = jobs
        self.tokens = tokens

    async def ListTrainers(self, request, context: aio.ServicerContext):
        trainers, token = trainer_catalogue.list_trainers(self.tokens, request)
        return pb.ListTrainersResponse(trainers=trainers, next_page_token=token)

    async def CreateTrainingJob(self, request, context: aio.ServicerContext):
        return pb.CreateTrainingJobResponse(training_job=await self.jobs.create(request))

    async def GetTrainingJob(self, request, context: aio.ServicerContext):
        return pb.GetTrainingJobResponse(training_job=self.jobs.get(request.name))

    async def ListTrainingJobs(self, request, context: aio.ServicerContext):
        jobs, token = self.jobs.list(request)
        return pb.ListTrainingJobsResponse(training_jobs=jobs, next_page_token=token)

    async def CancelTrainingJob(self, request, context: aio.ServicerContext):
        return pb.CancelTrainingJobResponse(training_job=await self.jobs.cancel(request.name))

    async def PauseTrainingJob(self, request, context: aio.ServicerContext):
        return pb.PauseTrainingJobResponse(training_job=await self.jobs.pause(request.name))

    async def ResumeTrainingJob(self, request, context: aio.ServicerContext):
        return pb.ResumeTrainingJobResponse(training_job=await self.jobs.resume(request.name))

    async def DeleteTrainingJob(self, request, context: aio.ServicerContext):
        self.jobs.delete(request.name)
        return pb.DeleteTrainingJobResponse()

    async def WatchTrainingJob(
        self, request, context: aio.ServicerContext
    ) -> AsyncIterator[pb.WatchTrainingJobResponse]:
        async for job in self.jobs.watch(request.name):
            yield pb.WatchTrainingJobResponse(training_job=job)

    async def StreamTrainingJobLogs(self, request, context: aio.ServicerContext):
        async for response in self.jobs.stream_logs(request):
            yield response

    async def StreamTrainingJobMetrics(self, request, context: aio.ServicerContext):
        async for response in self.jobs.stream_metrics(request):
            yield response

    async def ListCheckpoints(self, request, context: aio.ServicerContext):
        checkpoints, token = self.jobs.list_checkpoints(request)
        return pb.ListCheckpointsResponse(checkpoints=checkpoints, next_page_token=token)

    async def GetCheckpoint(self, request, context: aio.ServicerContext):
        return pb.GetCheckpointResponse(checkpoint=self.jobs.get_checkpoint(request.name))

    async def DownloadCheckpoint(self, request, context: aio.ServicerContext):
        async for response in self.jobs.download_checkpoint(request):
            yield response

    async def DownloadTrainingJobOutput(self, request, context: aio.ServicerContext):
        async for response in self.jobs.download_output(request):
            yield response

    async def RegisterTrainingJobOutput(self, request, context: aio.ServicerContext):
        version = await self.jobs.register_output(request)
        return pb.RegisterTrainingJobOutputResponse(model_version=version)

"""The gRPC face of the registry: lepton.registry.v1.ModelRegistryService, one domain call
per RPC; errors stay LeptonError for the host's error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton_server.aip.jobs.rpcs import job_rpcs
from lepton_server.registry.aliases import Aliases
from lepton_server.registry.conversion_jobs import ConversionJobs
from lepton_server.registry.downloads import Downloads
from lepton_server.registry.events import EventLog
from lepton_server.registry.model_import_jobs import ModelImportJobs
from lepton_server.registry.models import Models
from lepton_server.registry.uploads import Uploads
from lepton_server.registry.version_attestations import VersionAttestations
from lepton_server.registry.versions import Versions
from lepton_server.runtime.errors import invalid_argument


def _out_of_sequence(description: str) -> Exception:
    return invalid_argument("UPLOAD_SEQUENCE_INVALID", "header", description)


class ModelRegistryServicer(pb_grpc.ModelRegistryServiceServicer):
    """Requests to the registry's domain objects and their results to responses."""

    def __init__(
        self,
        *,
        models: Models,
        versions: Versions,
        aliases: Aliases,
        uploads: Uploads,
        downloads: Downloads,
        events: EventLog,
        attestations: VersionAttestations,
        conversions: ConversionJobs,
        imports: ModelImportJobs,
    ) -> None:
        self.models = models
        self.versions = versions
        self.aliases = aliases
        self.uploads = uploads
        self.downloads = downloads
        self.events = events
        self.attestations = attestations
        self.conversions = conversions
        self.imports = imports

    async def CreateModel(self, request, context: aio.ServicerContext):
        return pb.CreateModelResponse(model=self.models.create(request))

    async def GetModel(self, request, context: aio.ServicerContext):
        return pb.GetModelResponse(model=self.models.get(request.name))

    async def ListModels(self, request, context: aio.ServicerContext):
        models, token = self.models.list(request)
        return pb.ListModelsResponse(models=models, next_page_token=token)

    async def UpdateModel(self, request, context: aio.ServicerContext):
        return pb.UpdateModelResponse(model=self.models.update(request))

    async def DeleteModel(self, request, context: aio.ServicerContext):
        self.models.delete(request)
        return pb.DeleteModelResponse()

    async def CreateModelVersion(self, request, context: aio.ServicerContext):
        return pb.CreateModelVersionResponse(model_version=self.versions.create(request))

    async def GetModelVersion(self, request, context: aio.ServicerContext):
        return pb.GetModelVersionResponse(model_version=self.versions.get(request.name))

    async def ListModelVersions(self, request, context: aio.ServicerContext):
        versions, token = self.versions.list(request)
        return pb.ListModelVersionsResponse(model_versions=versions, next_page_token=token)

    async def UpdateModelVersion(self, request, context: aio.ServicerContext):
        return pb.UpdateModelVersionResponse(model_version=self.versions.update(request))

    async def DeleteModelVersion(self, request, context: aio.ServicerContext):
        self.versions.delete(request)
        return pb.DeleteModelVersionResponse()

    async def UploadModelVersionArtifact(
        self,
        requests: AsyncIterator[pb.UploadModelVersionArtifactRequest],
        context: aio.ServicerContext,
    ) -> pb.UploadModelVersionArtifactResponse:
        first = await anext(requests, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise _out_of_sequence("the first message of an upload must be its header")
        session = await self.uploads.begin(first.header)
        if session.result is not None:
            return session.result  # READY already (a retry, or dedupe): nothing to send
        async for message in requests:
            if message.WhichOneof("payload") != "chunk":
                raise _out_of_sequence("only the first message of an upload is a header")
            await self.uploads.write(session, message.chunk)
            if session.result is not None:
                return session.result
        return await self.uploads.close(session)

    async def GetModelVersionUploadStatus(self, request, context: aio.ServicerContext):
        return await self.uploads.status(request.name)

    async def DownloadModelVersionArtifact(self, request, context: aio.ServicerContext):
        async for response in self.downloads.stream(request):
            yield response

    async def SetModelAlias(self, request, context: aio.ServicerContext):
        model, previous = self.aliases.set(request)
        return pb.SetModelAliasResponse(model=model, previous_model_version=previous)

    async def DeleteModelAlias(self, request, context: aio.ServicerContext):
        model, previous = self.aliases.delete(request)
        return pb.DeleteModelAliasResponse(model=model, previous_model_version=previous)

    async def WatchModelEvents(self, request, context: aio.ServicerContext):
        async for response in self.events.watch(request):
            yield response

    async def AttestModelVersion(self, request, context: aio.ServicerContext):
        return pb.AttestModelVersionResponse(model_version=self.attestations.attest(request))

    async def CreateConversionJob(self, request, context: aio.ServicerContext):
        return pb.CreateConversionJobResponse(conversion_job=self.conversions.create(request))

    GetConversionJob, ListConversionJobs, CancelConversionJob, WatchConversionJob = job_rpcs(
        "ConversionJob", pb, lambda self: self.conversions.jobs
    )

    async def CreateModelImportJob(self, request, context: aio.ServicerContext):
        return pb.CreateModelImportJobResponse(model_import_job=self.imports.create(request))

    GetModelImportJob, ListModelImportJobs, CancelModelImportJob, WatchModelImportJob = job_rpcs(
        "ModelImportJob", pb, lambda self: self.imports.jobs
    )

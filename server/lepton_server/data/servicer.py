"""The gRPC face of the dataset catalog: lepton.data.v1.DatasetService."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from grpc import aio

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton_server.data.arrow_stream import read_response
from lepton_server.data.dataset_catalog import DatasetCatalog
from lepton_server.data.dataset_jobs import EXPORT, IMPORT, DatasetJobs
from lepton_server.data.flight import DatasetFlightServer
from lepton_server.runtime.errors import Unimplemented, invalid_field

# Optional features (spec/data.md §10) this server does not implement yet, by RPC.
# (`data.flight` depends on configuration: see IssueFlightTicket.)
MISSING_FEATURES: dict[str, str] = {}


def _unsupported(feature: str) -> Unimplemented:
    return Unimplemented(
        reason="FEATURE_NOT_SUPPORTED",
        message=f"this server does not implement the optional feature {feature!r}",
        metadata={"feature": feature},
    )


class DatasetServicer(pb_grpc.DatasetServiceServicer):
    """One catalog call per RPC; errors stay LeptonError for the error mapping."""

    def __init__(
        self,
        catalog: DatasetCatalog,
        jobs: DatasetJobs,
        flight: DatasetFlightServer | None = None,
    ) -> None:
        self.catalog = catalog
        self.jobs = jobs
        self.flight = flight  # None: the server runs no Flight endpoint

    async def CreateDataset(self, request, context: aio.ServicerContext):
        return pb.CreateDatasetResponse(dataset=self.catalog.create_dataset(request))

    async def GetDataset(self, request, context: aio.ServicerContext):
        return pb.GetDatasetResponse(dataset=self.catalog.get_dataset(request.name))

    async def ListDatasets(self, request, context: aio.ServicerContext):
        datasets, token = self.catalog.list_datasets(request)
        return pb.ListDatasetsResponse(datasets=datasets, next_page_token=token)

    async def UpdateDataset(self, request, context: aio.ServicerContext):
        return pb.UpdateDatasetResponse(dataset=self.catalog.update_dataset(request))

    async def DeleteDataset(self, request, context: aio.ServicerContext):
        self.catalog.delete_dataset(request)
        return pb.DeleteDatasetResponse()

    async def WriteVersion(
        self, requests: AsyncIterator[pb.WriteVersionRequest], context: aio.ServicerContext
    ) -> pb.WriteVersionResponse:
        first = await anext(requests, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise invalid_field("header", "the first message of the stream must carry a header")
        session = self.catalog.begin_write(first.header)
        if session.replay is not None:
            return pb.WriteVersionResponse(version=session.replay)
        spool = self.catalog.spool(first.header)
        try:
            async for message in requests:
                if message.WhichOneof("payload") != "arrow_data":
                    raise invalid_field("header", "only the first message may carry a header")
                spool.write(message.arrow_data)
            await _still_live(context)
            version = await self.catalog.commit(session, spool)
        finally:
            spool.close()
        return pb.WriteVersionResponse(version=version)

    async def GetVersion(self, request, context: aio.ServicerContext):
        return pb.GetVersionResponse(version=self.catalog.get_version(request.name))

    async def ListVersions(self, request, context: aio.ServicerContext):
        versions, token = self.catalog.list_versions(request)
        return pb.ListVersionsResponse(versions=versions, next_page_token=token)

    async def ReadVersion(
        self, request: pb.ReadVersionRequest, context: aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        """Responses are returned serialized (arrow_stream.read_response): each batch's bytes
        are copied once on their way to the wire."""
        plan = await self.catalog.plan_read_on_loop(request)
        header = plan.header.SerializeToString()
        for batch in plan.batches():
            yield read_response(header, batch)
            header = b""

    async def IssueFlightTicket(self, request, context: aio.ServicerContext):
        if self.flight is None:
            raise _unsupported("data.flight")
        return self.flight.issue_ticket(request)

    async def SetTag(self, request, context: aio.ServicerContext):
        tag, previous = self.catalog.set_tag(request)
        return pb.SetTagResponse(tag=tag, previous_version=previous)

    async def DeleteTag(self, request, context: aio.ServicerContext):
        self.catalog.delete_tag(request)
        return pb.DeleteTagResponse()

    async def ListTags(self, request, context: aio.ServicerContext):
        tags, token = self.catalog.list_tags(request)
        return pb.ListTagsResponse(tags=tags, next_page_token=token)

    async def CreateImportJob(self, request, context: aio.ServicerContext):
        return pb.CreateImportJobResponse(import_job=self.jobs.create_import(request))

    async def GetImportJob(self, request, context: aio.ServicerContext):
        return pb.GetImportJobResponse(import_job=self.jobs.get(request.name, IMPORT))

    async def ListImportJobs(self, request, context: aio.ServicerContext):
        jobs, token = self.jobs.list(request, IMPORT)
        return pb.ListImportJobsResponse(import_jobs=jobs, next_page_token=token)

    async def CancelImportJob(self, request, context: aio.ServicerContext):
        return pb.CancelImportJobResponse(import_job=await self.jobs.cancel(request.name, IMPORT))

    async def WatchImportJob(self, request, context: aio.ServicerContext):
        async for job in self.jobs.watch(request.name, IMPORT):
            yield pb.WatchImportJobResponse(import_job=job)

    async def CreateExportJob(self, request, context: aio.ServicerContext):
        return pb.CreateExportJobResponse(export_job=self.jobs.create_export(request))

    async def GetExportJob(self, request, context: aio.ServicerContext):
        return pb.GetExportJobResponse(export_job=self.jobs.get(request.name, EXPORT))

    async def ListExportJobs(self, request, context: aio.ServicerContext):
        jobs, token = self.jobs.list(request, EXPORT)
        return pb.ListExportJobsResponse(export_jobs=jobs, next_page_token=token)

    async def CancelExportJob(self, request, context: aio.ServicerContext):
        return pb.CancelExportJobResponse(export_job=await self.jobs.cancel(request.name, EXPORT))

    async def WatchExportJob(self, request, context: aio.ServicerContext):
        async for job in self.jobs.watch(request.name, EXPORT):
            yield pb.WatchExportJobResponse(export_job=job)


async def _still_live(context: aio.ServicerContext) -> None:
    """Return only if the call is still live. gRPC ends the request stream of a cancelled
    call, or of one whose deadline passed, as it ends a half-closed one, and tells the
    handler a moment later; a live call can still send its headers, an ended one cannot. A
    WriteVersion commits only after this (DAT-026)."""
    try:
        await context.send_initial_metadata(())
    except Exception:  # the call has ended; nothing may be committed
        raise asyncio.CancelledError from None


def _missing(feature: str):
    async def unsupported(self, request, context: aio.ServicerContext):
        raise _unsupported(feature)

    return unsupported


def _missing_stream(feature: str):
    async def unsupported(self, request, context: aio.ServicerContext):
        raise _unsupported(feature)
        yield  # an async generator, like the streaming RPCs it stands for

    return unsupported


for _rpc, _feature in MISSING_FEATURES.items():
    setattr(
        DatasetServicer,
        _rpc,
        _missing_stream(_feature) if _rpc.startswith("Watch") else _missing(_feature),
    )

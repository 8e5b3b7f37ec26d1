"""The gRPC face of the dataset catalog: lepton.data.v1.DatasetService."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from grpc import aio

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton_server.aip.jobs.rpcs import job_rpcs
from lepton_server.data.arrow_stream import read_response
from lepton_server.data.dataset_catalog import DatasetCatalog
from lepton_server.data.dataset_jobs import DatasetJobs
from lepton_server.data.flight import DatasetFlightServer
from lepton_server.runtime.errors import Unimplemented, invalid_field


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
        ingest = self.catalog.ingest(session)
        try:
            await ingest.take(_arrow_data(requests))
            await _still_live(context)
            version = await self.catalog.commit(session, ingest)
        finally:
            await asyncio.to_thread(ingest.close)
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

    GetImportJob, ListImportJobs, CancelImportJob, WatchImportJob = job_rpcs(
        "ImportJob", pb, lambda self: self.jobs.imports
    )

    async def CreateExportJob(self, request, context: aio.ServicerContext):
        return pb.CreateExportJobResponse(export_job=self.jobs.create_export(request))

    GetExportJob, ListExportJobs, CancelExportJob, WatchExportJob = job_rpcs(
        "ExportJob", pb, lambda self: self.jobs.exports
    )


async def _arrow_data(requests: AsyncIterator[pb.WriteVersionRequest]) -> AsyncIterator[bytes]:
    async for message in requests:
        if message.WhichOneof("payload") != "arrow_data":
            raise invalid_field("header", "only the first message may carry a header")
        yield message.arrow_data


async def _still_live(context: aio.ServicerContext) -> None:
    """Return only if the call is still live. gRPC ends the request stream of a cancelled
    call, or of one whose deadline passed, as it ends a half-closed one, and tells the
    handler a moment later; a live call can still send its headers, an ended one cannot. A
    WriteVersion commits only after this (DAT-026)."""
    try:
        await context.send_initial_metadata(())
    except Exception:  # the call has ended; nothing may be committed
        raise asyncio.CancelledError from None

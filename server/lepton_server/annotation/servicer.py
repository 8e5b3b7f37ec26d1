"""The gRPC face of annotation: lepton.data.v1.AnnotationService, one domain call per RPC.
Domain calls run in worker threads: they read rows from the data layer over gRPC, possibly
from this same server, which would wait for itself on the event loop. Errors stay LeptonError
for the host's error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from grpc import aio

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton.data.v1 import annotation_task_pb2 as at
from lepton_server.aip.jobs.rpcs import job_rpcs
from lepton_server.annotation.acceptance import Acceptance
from lepton_server.annotation.agreement_report import AgreementReports
from lepton_server.annotation.annotation_exports import AnnotationExports
from lepton_server.annotation.annotation_imports import AnnotationImports
from lepton_server.annotation.annotations import Annotations
from lepton_server.annotation.leases import Leases
from lepton_server.annotation.prediction_jobs import PredictionJobs
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.reviews import Reviews
from lepton_server.annotation.tasks import Tasks
from lepton_server.runtime.errors import Unimplemented

T = TypeVar("T")


@dataclass(frozen=True)
class AnnotationDomain:
    """The annotation layer's domain objects."""

    projects: Projects
    tasks: Tasks
    annotations: Annotations
    acceptance: Acceptance
    leases: Leases
    reviews: Reviews
    agreement: AgreementReports
    imports: AnnotationImports
    # None when the server reaches no inference service (no prediction jobs, ANN-001).
    predictions: PredictionJobs | None
    # None when the data layer is not in this process (no export jobs, ANN-001).
    exports: AnnotationExports | None


async def _run(call: Callable[..., T], *args: Any) -> T:
    # to_thread copies the call's context: the domain sees the caller's principal.
    return await asyncio.to_thread(call, *args)


def _not_served(feature: str) -> Unimplemented:
    return Unimplemented(
        reason="FEATURE_NOT_SUPPORTED",
        message=f"this server does not offer {feature}",
        metadata={"feature": feature},
    )


class AnnotationServicer(pb_grpc.AnnotationServiceServicer):
    """Requests to the domain objects and their results to responses."""

    def __init__(self, domain: AnnotationDomain) -> None:
        self.d = domain

    # --- projects ----------------------------------------------------------------------------

    async def CreateAnnotationProject(self, request, context: aio.ServicerContext):
        project = await _run(self.d.projects.create, request)
        return pb.CreateAnnotationProjectResponse(annotation_project=project)

    async def GetAnnotationProject(self, request, context: aio.ServicerContext):
        project = await _run(self.d.projects.get, request.name)
        return pb.GetAnnotationProjectResponse(annotation_project=project)

    async def ListAnnotationProjects(self, request, context: aio.ServicerContext):
        projects, token = await _run(self.d.projects.list, request)
        return pb.ListAnnotationProjectsResponse(
            annotation_projects=projects, next_page_token=token
        )

    async def UpdateAnnotationProject(self, request, context: aio.ServicerContext):
        project = await _run(self.d.projects.update, request)
        return pb.UpdateAnnotationProjectResponse(annotation_project=project)

    async def DeleteAnnotationProject(self, request, context: aio.ServicerContext):
        await _run(self.d.projects.delete, request)
        return pb.DeleteAnnotationProjectResponse()

    # --- tasks -------------------------------------------------------------------------------

    async def CreateAnnotationTask(self, request, context: aio.ServicerContext):
        task = await _run(self.d.tasks.create, request)
        return pb.CreateAnnotationTaskResponse(annotation_task=task)

    async def BatchCreateAnnotationTasks(
        self, request, context: aio.ServicerContext
    ) -> AsyncIterator[pb.BatchCreateAnnotationTasksResponse]:
        responses = await _run(self.d.tasks.batch_create, request)
        while (response := await _run(next, responses, None)) is not None:
            yield response

    async def GetAnnotationTask(self, request, context: aio.ServicerContext):
        view = request.view or at.ANNOTATION_TASK_VIEW_FULL
        task = await _run(self.d.tasks.get, request.name, view)
        return pb.GetAnnotationTaskResponse(annotation_task=task)

    async def ListAnnotationTasks(self, request, context: aio.ServicerContext):
        tasks, token = await _run(self.d.tasks.list, request)
        return pb.ListAnnotationTasksResponse(annotation_tasks=tasks, next_page_token=token)

    async def UpdateAnnotationTask(self, request, context: aio.ServicerContext):
        task = await _run(self.d.tasks.update, request)
        return pb.UpdateAnnotationTaskResponse(annotation_task=task)

    async def DeleteAnnotationTask(self, request, context: aio.ServicerContext):
        await _run(self.d.tasks.delete, request)
        return pb.DeleteAnnotationTaskResponse()

    async def AcquireNextTask(self, request, context: aio.ServicerContext):
        return await _run(self.d.leases.acquire, request)

    async def ReleaseTaskLease(self, request, context: aio.ServicerContext):
        task = await _run(self.d.leases.release, request.name)
        return pb.ReleaseTaskLeaseResponse(annotation_task=task)

    # --- annotations and predictions ---------------------------------------------------------

    async def CreateAnnotation(self, request, context: aio.ServicerContext):
        annotation = await _run(self.d.annotations.create, request)
        return pb.CreateAnnotationResponse(annotation=annotation)

    async def GetAnnotation(self, request, context: aio.ServicerContext):
        annotation = await _run(self.d.annotations.get, request.name)
        return pb.GetAnnotationResponse(annotation=annotation)

    async def ListAnnotations(self, request, context: aio.ServicerContext):
        annotations, token = await _run(self.d.annotations.list, request)
        return pb.ListAnnotationsResponse(annotations=annotations, next_page_token=token)

    async def UpdateAnnotation(self, request, context: aio.ServicerContext):
        annotation = await _run(self.d.annotations.update, request)
        return pb.UpdateAnnotationResponse(annotation=annotation)

    async def DeleteAnnotation(self, request, context: aio.ServicerContext):
        await _run(self.d.annotations.delete, request)
        return pb.DeleteAnnotationResponse()

    async def CreatePrediction(self, request, context: aio.ServicerContext):
        prediction = await _run(self.d.annotations.create_prediction, request)
        return pb.CreatePredictionResponse(prediction=prediction)

    async def GetPrediction(self, request, context: aio.ServicerContext):
        prediction = await _run(self.d.annotations.get_prediction, request.name)
        return pb.GetPredictionResponse(prediction=prediction)

    async def ListPredictions(self, request, context: aio.ServicerContext):
        predictions, token = await _run(self.d.annotations.list_predictions, request)
        return pb.ListPredictionsResponse(predictions=predictions, next_page_token=token)

    async def DeletePrediction(self, request, context: aio.ServicerContext):
        await _run(self.d.annotations.delete_prediction, request.name)
        return pb.DeletePredictionResponse()

    async def AcceptPredictions(self, request, context: aio.ServicerContext):
        return await _run(self.d.acceptance.accept, request)

    async def ImportAnnotations(self, request, context: aio.ServicerContext):
        return await _run(self.d.imports.run, request)

    # --- reviews and agreement ---------------------------------------------------------------

    async def CreateReview(self, request, context: aio.ServicerContext):
        return pb.CreateReviewResponse(review=await _run(self.d.reviews.create, request))

    async def ListReviews(self, request, context: aio.ServicerContext):
        reviews, token = await _run(self.d.reviews.list, request)
        return pb.ListReviewsResponse(reviews=reviews, next_page_token=token)

    async def ComputeAgreement(self, request, context: aio.ServicerContext):
        return await _run(self.d.agreement.compute, request)

    # --- jobs (ANN-001: without an inference service, no prediction jobs) ----------------

    def _prediction_jobs(self) -> PredictionJobs:
        if self.d.predictions is None:
            raise _not_served("data.annotation.prediction_jobs")
        return self.d.predictions

    async def CreatePredictionJob(self, request, context: aio.ServicerContext):
        job = await self._prediction_jobs().create(request)
        return pb.CreatePredictionJobResponse(prediction_job=job)

    GetPredictionJob, ListPredictionJobs, CancelPredictionJob, WatchPredictionJob = job_rpcs(
        "PredictionJob", pb, lambda servicer: servicer._prediction_jobs().collection
    )

    def _export_jobs(self) -> AnnotationExports:
        if self.d.exports is None:
            raise _not_served("data.annotation.export_jobs")
        return self.d.exports

    async def CreateAnnotationExportJob(self, request, context: aio.ServicerContext):
        job = await self._export_jobs().create(request)
        return pb.CreateAnnotationExportJobResponse(annotation_export_job=job)

    (
        GetAnnotationExportJob,
        ListAnnotationExportJobs,
        CancelAnnotationExportJob,
        WatchAnnotationExportJob,
    ) = job_rpcs("AnnotationExportJob", pb, lambda servicer: servicer._export_jobs().collection)

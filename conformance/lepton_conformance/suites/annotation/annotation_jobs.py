"""The two job resources of the annotation service as the cases use them (spec/annotation.md
§3.5, §3.6; the job methods of spec/data.md §3.4): create one, read it, wait for its end,
list, watch and cancel, and check that a refused creation left no job behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.annotation.annotation_client import SERVICE, AnnotationClient
from lepton_conformance.suites.annotation.feature_probes import EXPORT_JOBS, PREDICTION_JOBS

# google.rpc.Code numbers, as ErrorStatus.code carries them.
CODE = {code.name: code.value[0] for code in grpc.StatusCode}


@dataclass(frozen=True)
class JobKind:
    """One job resource of AnnotationService: its message, request fields and collection."""

    noun: str  # "PredictionJob"
    field: str  # "prediction_job"
    collection: str  # "predictionJobs"
    feature: str

    @property
    def id_field(self) -> str:
        return f"{self.field}_id"

    def require(self, ctx: CaseContext) -> None:
        """The case does not apply unless the target has the feature (listed or probed)."""
        ctx.require_feature(SERVICE, self.feature)

    def request(self, parent: str, job: Message, job_id: str = "", request_id: str = "") -> Any:
        return getattr(pb, f"Create{self.noun}Request")(
            parent=parent, **{self.field: job, self.id_field: job_id, "request_id": request_id}
        )

    def create(
        self,
        client: AnnotationClient,
        parent: str,
        job: Message,
        job_id: str = "",
        request_id: str = "",
    ) -> Any:
        """Create`noun`; raises grpc.RpcError when refused."""
        request = self.request(parent, job, job_id, request_id)
        return getattr(client.call(f"Create{self.noun}", request), self.field)

    def get(self, client: AnnotationClient, name: str) -> Any:
        request = getattr(pb, f"Get{self.noun}Request")(name=name)
        return getattr(client.ok(f"Get{self.noun}", request), self.field)

    def wait(self, client: AnnotationClient, name: str) -> Any:
        """The job once terminal, each observation checked against the job lifecycle."""
        return job_lifecycle.wait(lambda: self.get(client, name), name, client.ctx.timeout * 6)

    def list(self, client: AnnotationClient, parent: str, **fields: Any) -> list[Any]:
        request = getattr(pb, f"List{self.noun}sRequest")(parent=parent, **fields)
        return client.walk(f"List{self.noun}s", request)

    def names(self, client: AnnotationClient, parent: str, **fields: Any) -> list[str]:
        return [job.name for job in self.list(client, parent, **fields)]

    def watch(self, client: AnnotationClient, name: str) -> list[Any]:
        request = getattr(pb, f"Watch{self.noun}Request")(name=name)
        stream = client.stream(f"Watch{self.noun}", request)
        return job_lifecycle.follow(stream, lambda response: getattr(response, self.field), name)

    def cancel(self, client: AnnotationClient, name: str) -> Any:
        request = getattr(pb, f"Cancel{self.noun}Request")(name=name)
        return getattr(client.call(f"Cancel{self.noun}", request), self.field)

    def absent(self, client: AnnotationClient, name: str) -> None:
        """Get of `name` is NOT_FOUND [RESOURCE_NOT_FOUND]: no job of that name exists."""
        request = getattr(pb, f"Get{self.noun}Request")(name=name)
        expect.rejects(
            lambda: client.call(f"Get{self.noun}", request),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            metadata={"resource_name": name},
        )


PREDICTION = JobKind("PredictionJob", "prediction_job", "predictionJobs", PREDICTION_JOBS)
EXPORT = JobKind("AnnotationExportJob", "annotation_export_job", "exportJobs", EXPORT_JOBS)


def failed_with(job: Any, code: str, reason: str, metadata: dict[str, str] | None = None) -> None:
    """The job ended FAILED with `status.error` `code` [`reason`] and the metadata given."""
    error = job.status.error
    expect.equal(
        (job_lifecycle.name_of(job.status.state), error.code, error.reason),
        ("JOB_STATE_FAILED", CODE[code], reason),
        f"(state, status.error.code, status.error.reason) of {job.name}",
    )
    for key, value in (metadata or {}).items():
        expect.equal(error.metadata.get(key), value, f"status.error.metadata[{key!r}]")


def check_progress(job: Any, total: int) -> None:
    """Progress counts the selected tasks (ANN-042, ANN-053): unit `tasks`, `total` them."""
    progress = job.status.progress
    expect.equal(
        (progress.unit, progress.total),
        ("tasks", total),
        f"(status.progress.unit, status.progress.total) of {job.name}",
    )

"""A client of lepton.data.v1.ProcessingService for the data-processing profile: pipelines
built from YAML steps, their fingerprint computed locally (spec/data.md §6.5), and pipeline
runs created, watched, listed and waited for. Written from the contract alone."""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from lepton.data.v1 import pipeline_pb2, pipeline_run_pb2
from lepton.data.v1 import processing_service_pb2 as pb
from lepton.data.v1 import processing_service_pb2_grpc as pb_grpc
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.data.dataset_client import walk_pages

SERVICE = pb.DESCRIPTOR.services_by_name["ProcessingService"].full_name
FEATURE = "data.processing"
ALWAYS_RECOMPUTE = pipeline_run_pb2.REUSE_POLICY_ALWAYS_RECOMPUTE


def pipeline(steps: list[dict[str, Any]]) -> pipeline_pb2.Pipeline:
    """A pipeline of steps written as protobuf JSON (snake_case or lowerCamel names)."""
    return json_format.ParseDict({"steps": steps}, pipeline_pb2.Pipeline())


def fingerprint(of: pipeline_pb2.Pipeline) -> str:
    """§6.5: lowercase hex SHA-256 of the deterministic binary encoding (DAT-093)."""
    return hashlib.sha256(of.SerializeToString(deterministic=True)).hexdigest()


class ProcessingClient:
    """ProcessingService calls with the case's credentials and deadline."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self.stub = pb_grpc.ProcessingServiceStub(ctx.channel)

    @property
    def timeout(self) -> float:
        return self.ctx.timeout * 3

    def call(self, rpc: str, request: Message) -> Any:
        """A unary RPC, or WatchPipelineRun collected into a list."""
        answer = getattr(self.stub, rpc)(
            request, metadata=self.ctx.metadata, timeout=self.ctx.timeout * 2
        )
        return list(answer) if rpc == "WatchPipelineRun" else answer

    def validate(self, input_version: str, steps: pipeline_pb2.Pipeline) -> Any:
        request = pb.ValidatePipelineRequest(input_version=input_version, pipeline=steps)
        return expect.succeeds(lambda: self.call("ValidatePipeline", request), "ValidatePipeline")

    @staticmethod
    def create_request(
        input_version: str,
        steps: pipeline_pb2.Pipeline,
        run_id: str = "",
        request_id: str = "",
        **fields: Any,
    ) -> pb.CreatePipelineRunRequest:
        run = pipeline_run_pb2.PipelineRun(input_version=input_version, pipeline=steps, **fields)
        return pb.CreatePipelineRunRequest(
            pipeline_run_id=run_id, pipeline_run=run, request_id=request_id
        )

    def send(self, request: pb.CreatePipelineRunRequest) -> pipeline_run_pb2.PipelineRun:
        return self.call("CreatePipelineRun", request).pipeline_run

    def create(
        self, input_version: str, steps: pipeline_pb2.Pipeline, **fields: Any
    ) -> pipeline_run_pb2.PipelineRun:
        """A CreatePipelineRun that must succeed; the created run, its status checked."""
        request = self.create_request(input_version, steps, **fields)
        created = expect.succeeds(lambda: self.send(request), "CreatePipelineRun")
        job_lifecycle.check_status(created, f"the created {created.name}")
        return created

    def get(self, name: str) -> pipeline_run_pb2.PipelineRun:
        request = pb.GetPipelineRunRequest(name=name)
        return expect.succeeds(
            lambda: self.call("GetPipelineRun", request), f"GetPipelineRun({name})"
        ).pipeline_run

    def cancel(self, name: str) -> pipeline_run_pb2.PipelineRun:
        return self.call("CancelPipelineRun", pb.CancelPipelineRunRequest(name=name)).pipeline_run

    def watch(self, name: str) -> list[pipeline_run_pb2.PipelineRun]:
        """Every message of a WatchPipelineRun, checked (DAT-088, GEN-061)."""
        stream = self.stub.WatchPipelineRun(
            pb.WatchPipelineRunRequest(name=name), metadata=self.ctx.metadata, timeout=self.timeout
        )
        return job_lifecycle.follow(stream, lambda r: r.pipeline_run, name)

    def list(self, **fields: Any) -> list[pipeline_run_pb2.PipelineRun]:
        """Every run of a listing, page by page."""
        request = pb.ListPipelineRunsRequest(**fields)
        return walk_pages(
            lambda page: self.call("ListPipelineRuns", page), "ListPipelineRuns", request
        )

    def wait(self, name: str) -> pipeline_run_pb2.PipelineRun:
        """The run once terminal, every observation on the way checked."""
        return job_lifecycle.wait(lambda: self.get(name), name, self.timeout)

    def finish(
        self, input_version: str, steps: pipeline_pb2.Pipeline, **fields: Any
    ) -> pipeline_run_pb2.PipelineRun:
        """Create a run and wait for it to end; the final run."""
        created = self.create(input_version, steps, **fields)
        if created.status.state in job_lifecycle.TERMINAL:
            return created
        return self.wait(created.name)

    def succeeded(
        self, input_version: str, steps: pipeline_pb2.Pipeline, **fields: Any
    ) -> pipeline_run_pb2.PipelineRun:
        """A run that must succeed; the final run."""
        return job_lifecycle.check_succeeded(self.finish(input_version, steps, **fields))

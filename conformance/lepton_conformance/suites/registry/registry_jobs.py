"""The registry's job resources as the conversion and import cases use them (spec/registry.md,
"Conversion", "Import"; the job rules of spec/general.md): create one, wait for its end, list
a model's jobs, and check a refusal that may come at creation or as the job's failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.suites.registry.registry_client import RegistryClient


@dataclass(frozen=True)
class JobKind:
    """One job resource of the registry: its message name and request field."""

    noun: str  # "ConversionJob"
    field: str  # "conversion_job"

    def create(self, client: RegistryClient, parent: str, job: Message) -> Any:
        request = getattr(pb, f"Create{self.noun}Request")(parent=parent, **{self.field: job})
        return getattr(client.call(f"Create{self.noun}", request), self.field)

    def get(self, client: RegistryClient, name: str) -> Any:
        request = getattr(pb, f"Get{self.noun}Request")(name=name)
        return getattr(client.call(f"Get{self.noun}", request), self.field)

    def run(self, client: RegistryClient, parent: str, job: Message) -> Any:
        """Create the job and wait for its end; the last observation."""
        created = self.create(client, parent, job)
        return job_lifecycle.wait(
            lambda: self.get(client, created.name), created.name, client.ctx.timeout * 6
        )

    def listed(self, client: RegistryClient, parent: str) -> list[str]:
        request = getattr(pb, f"List{self.noun}sRequest")(parent=parent, page_size=100)
        return [
            j.name for j in getattr(client.call(f"List{self.noun}s", request), f"{self.field}s")
        ]


CONVERSION = JobKind("ConversionJob", "conversion_job")
IMPORT = JobKind("ModelImportJob", "model_import_job")


def failed_with(job: Any, code: grpc.StatusCode, reason: str) -> None:
    """The job ended FAILED with `code` and `reason`."""
    expect.equal(
        (job_lifecycle.name_of(job.status.state), job.status.error.code, job.status.error.reason),
        ("JOB_STATE_FAILED", code.value[0], reason),
        "(state, status.error.code, status.error.reason) of the job",
    )


def refused(
    kind: JobKind,
    client: RegistryClient,
    parent: str,
    job: Message,
    *,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    """A job the spec refuses with `code` [`reason`]: rejected at creation, or created and
    ended FAILED with them."""
    try:
        final = kind.run(client, parent, job)
    except grpc.RpcError as error:
        expect.equal(error.code(), code, "the code of the refused creation")
        expect.check_error_info(error, reason)
        return
    failed_with(final, code, reason)

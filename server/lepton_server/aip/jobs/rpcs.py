"""The gRPC face of a JobCollection: the Get, List, Cancel and Watch methods of a servicer for
one job kind, each one collection call wrapped in the kind's response message. Names follow
the standard's pattern: for resource `ImportJob` the RPCs `GetImportJob`, `ListImportJobs`,
`CancelImportJob`, `WatchImportJob`, answered with `GetImportJobResponse(import_job=...)`,
`ListImportJobsResponse(import_jobs=..., next_page_token=...)` and so on."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any, NamedTuple

from google.protobuf.message import Message
from grpc import aio

from lepton_server.aip.jobs.collection import JobCollection

Method = Callable[..., Any]


class JobRpcs(NamedTuple):
    """The four servicer methods of one job kind, in the order Get, List, Cancel, Watch."""

    get: Method
    list: Method
    cancel: Method
    watch: Method


def job_rpcs(
    resource: str, messages: ModuleType, collection: Callable[[Any], JobCollection]
) -> JobRpcs:
    """The servicer methods of the jobs named `resource` (e.g. "ImportJob"), whose response
    messages are in `messages`, served by `collection(servicer)`. A List request's `parent`
    field, when the kind has parents, selects the parent listed. Assign them in the servicer's
    class body: `GetImportJob, ListImportJobs, CancelImportJob, WatchImportJob = job_rpcs(...)`."""
    field = re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower()
    get_response = getattr(messages, f"Get{resource}Response")
    list_response = getattr(messages, f"List{resource}sResponse")
    cancel_response = getattr(messages, f"Cancel{resource}Response")
    watch_response = getattr(messages, f"Watch{resource}Response")

    async def get(self: Any, request: Any, context: aio.ServicerContext) -> Message:
        return get_response(**{field: collection(self).get(request.name)})

    async def list_(self: Any, request: Any, context: aio.ServicerContext) -> Message:
        jobs, token = collection(self).list(request, getattr(request, "parent", ""))
        return list_response(**{f"{field}s": jobs}, next_page_token=token)

    async def cancel(self: Any, request: Any, context: aio.ServicerContext) -> Message:
        return cancel_response(**{field: await collection(self).cancel(request.name)})

    async def watch(
        self: Any, request: Any, context: aio.ServicerContext
    ) -> AsyncIterator[Message]:
        async for job in collection(self).watch(request.name):
            yield watch_response(**{field: job})

    return JobRpcs(get, list_, cancel, watch)

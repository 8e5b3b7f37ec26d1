"""The standard reading and control of one kind of job (spec/general.md §7): Get, List (with
the standard job filter and order), Cancel and Watch until a terminal state. Every job kind of
every layer goes through a JobCollection: import and export jobs and pipeline runs now,
training jobs, rollouts, prediction and annotation-export jobs later.

A layer keeps what differs between kinds: how a job is created and what its work does (on the
JobRunner), the fields its filter accepts besides the standard ones, and how a parent is
checked. The collection holds what is the same."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from google.protobuf.message import Message

from lepton.type.v1 import job_pb2
from lepton_server.aip import resource_names
from lepton_server.aip.filtering.fields import FieldType, FilterField
from lepton_server.aip.jobs.runner import JobRunner, Work
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens

EVERY_PARENT = "-"  # AIP-159: a parent id of "-" lists the jobs under every parent


def job_filter(*extra: FilterField) -> list[FilterField]:
    """The fields a job List's filter accepts: `status.state`, the kind's own `extra` fields,
    `status.create_time` and `labels`, in this order."""
    return [
        FilterField.for_enum("status.state", job_pb2.JobState.keys()),
        *extra,
        FilterField(
            "status.create_time", FieldType.TIMESTAMP, frozenset({"=", "!=", "<", "<=", ">", ">="})
        ),
        FilterField("labels", FieldType.LABEL, frozenset({"=", "!="})),
    ]


def job_listing(*extra: FilterField, orderable: Sequence[str] = ("status.create_time",)) -> Listing:
    """How jobs are listed: the job filter, newest first by default, ordered by the
    `orderable` fields and name."""
    return Listing(
        job_filter(*extra), (*orderable, "name"), "status.create_time desc, name", "name"
    )


class RequestIds(Protocol):
    """Where a server remembers the request_id of each Create for a while (GEN-053): the
    name of what an earlier identical request created, ALREADY_EXISTS for a request_id reused
    with another request."""

    def replayed(self, method: str, parent: str, request: Any) -> str | None: ...

    def remember(self, method: str, parent: str, request: Any, result: str) -> None: ...


class JobCollection:
    """Get, List, Cancel and Watch of the jobs of one `kind` (a collection id such as
    "importJobs"), whose names are `{parent}/{kind}/{id}` with `parent` matching
    `parent_pattern` (a tuple of collection ids; empty for a top-level collection).

    `extra_fields` are the kind's own filter fields, `orderable` the fields its order_by may
    name besides `name`; `values` reads the value of a filter
    field whose value is not the attribute of that name (the standard ones are built in);
    `check_parent(parent)` raises when the parent of a List does not exist (it is not called
    for the parent of every parent, such as `datasets/-`)."""

    def __init__(
        self,
        runner: JobRunner,
        kind: str,
        tokens: PageTokens,
        *,
        parent_pattern: tuple[str, ...] = (),
        extra_fields: Sequence[FilterField] = (),
        orderable: Sequence[str] = ("status.create_time",),
        values: Mapping[str, Callable[[Any], Any]] | None = None,
        check_parent: Callable[[str], object] | None = None,
    ) -> None:
        self.runner = runner
        self.kind = kind
        self._tokens = tokens
        self._pattern = (*parent_pattern, kind)
        self._every_parent = "/".join(f"{c}/{EVERY_PARENT}" for c in parent_pattern)
        self._listing = job_listing(*extra_fields, orderable=orderable)
        self._values = {**_STANDARD_VALUES, **(values or {})}
        self._check_parent = check_parent

    def parse_name(self, name: str, field: str = "name") -> None:
        """INVALID_NAME on `field` unless `name` names a job of this kind."""
        resource_names.parse(name, self._pattern, field)

    def draft(
        self,
        given: Message,
        parent: str,
        *,
        job_id: str,
        id_field: str,
        prefix: str,
        outputs: Iterable[str],
        what: str = "job id",
    ) -> Message:
        """The job to create from the client's `given`: a copy named `{parent}/{kind}/{job_id}`
        (`job_id` checked on `id_field`, or generated as `{prefix}-` and 12 hex digits;
        ALREADY_EXISTS if taken), with the `outputs` fields the server sets cleared."""
        job = type(given)()
        job.CopyFrom(given)
        collection = f"{parent}/{self.kind}" if parent else self.kind
        job.name = self.runner.new_name(collection, job_id, id_field, prefix, what)
        for field in outputs:
            job.ClearField(field)
        return job

    def create_once(
        self,
        request_ids: RequestIds,
        method: str,
        parent: str,
        request: Any,
        create: Callable[[], Message],
    ) -> Message:
        """The job `create()` returns, created once per `request.request_id`: a retry of the
        same request gets the job the first call created (`method` and `parent` scope the id)."""
        if request.request_id:
            earlier = request_ids.replayed(method, parent, request)
            if earlier is not None:
                return self.runner.get(earlier)
        created = create()
        if request.request_id:
            request_ids.remember(method, parent, request, created.name)
        return created

    def create(
        self,
        request_ids: RequestIds,
        method: str,
        request: Any,
        given: Message,
        *,
        id_field: str,
        outputs: Iterable[str],
        work: Work,
        **resolved: str,
    ) -> Message:
        """The job of a checked Create `request` (once per request id): the client's `given`
        named under `request.parent` (its id from `id_field`, generated with the kind's first
        letter as prefix), the `outputs` cleared, the `resolved` fields set, started on the
        runner to do `work`."""

        def create() -> Message:
            job = self.draft(
                given,
                request.parent,
                job_id=getattr(request, id_field),
                id_field=id_field,
                prefix=self.kind[0],
                outputs=outputs,
            )
            for field, value in resolved.items():
                setattr(job, field, value)
            return self.runner.create(self.kind, f"{request.parent}/{self.kind}", job, work)

        return self.create_once(request_ids, method, request.parent, request, create)

    def get(self, name: str) -> Message:
        """The job `name`; NOT_FOUND when it does not exist."""
        self.parse_name(name)
        return self.runner.get(name)

    def list(self, request: Any, parent: str = "") -> tuple[list[Message], str]:
        """The page of jobs `request` asks for and its next_page_token: those of `parent`
        (empty for a top-level collection; every parent's when each of its ids is `-`)."""
        every = not parent or parent == self._every_parent
        if not every and self._check_parent is not None:
            self._check_parent(parent)
        collection = f"{parent}/{self.kind}" if parent else self.kind
        return self._listing.page(
            self._tokens,
            request,
            lambda: self.runner.list(self.kind, None if every else collection),
            self._getter,
            collection,
        )

    async def cancel(self, name: str) -> Message:
        """GEN-062: request the job's cancellation; FAILED_PRECONDITION once it finished."""
        self.parse_name(name)
        return await self.runner.cancel(name)

    async def watch(self, name: str) -> AsyncIterator[Message]:
        """GEN-061: the job now, then after every change, until a terminal state."""
        self.parse_name(name)
        self.runner.resource(name)
        async for job in self.runner.watch(name):
            yield job

    def _getter(self, job: Message) -> Callable[[str], Any]:
        def get(path: str) -> Any:
            value = self._values.get(path)
            return value(job) if value is not None else getattr(job, path)

        return get


_STANDARD_VALUES: dict[str, Callable[[Any], Any]] = {
    "labels": lambda job: dict(job.labels),
    "status.state": lambda job: job_pb2.JobState.Name(job.status.state),
    "status.create_time": lambda job: job.status.create_time,
}

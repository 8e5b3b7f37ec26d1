"""What a suite declares: its profiles, in run order the cases each of its modules defines, and
how discovery finds its services (a `ServiceProbe` each) and its optional features.

A case module holds one `CaseList` and registers its cases into it; its suite names the lists
in the order they run (suites/__init__.py names the suites). Nothing is registered globally."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.target import TargetInfo, TargetOptions

CaseBody = Callable[[CaseContext], None]


@dataclass(frozen=True)
class ServiceProbe:
    """A cheap call that shows whether a target serves `service` without reflection: the
    method answers with anything but UNIMPLEMENTED (NOT_FOUND, INVALID_ARGUMENT and
    UNAUTHENTICATED included) only when the service is there."""

    service: str
    method: str
    request: Message
    response: type[Message]

    def call(self, channel: grpc.Channel, **kwargs: Any) -> Message:
        method = channel.unary_unary(
            f"/{self.service}/{self.method}",
            request_serializer=type(self.request).SerializeToString,
            response_deserializer=self.response.FromString,
        )
        return method(self.request, **kwargs)


@dataclass(frozen=True)
class Profile:
    """A named group of cases. `applies` says why the profile does not apply to a target
    (it lacks the service or the optional feature), or None when it does."""

    name: str
    title: str
    applies: Callable[[TargetInfo], str | None]
    # Certifies a device agent that the suite starts from `--agent-command` and serves as
    # its fleet server, rather than a server at `--target`.
    agent: bool = False
    # Why this run cannot check the profile although the target may have what it covers (it
    # was not given what only whoever runs the suite can give), or None when it can.
    requires: Callable[[TargetOptions], str | None] | None = None


@dataclass(frozen=True)
class Registration:
    """One case as its module registered it, before the catalog checks it against the spec."""

    profile: str
    id: str
    requirements: tuple[str, ...]
    title: str
    body: CaseBody


class CaseList:
    """The cases of one module, in the order the module registers them."""

    def __init__(self) -> None:
        self.registrations: list[Registration] = []

    def case(self, of: Profile, case_id: str, *requirements: str) -> Callable[[CaseBody], CaseBody]:
        """Register the decorated function as case `<profile>.<case_id>` checking
        `requirements`. Its docstring's first line is the case's title."""

        def register(body: CaseBody) -> CaseBody:
            title = (body.__doc__ or body.__name__).strip().splitlines()[0]
            full_id = f"{of.name}.{case_id}"
            self.registrations.append(Registration(of.name, full_id, requirements, title, body))
            return body

        return register


@dataclass(frozen=True)
class Suite:
    """One layer's share of the suite: its profiles, its modules' case lists in run order, and
    how discovery finds its services and features. Every case of a list belongs to one of
    `profiles`."""

    name: str
    profiles: tuple[Profile, ...]
    case_lists: tuple[CaseList, ...]
    # How to find, without reflection, each service the suite's profiles need.
    probes: tuple[ServiceProbe, ...] = ()
    # Once the services are known: probes the suite's optional features and records them in
    # `ctx.info.optional_features`.
    probe_features: CaseBody | None = None

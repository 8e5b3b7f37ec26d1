"""registry-core cases of the event stream (feature `registry.watch`): every operation's
events in order after it commits, and a replay from any sequence that continues live
without a gap (spec/registry.md, "Events")."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from google.protobuf import field_mask_pb2

from lepton.registry.v1 import model_event_pb2 as events_pb
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    SERVICE,
    RegistryClient,
    random_bytes,
)

CASES = CaseList()
FEATURE = "registry.watch"
T = events_pb.ModelEventType


def read_events(
    client: RegistryClient,
    model: str,
    count: int,
    start: int = 0,
    then: Callable[[], Any] | None = None,
) -> tuple[list[Any], list[bool]]:
    """The first `count` events of `model` from sequence `start` (0: the oldest retained),
    calling `then` once the replay has delivered anything; and each response's
    start_truncated."""
    request = pb.WatchModelEventsRequest(models=[model], start_sequence=start)
    stream = client.stream("WatchModelEvents", request, timeout=client.ctx.timeout * 3)
    got, truncated = [], []
    try:
        for response in stream:
            truncated.append(response.start_truncated)
            got += list(response.events)
            if then is not None and got:
                then()
                then = None
            if len(got) >= count:
                break
    finally:
        stream.cancel()
    expect.holds(len(got) >= count, f"{count} events", f"{len(got)}")
    return got[:count], truncated


def _history(client: RegistryClient, model: str) -> list[int]:
    """Operations whose events the cases expect, in order (MODEL_CREATED came with the model)."""
    data = random_bytes(32)
    version = client.register(model, data)
    client.set_alias(f"{model}/aliases/prod", version.name)
    change = model_version_pb2.ModelVersion(name=version.name, description="evaluated")
    mask = field_mask_pb2.FieldMask(paths=["description"])
    request = pb.UpdateModelVersionRequest(model_version=change, update_mask=mask)
    client.call("UpdateModelVersion", request)
    client.call("DeleteModelAlias", pb.DeleteModelAliasRequest(name=f"{model}/aliases/prod"))
    return [
        T.MODEL_EVENT_TYPE_MODEL_CREATED,
        T.MODEL_EVENT_TYPE_VERSION_CREATED,
        T.MODEL_EVENT_TYPE_VERSION_READY,
        T.MODEL_EVENT_TYPE_ALIAS_SET,
        T.MODEL_EVENT_TYPE_VERSION_UPDATED,
        T.MODEL_EVENT_TYPE_ALIAS_DELETED,
    ]


@CASES.case(CORE, "events.operations-emit-their-events-in-order", "REG-039", "REG-041")
def in_order(ctx: CaseContext) -> None:
    """A model's operations emit their events in order, with increasing sequence numbers,
    naming the model, version and alias concerned; the replay is not truncated."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        wanted = _history(client, model)
        got, truncated = read_events(client, model, len(wanted))
        expect.equal([e.type for e in got], wanted, "event types")
        sequences = [e.sequence for e in got]
        expect.holds(
            all(b > a for a, b in itertools.pairwise(sequences)),
            "strictly increasing sequence numbers",
            str(sequences),
        )
        expect.equal({e.model for e in got}, {model}, "the model of every event")
        alias_set = got[3]
        expect.equal(
            (alias_set.alias, alias_set.model_version),
            (f"{model}/aliases/prod", f"{model}/versions/1"),
            "(alias, model_version) of ALIAS_SET",
        )
        expect.equal(truncated[0], False, "start_truncated of a replay from the oldest event")


@CASES.case(CORE, "events.replay-continues-live-without-a-gap", "REG-040")
def replay(ctx: CaseContext) -> None:
    """A watch from the sequence of an earlier event replays from it, then delivers an event
    committed while it runs, with no gap and no duplicate."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        wanted = _history(client, model)
        history, _ = read_events(client, model, len(wanted))
        start = history[2].sequence
        got, _ = read_events(
            client,
            model,
            len(wanted) - 2 + 1,
            start=start,
            then=lambda: client.update_labels(model),
        )
        expect.equal(
            [e.sequence for e in got[:-1]],
            [e.sequence for e in history[2:]],
            "the replayed sequence numbers",
        )
        expect.equal(got[-1].type, T.MODEL_EVENT_TYPE_MODEL_UPDATED, "the live event")
        expect.holds(got[-1].sequence > got[-2].sequence, "a later sequence", str(got[-1]))

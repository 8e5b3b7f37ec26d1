"""The primary's side of `lepton serve --workers N`: the inference engines of the worker
processes, reached over their private sockets (runtime/workers.py).

Every process serving the port answers ModelInfer from an engine of its own; the control
plane is the primary's, which workers forward to it. So that the processes behave as one
server, the primary applies each load and unload to every worker's engine before it answers,
and a statistics request adds the workers' counters to its own (INF-060)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import grpc
from grpc import aio

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton.inference.v1 import inference_service_pb2_grpc as pb_grpc
from lepton_server.inference.statistics import merged
from lepton_server.runtime.errors import Unavailable

CONTROL_TIMEOUT_S = 300.0  # a load reads and compiles models: minutes, not seconds


class WorkerEngines:
    """The engines of the workers at `addresses` (gRPC targets such as "unix:/path")."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self._addresses = tuple(addresses)
        self._channels: list[aio.Channel] = []
        self._stubs: list[pb_grpc.InferenceServiceStub] = []

    def _each(self) -> list[pb_grpc.InferenceServiceStub]:
        # Channels are made on first use, on the serving event loop they belong to.
        if not self._stubs:
            self._channels = [aio.insecure_channel(a) for a in self._addresses]
            self._stubs = [pb_grpc.InferenceServiceStub(c) for c in self._channels]
        return self._stubs

    async def _everywhere(self, method: str, request: Any) -> list[Any]:
        calls = [getattr(stub, method)(request, timeout=CONTROL_TIMEOUT_S) for stub in self._each()]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        for address, answer in zip(self._addresses, answers, strict=True):
            if isinstance(answer, grpc.RpcError):
                raise Unavailable(
                    reason="SERVICE_UNAVAILABLE",
                    message=f"a worker process ({address}) could not {method}: {answer.details()}",
                )
            if isinstance(answer, BaseException):
                raise answer
        return answers

    async def load(self, request: pb.RepositoryModelLoadRequest) -> None:
        await self._everywhere("RepositoryModelLoad", request)

    async def unload(self, request: pb.RepositoryModelUnloadRequest) -> None:
        await self._everywhere("RepositoryModelUnload", request)

    async def statistics(
        self, request: pb.ModelStatisticsRequest, own: pb.ModelStatisticsResponse
    ) -> pb.ModelStatisticsResponse:
        """`own` (the primary's answer, which names the versions served) with every
        worker's counters of those versions added."""
        calls = [stub.ModelStatistics(request, timeout=CONTROL_TIMEOUT_S) for stub in self._each()]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        parts = {(s.name, s.version): [s] for s in own.model_stats}
        for address, answer in zip(self._addresses, answers, strict=True):
            if isinstance(answer, grpc.RpcError):
                # A registry model a worker has not picked up yet has no counters there.
                if answer.code() == grpc.StatusCode.NOT_FOUND:
                    continue
                raise Unavailable(
                    reason="SERVICE_UNAVAILABLE",
                    message=f"a worker process ({address}) did not report its statistics: "
                    f"{answer.details()}",
                )
            if isinstance(answer, BaseException):
                raise answer
            for stats in answer.model_stats:
                key = (stats.name, stats.version)
                if key in parts:
                    parts[key].append(stats)
        return pb.ModelStatisticsResponse(model_stats=[merged(p) for p in parts.values()])

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()

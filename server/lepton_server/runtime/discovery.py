"""DiscoveryService: which services this server hosts and their optional features."""

from __future__ import annotations

from collections.abc import Sequence

from grpc import aio

from lepton import SPEC_VERSION
from lepton.discovery.v1 import discovery_service_pb2 as pb
from lepton.discovery.v1 import discovery_service_pb2_grpc as pb_grpc
from lepton_server import SERVER_NAME, __version__
from lepton_server.runtime.hosted_service import HostedService


class DiscoveryServicer(pb_grpc.DiscoveryServiceServicer):
    """Answers GetServerInfo from the list of services the host mounted."""

    def __init__(self, services: Sequence[HostedService]) -> None:
        self._response = pb.GetServerInfoResponse(
            server_name=SERVER_NAME,
            server_version=__version__,
            spec_version=SPEC_VERSION,
            services=[pb.ServiceInfo(name=s.name, features=sorted(s.features)) for s in services],
        )

    async def GetServerInfo(
        self, request: pb.GetServerInfoRequest, context: aio.ServicerContext
    ) -> pb.GetServerInfoResponse:
        return self._response


def discovery_service(others: Sequence[HostedService]) -> HostedService:
    """The discovery service as a hosted service, describing `others` and itself."""

    def register(server: aio.Server) -> None:
        pb_grpc.add_DiscoveryServiceServicer_to_server(DiscoveryServicer([*others, hosted]), server)

    hosted = HostedService(
        name=pb.DESCRIPTOR.services_by_name["DiscoveryService"].full_name, register=register
    )
    return hosted

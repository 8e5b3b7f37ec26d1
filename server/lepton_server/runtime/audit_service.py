"""lepton.audit.v1.AuditService over the audit log (runtime/audit_log.py)."""

from __future__ import annotations

import asyncio

from grpc import aio

from lepton.audit.v1 import audit_service_pb2 as pb
from lepton.audit.v1 import audit_service_pb2_grpc as pb_grpc
from lepton_server.aip.pagination import PageTokens
from lepton_server.runtime.audit_log import AuditLog
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.principals import current_tenant

SERVICE = pb.DESCRIPTOR.services_by_name["AuditService"].full_name


class AuditServicer(pb_grpc.AuditServiceServicer):
    def __init__(self, log: AuditLog) -> None:
        self._log = log
        self._tokens = PageTokens()

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: aio.ServicerContext
    ) -> pb.ListAuditEventsResponse:
        # The file is read off the event loop: it only grows.
        # An admin reads the events of its own tenant's calls only.
        events, next_page_token = await asyncio.to_thread(
            self._log.list, request, self._tokens, current_tenant()
        )
        return pb.ListAuditEventsResponse(events=events, next_page_token=next_page_token)


def audit_service(log: AuditLog) -> HostedService:
    """The audit service as a hosted service; closing it closes the log."""
    servicer = AuditServicer(log)
    return HostedService(
        SERVICE,
        lambda server: pb_grpc.add_AuditServiceServicer_to_server(servicer, server),
        close=log.close,
    )

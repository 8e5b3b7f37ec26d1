"""A grpc.aio DeviceAgentService that approves every device, hands each one deployment on
its Sync stream and acknowledges every telemetry record without checking or storing it: the floor of
benchmarks/edge.py's ingest, what receiving telemetry through Python gRPC costs before any
validation, deduplication or disk write.

    python benchmarks/bare_fleet_server.py
"""

from __future__ import annotations

import asyncio
import os
import time

from google.protobuf import timestamp_pb2
from grpc import aio

from lepton.edge.v1 import device_agent_service_pb2 as pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as pb_grpc
from lepton.edge.v1 import device_pb2, device_state_pb2, release_pb2

TOKEN_SECONDS = 3600
# What every device runs, so that its simulated inferences have a deployment.
DESIRED = device_state_pb2.DesiredState(
    generation=1,
    deployments=[
        device_state_pb2.DesiredDeployment(
            deployment="deployments/sim",
            rollout="deployments/sim/rollouts/bare",
            release=release_pb2.ModelRelease(model_version="models/sim/versions/1"),
        )
    ],
)


def _timestamp(seconds_from_now: float = 0.0) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(time.time_ns() + int(seconds_from_now * 1e9))
    return stamp


class BareFleet(pb_grpc.DeviceAgentServiceServicer):
    async def CreateRegistrationChallenge(self, request, context):
        return pb.CreateRegistrationChallengeResponse(
            challenge=os.urandom(32), expire_time=_timestamp(300)
        )

    async def Register(self, request, context):
        return pb.RegisterResponse(
            device=f"devices/{request.device_id}",
            approval_state=device_pb2.DEVICE_APPROVAL_STATE_APPROVED,
            access_token="bare",
            access_token_expire_time=_timestamp(TOKEN_SECONDS),
            server_time=_timestamp(),
        )

    async def Sync(self, requests, context):
        hello = await requests.__anext__()
        yield pb.SyncResponse(
            welcome=pb.SyncWelcome(device=hello.hello.boot_id, server_time=_timestamp())
        )
        yield pb.SyncResponse(desired_state=DESIRED)
        async for _ in requests:
            pass

    async def UploadTelemetry(self, request, context):
        return pb.UploadTelemetryResponse(
            acknowledgements=[
                pb.StreamAcknowledgement(
                    stream=segment.stream,
                    boot_id=segment.boot_id,
                    acknowledged_sequence=segment.records[-1].sequence if segment.records else 0,
                    accepted_record_count=len(segment.records),
                )
                for segment in request.segments
            ]
        )


async def main() -> None:
    server = aio.server()
    pb_grpc.add_DeviceAgentServiceServicer_to_server(BareFleet(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())

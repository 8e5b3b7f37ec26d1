"""A slice of `make fuzz` (support/rpc_fuzz.py) in every test run: generated requests to every
RPC of a server with every layer, none answered UNKNOWN, INTERNAL or an UNAVAILABLE without
its reason, no call that is not a watch left hanging, nothing left behind by a refused call,
and the server serving at the end."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.rpc_fuzz import fuzz, listed, services
from support.servers import start_server

EXAMPLES = 1500


def test_generated_requests_are_refused_cleanly(model_repository, tmp_path):
    args = ["--model-repository", str(model_repository), "--flight-address", "127.0.0.1:0"]
    server = start_server(args, tmp_path / "data")
    try:
        before = listed(server.address)
        outcome = fuzz(server.address, EXAMPLES, seed=0)
        assert outcome.findings == []
        # Nothing is there that no successful write made: a refused call left nothing behind.
        assert listed(server.address) - before - outcome.created == set()
        assert outcome.calls == EXAMPLES
        # Most methods were reached, and most calls were refused as the client's mistakes.
        methods = sum(len(s.methods) for s in services())
        assert len({method for method, _ in outcome.codes}) >= methods * 0.8
        with grpc.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        assert server.stop() == 0

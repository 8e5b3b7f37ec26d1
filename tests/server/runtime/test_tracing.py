"""OpenTelemetry traces (GEN-104): a real `lepton serve --otlp-endpoint` exporting to an
OTLP/gRPC collector played by this test (opentelemetry-proto's own TraceService), with the
caller's W3C trace context followed from the call to the domain's spans."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as collector_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as collector_grpc

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = (("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"),)


class _Collector(collector_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = []
        self.arrived = threading.Condition()

    def Export(self, request, context):
        with self.arrived:
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    self.spans.extend(scope.spans)
            self.arrived.notify_all()
        return collector_pb.ExportTraceServiceResponse()

    def wait_for(self, names: set[str], timeout: float = 30.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not names <= {s.name for s in self.spans}:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"spans {names} not exported: {[s.name for s in self.spans]}"
                    )
                self.arrived.wait(left)
            return {s.name: s for s in self.spans}


@pytest.fixture
def collector():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = _Collector()
    collector_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


@pytest.mark.parametrize("plane", ["compiled", "python"])
def test_a_call_is_a_span_of_its_callers_trace_with_the_domains_spans_under_it(
    collector, server_factory, monkeypatch, plane
):
    servicer, endpoint = collector
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # export within a tenth of a second
    server = server_factory(
        "--services", "data", "--otlp-endpoint", endpoint, "--data-plane", plane
    )
    table = pa.table({"x": list(range(1000))})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.DatasetServiceStub(channel)
        stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="traced"), metadata=TRACEPARENT)
        header = pb.WriteVersionHeader(parent="datasets/traced", mode=resources.WRITE_MODE_APPEND)
        messages = [
            pb.WriteVersionRequest(header=header),
            pb.WriteVersionRequest(arrow_data=sink.getvalue().to_pybytes()),
        ]
        stub.WriteVersion(iter(messages), metadata=TRACEPARENT)
        with pytest.raises(grpc.RpcError):
            stub.GetDataset(pb.GetDatasetRequest(name="datasets/absent"), metadata=TRACEPARENT)
    write = "lepton.data.v1.DatasetService/WriteVersion"
    get = "lepton.data.v1.DatasetService/GetDataset"
    spans = servicer.wait_for({write, get, "data.take_in", "data.publish"})
    call = spans[write]
    assert call.trace_id.hex() == TRACE_ID
    assert call.parent_span_id.hex() == PARENT_ID
    assert call.kind == call.SPAN_KIND_SERVER
    attributes = {a.key: a.value for a in call.attributes}
    assert attributes["rpc.grpc.status_code"].int_value == 0
    assert attributes["rpc.method"].string_value == "WriteVersion"
    for step in ("data.take_in", "data.publish"):
        assert spans[step].trace_id.hex() == TRACE_ID
        assert spans[step].parent_span_id == call.span_id
    failed = spans[get]
    assert failed.status.code == failed.status.STATUS_CODE_ERROR
    assert "NOT_FOUND" in failed.status.message

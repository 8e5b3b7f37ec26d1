"""The audit log (spec/general.md "Audit", GEN-017, GEN-018) of a real `lepton serve`: what it
records, what it leaves out, who may list it, and that it survives a restart as JSON Lines."""

from __future__ import annotations

import json

import grpc
import pytest
from support.servers import start_server
from support.status_details import error_info

from lepton.audit.v1 import audit_service_pb2 as audit_pb
from lepton.audit.v1 import audit_service_pb2_grpc as audit_grpc
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc

ADMIN, WRITER, READER = "admin-token", "writer-token", "reader-token"
DATASET = "/lepton.data.v1.DatasetService/"


def _auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def audited(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{ADMIN} ada\n{WRITER} walt roles=writer\n{READER} rita roles=reader\n")
    args = ["--services", "data", "--auth-tokens", str(tokens)]
    server = start_server(args, tmp_path / "data")
    yield server, args, tmp_path / "data"
    server.stop()


LISTING = "/lepton.audit.v1.AuditService/ListAuditEvents"


def _events(address: str, filter: str = "", listings: bool = False) -> list[audit_pb.AuditEvent]:
    """The log's events; those of the listing calls themselves (an admin's call, recorded as
    every admin's is) only with `listings`."""
    with grpc.insecure_channel(address) as channel:
        stub = audit_grpc.AuditServiceStub(channel)
        events, token = [], ""
        while True:
            page = stub.ListAuditEvents(
                audit_pb.ListAuditEventsRequest(page_size=2, page_token=token, filter=filter),
                metadata=_auth(ADMIN),
            )
            events.extend(page.events)
            token = page.next_page_token
            if not token:
                return [e for e in events if listings or e.method != LISTING]


def test_writes_and_refusals_are_recorded_and_reads_are_not(audited):
    server, _, _ = audited
    with grpc.insecure_channel(server.address) as channel:
        datasets = data_grpc.DatasetServiceStub(channel)
        datasets.CreateDataset(
            data_pb.CreateDatasetRequest(dataset_id="kept"), metadata=_auth(WRITER)
        )
        datasets.GetDataset(data_pb.GetDatasetRequest(name="datasets/kept"), metadata=_auth(READER))
        with pytest.raises(grpc.RpcError) as refused:
            datasets.CreateDataset(
                data_pb.CreateDatasetRequest(dataset_id="refused"), metadata=_auth(READER)
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError):
            datasets.GetDataset(data_pb.GetDatasetRequest(name="datasets/kept"))
        with pytest.raises(grpc.RpcError) as missing:
            datasets.DeleteDataset(
                data_pb.DeleteDatasetRequest(name="datasets/none"), metadata=_auth(WRITER)
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    events = _events(server.address)
    seen = [(e.principal, e.method, e.resource, e.code, e.reason) for e in events]
    assert seen == [
        ("walt", DATASET + "CreateDataset", "datasets/kept", "OK", ""),
        ("rita", DATASET + "CreateDataset", "", "PERMISSION_DENIED", "PERMISSION_DENIED"),
        ("", DATASET + "GetDataset", "", "UNAUTHENTICATED", "MISSING_CREDENTIALS"),
        ("walt", DATASET + "DeleteDataset", "datasets/none", "NOT_FOUND", "RESOURCE_NOT_FOUND"),
    ]
    assert [e.sequence for e in events] == [1, 2, 3, 4]  # before any listing
    assert all(e.time.seconds > 0 for e in events)
    assert events[0].time.ToNanoseconds() <= events[-1].time.ToNanoseconds()
    refusals = _events(server.address, 'code != "OK" AND code != "NOT_FOUND"')
    assert [e.sequence for e in refusals] == [2, 3]
    assert [e.sequence for e in _events(server.address, 'principal = "walt"')] == [1, 4]


def test_only_an_admin_lists_the_log_and_a_refusal_is_recorded(audited):
    server, _, _ = audited
    with grpc.insecure_channel(server.address) as channel:
        stub = audit_grpc.AuditServiceStub(channel)
        for token in (READER, WRITER):
            with pytest.raises(grpc.RpcError) as refused:
                stub.ListAuditEvents(audit_pb.ListAuditEventsRequest(), metadata=_auth(token))
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert error_info(refused.value).metadata["required_role"] == "admin"
        with pytest.raises(grpc.RpcError) as bad_filter:
            stub.ListAuditEvents(
                audit_pb.ListAuditEventsRequest(filter="colour = 1"), metadata=_auth(ADMIN)
            )
        assert error_info(bad_filter.value).reason == "INVALID_FILTER"
    events = _events(server.address, listings=True)
    assert [(e.principal, e.method, e.code) for e in events[:4]] == [
        ("rita", LISTING, "PERMISSION_DENIED"),
        ("walt", LISTING, "PERMISSION_DENIED"),
        ("ada", LISTING, "INVALID_ARGUMENT"),
        ("ada", LISTING, "OK"),
    ]


def test_the_log_is_json_lines_that_outlive_a_restart(audited):
    server, args, data_dir = audited
    with grpc.insecure_channel(server.address) as channel:
        data_grpc.DatasetServiceStub(channel).CreateDataset(
            data_pb.CreateDatasetRequest(dataset_id="first"), metadata=_auth(WRITER)
        )
    server.stop()
    restarted = start_server(args, data_dir)
    try:
        with grpc.insecure_channel(restarted.address) as channel:
            data_grpc.DatasetServiceStub(channel).CreateDataset(
                data_pb.CreateDatasetRequest(dataset_id="second"), metadata=_auth(WRITER)
            )
        events = _events(restarted.address)
    finally:
        restarted.stop()
    assert [(e.sequence, e.resource) for e in events] == [
        (1, "datasets/first"),
        (2, "datasets/second"),
    ]
    lines = (data_dir / "audit" / "events.jsonl").read_text().splitlines()
    written = [json.loads(line) for line in lines]
    assert [e["resource"] for e in written[:2]] == ["datasets/first", "datasets/second"]
    assert {e["method"] for e in written[2:]} == {LISTING}
    assert (data_dir / "audit" / "events.jsonl").stat().st_mode & 0o777 == 0o600


def test_a_line_a_crash_cut_short_is_skipped_and_keeps_its_number(tmp_path):
    """The log a crash left mid-line: the next event starts a line of its own, the cut line
    is skipped without renumbering the rest, and a closed log refuses quietly."""
    from lepton_server.runtime.audit_log import AuditLog  # noqa: PLC0415

    path = tmp_path / "audit" / "events.jsonl"
    log = AuditLog(path)
    log.append("ada", "/s.S/CreateX", "xs/1", "OK", "")
    log.close()
    with path.open("ab") as file:
        file.write(b'{"time":"2026-12-05T00:00:00Z","princ')  # the crash
    log = AuditLog(path)
    log.append("ada", "/s.S/CreateX", "xs/2", "OK", "")
    events = list(log.events())
    assert [(e.sequence, e.resource) for e in events] == [(1, "xs/1"), (3, "xs/2")]
    log.close()
    log.append("ada", "/s.S/CreateX", "xs/3", "OK", "")  # logged, not raised
    assert [e.resource for e in AuditLog(path).events()] == ["xs/1", "xs/2"]

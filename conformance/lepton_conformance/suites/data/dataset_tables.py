"""data-core cases generated from tables: the error tables and read selections of
vectors/data.yaml, and the invalid Arrow streams and unsupported column types of
arrow_samples.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect, vectors
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data import arrow_samples
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import (
    INVALID,
    NOT_FOUND,
    TABLES,
    check_selection,
    check_unchanged,
    fixture,
    row_title,
    send_request,
    table_request,
)
from lepton_conformance.suites.data.dataset_client import (
    OVERWRITE,
    DatasetClient,
    data,
    header,
    ipc_stream,
    unique_id,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- error tables (vectors/data.yaml) ----------------------------------------------------------


def _register_names() -> None:
    for row in TABLES["names"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with fixture(client) as names:
                request = table_request(row["rpc"], row["request"], names)
                expect.rejects(
                    lambda: send_request(client, row["rpc"], request),
                    INVALID,
                    "INVALID_NAME",
                    field=row["field"],
                )

        body.__doc__ = f"{row['rpc']}, {row_title(row['id'])}: INVALID_ARGUMENT [INVALID_NAME]"
        requirements = row.get("requirements", ["DAT-003"])
        CASES.case(CORE, f"names.{row['id']}", *requirements, "DAT-002", "GEN-050")(body)


def _register_not_found() -> None:
    for row in TABLES["not_found"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with fixture(client) as names:
                request = table_request(row["rpc"], row["request"], names)
                wanted = vectors.filled(row.get("resource_name"), names)
                error = expect.rejects(
                    lambda: send_request(client, row["rpc"], request),
                    NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                    metadata={"resource_name": wanted} if wanted else None,
                )
                info = expect.error_info(error)
                expect.holds(
                    bool(info.metadata.get("resource_name")),
                    "ErrorInfo metadata resource_name",
                    f"metadata {dict(info.metadata)}",
                )

        body.__doc__ = f"{row['rpc']}, {row_title(row['id'])}: NOT_FOUND with resource_name"
        requirements = ["DAT-003", *row.get("requirements", [])]
        CASES.case(CORE, f"not-found.{row['id']}", *requirements, "DAT-002", "GEN-051")(body)


def _list_request(rpc: str, parent: str, **fields: Any) -> Message:
    if rpc == "ListVersions":
        return pb.ListVersionsRequest(parent=parent, **fields)
    return pb.ListDatasetsRequest(**fields)


def _register_filters_and_orders() -> None:
    for table, field, reason, general in (
        ("filters", "filter", "INVALID_FILTER", "GEN-048"),
        ("orders", "order_by", "INVALID_FIELD", "GEN-057"),
    ):
        for row in TABLES[table]:

            def body(
                ctx: CaseContext,
                row: dict[str, Any] = row,
                field: str = field,
                reason: str = reason,
            ) -> None:
                client = DatasetClient(ctx)
                with client.scratch() as name:
                    request = _list_request(row["rpc"], name, **{field: row[field]})
                    expect.rejects(
                        lambda: client.call(row["rpc"], request), INVALID, reason, field=field
                    )

            body.__doc__ = f"{row['rpc']} {field} {row[field]!r}: INVALID_ARGUMENT [{reason}]"
            CASES.case(CORE, f"{table}.{row['id']}", "DAT-007", "DAT-002", general)(body)


def _register_labels() -> None:
    for row in TABLES["labels"]:
        labels = (
            {f"k{i}": "v" for i in range(row["count"])} if "count" in row else dict(row["labels"])
        )

        def body(ctx: CaseContext, row: dict[str, Any] = row, labels: dict = labels) -> None:
            client = DatasetClient(ctx)
            field = f"dataset.{row['field']}"
            dataset_id = unique_id()
            request = pb.CreateDatasetRequest(
                dataset_id=dataset_id, dataset=resources.Dataset(labels=labels)
            )
            try:
                expect.rejects(
                    lambda: client.call("CreateDataset", request),
                    INVALID,
                    "INVALID_FIELD",
                    field=field,
                )
                expect.rejects(
                    lambda: client.call(
                        "GetDataset", pb.GetDatasetRequest(name=f"datasets/{dataset_id}")
                    ),
                    NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                )
            finally:
                client.delete(f"datasets/{dataset_id}")
            with client.scratch(labels={"kept": "yes"}) as name:
                before = client.dataset(name)
                update = pb.UpdateDatasetRequest(
                    dataset=resources.Dataset(name=name, labels=labels),
                    update_mask=FieldMask(paths=["labels"]),
                )
                expect.rejects(
                    lambda: client.call("UpdateDataset", update),
                    INVALID,
                    "INVALID_FIELD",
                    field=field,
                )
                expect.equal(client.dataset(name), before, "the dataset after the rejected update")

        body.__doc__ = f"Labels with {row_title(row['id'])}: INVALID_FIELD on create and update"
        CASES.case(CORE, f"labels.{row['id']}", "DAT-011", "DAT-002", "GEN-056")(body)


def _register_write_headers() -> None:
    for row in TABLES["write_headers"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with fixture(client) as names:
                before = client.dataset(names["name"])
                first = table_request("WriteVersion", row["header"], names)
                if "description_length" in row:
                    first.description = "d" * row["description_length"]
                messages = [pb.WriteVersionRequest(header=first), *data([ipc_stream(rows(1))])]
                expect.rejects(
                    lambda: client.stream(messages),
                    getattr(grpc.StatusCode, row["code"]),
                    row["reason"],
                    field=row.get("field"),
                )
                check_unchanged(client, names["name"], before, "the rejected header")
                tags = client.call("ListTags", pb.ListTagsRequest(parent=names["name"])).tags
                expect.equal([t.name for t in tags], [], "tags after the rejected header")

        body.__doc__ = (
            f"WriteVersion header, {row_title(row['id'])}: {row['code']} [{row['reason']}]"
        )
        requirements = row.get("requirements", ["DAT-022"])
        CASES.case(CORE, f"write-header.{row['id']}", *requirements, "DAT-002")(body)


def _register_read_errors() -> None:
    for row in TABLES["read_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with fixture(client) as names:
                request = json_format.ParseDict(
                    row["request"], pb.ReadVersionRequest(name=names["{v}"])
                )
                expect.rejects(
                    lambda: client.call("ReadVersion", request),
                    getattr(grpc.StatusCode, row["code"]),
                    row["reason"],
                    field=row.get("field"),
                    metadata=row.get("metadata"),
                )

        body.__doc__ = f"ReadVersion, {row_title(row['id'])}: {row['code']} [{row['reason']}]"
        CASES.case(CORE, f"read-error.{row['id']}", *row["requirements"], "DAT-002")(body)


def _register_selections() -> None:
    for row in TABLES["selections"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            client = DatasetClient(ctx)
            with fixture(client) as names:
                responses = client.read(names["{v}"], **row["request"])
                start, end = row["rows"]
                check_selection(
                    responses,
                    version=names["{v}"],
                    table=rows(10),
                    start=start,
                    end=end,
                    batch_rows=row.get("batch_rows"),
                )

        body.__doc__ = f"ReadVersion, {row_title(row['id'])}: header, batches and row offsets"
        CASES.case(CORE, f"read.selection.{row['id']}", "DAT-052", "DAT-053")(body)


def _register_invalid_streams() -> None:
    for kind, chunks in arrow_samples.INVALID_STREAMS.items():

        def body(ctx: CaseContext, chunks: Callable[[], list[bytes]] = chunks) -> None:
            client = DatasetClient(ctx)
            with fixture(client) as names:
                before = client.dataset(names["name"])
                messages = [header(names["name"], OVERWRITE, tags=["bad"]), *data(chunks())]
                expect.rejects(
                    lambda: client.stream(messages),
                    INVALID,
                    "INVALID_ARROW_DATA",
                    field="arrow_data",
                )
                check_unchanged(client, names["name"], before, "the invalid stream")

        body.__doc__ = f"WriteVersion of {row_title(kind)}: INVALID_ARGUMENT [INVALID_ARROW_DATA]"
        CASES.case(CORE, f"write-invalid-arrow.{kind}", "DAT-023", "DAT-002")(body)


def _register_unsupported_types() -> None:
    for kind in arrow_samples.UNSUPPORTED_COLUMNS:

        def body(ctx: CaseContext, kind: str = kind) -> None:
            client = DatasetClient(ctx)
            with fixture(client) as names:
                before = client.dataset(names["name"])
                stream = ipc_stream(arrow_samples.unsupported_table(kind))
                messages = [header(names["name"], OVERWRITE), *data([stream])]
                expect.rejects(
                    lambda: client.stream(messages),
                    INVALID,
                    "UNSUPPORTED_ARROW_TYPE",
                    metadata={"column": "bad"},
                )
                check_unchanged(client, names["name"], before, "the unsupported type")

        body.__doc__ = f"WriteVersion of a {row_title(kind)} column: UNSUPPORTED_ARROW_TYPE"
        CASES.case(CORE, f"write-unsupported-type.{kind}", "DAT-024", "DAT-002")(body)


_register_names()
_register_not_found()
_register_filters_and_orders()
_register_labels()
_register_write_headers()
_register_invalid_streams()
_register_unsupported_types()
_register_read_errors()
_register_selections()

"""data-core cases of ListDatasets (order, filters) and of pagination (spec/data.md §7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import (
    INVALID,
    expected_order,
    labelled_datasets,
    nanos_of,
    quoted,
    rfc3339,
    run_filter,
)
from lepton_conformance.suites.data.dataset_client import (
    APPEND,
    DatasetClient,
    unique_id,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- listing datasets -------------------------------------------------------------------------


@CASES.case(CORE, "datasets.list-default-order-and-pages", "DAT-014", "DAT-005", "DAT-006")
def list_datasets_pages(ctx: CaseContext) -> None:
    """ListDatasets returns datasets by ascending name; walking with page_size 1 and 2 yields
    the same datasets once each in the same order; page_size 0 and 5000 return them all."""
    client = DatasetClient(ctx)
    with labelled_datasets(client, 5) as (run, names):
        selection = run_filter(run)
        for size in (0, 5000):
            page = client.call(
                "ListDatasets", pb.ListDatasetsRequest(filter=selection, page_size=size)
            )
            expect.equal([d.name for d in page.datasets], names, f"datasets with page_size {size}")
            expect.equal(page.next_page_token, "", f"next_page_token with page_size {size}")
        for size in (1, 2):
            walked = client.walk(
                "ListDatasets", pb.ListDatasetsRequest(filter=selection, page_size=size)
            )
            expect.equal([d.name for d in walked], names, f"datasets walked with page_size {size}")
            expect.equal(walked, [client.dataset(n) for n in names], "listed datasets = GetDataset")


@CASES.case(CORE, "datasets.list-order-by", "DAT-014", "DAT-007", "GEN-057")
def list_datasets_order(ctx: CaseContext) -> None:
    """ListDatasets orders by name, create_time and update_time, ascending or desc, ties by
    name, also across pages."""
    client = DatasetClient(ctx)
    with labelled_datasets(client, 5) as (run, names):
        selection = run_filter(run)
        for name in (names[3], names[1]):
            client.call(
                "UpdateDataset",
                pb.UpdateDatasetRequest(
                    dataset=resources.Dataset(name=name, description="touched"),
                    update_mask=FieldMask(paths=["description"]),
                ),
            )
        datasets = [client.dataset(n) for n in names]
        for order_by in (
            "name desc",
            "create_time desc",
            "update_time",
            "update_time desc, name desc",
            "create_time, update_time desc",
        ):
            wanted = expected_order(datasets, order_by, "name")
            for size in (0, 2):
                walked = client.walk(
                    "ListDatasets",
                    pb.ListDatasetsRequest(filter=selection, order_by=order_by, page_size=size),
                )
                expect.equal(
                    [d.name for d in walked], wanted, f"order {order_by!r}, page_size {size}"
                )


@CASES.case(
    CORE,
    "datasets.list-filters",
    "DAT-014",
    "DAT-007",
    "GEN-045",
    "GEN-046",
    "GEN-047",
    "GEN-049",
)
def list_datasets_filters(ctx: CaseContext) -> None:
    """ListDatasets filters on labels.<key> and display_name (=, !=) and on create_time with
    every comparison, returning exactly the matching datasets."""
    client = DatasetClient(ctx)
    with labelled_datasets(client, 5) as (run, names):
        selection = run_filter(run)
        for i, name in enumerate(names):
            client.call(
                "UpdateDataset",
                pb.UpdateDatasetRequest(
                    dataset=resources.Dataset(
                        name=name,
                        display_name=f'Set "{i % 2}" \\',
                        labels={"run": run, **({"team": "a"} if i < 2 else {})},
                    ),
                    update_mask=FieldMask(paths=["display_name", "labels"]),
                ),
            )
        datasets = [client.dataset(n) for n in names]
        odd = datasets[1].display_name
        pivot = nanos_of(datasets[2].create_time)
        at = rfc3339(pivot)
        comparisons = {
            "=": lambda t: t == pivot,
            "!=": lambda t: t != pivot,
            "<": lambda t: t < pivot,
            "<=": lambda t: t <= pivot,
            ">": lambda t: t > pivot,
            ">=": lambda t: t >= pivot,
        }
        cases: list[tuple[str, Callable[[resources.Dataset], bool]]] = [
            ('labels.team = "a"', lambda d: d.labels.get("team") == "a"),
            ('labels.team != "a"', lambda d: d.labels.get("team") != "a"),
            ('labels.team = ""', lambda d: "team" not in d.labels),
            (f"display_name = {quoted(odd)}", lambda d: d.display_name == odd),
            (f"display_name != {quoted(odd)}", lambda d: d.display_name != odd),
            (f"display_name = {quoted(odd.lower())}", lambda d: False),
            (
                f'create_time <= "{rfc3339(pivot, offset_minutes=150)}"',
                lambda d: nanos_of(d.create_time) <= pivot,
            ),
        ]
        cases += [
            (f'create_time {op} "{at}"', lambda d, test=test: test(nanos_of(d.create_time)))
            for op, test in comparisons.items()
        ]
        since = nanos_of(datasets[1].create_time)
        cases.append(
            (
                f'create_time >= "{rfc3339(since)}" AND create_time < "{at}"',
                lambda d: since <= nanos_of(d.create_time) < pivot,
            )
        )
        for term, matches in cases:
            request = pb.ListDatasetsRequest(filter=f"{selection} AND {term}")
            got = [d.name for d in client.walk("ListDatasets", request)]
            wanted = [d.name for d in datasets if matches(d)]
            expect.equal(got, wanted, f"datasets matching {term!r}")


# --- pagination -------------------------------------------------------------------------------


def _every_list_rejects(
    client: DatasetClient,
    parent: str,
    reason: str,
    field: str,
    value: Any,
    *,
    datasets_filter: str = "",
) -> None:
    """ListDatasets (with `datasets_filter`), then ListVersions and ListTags of `parent`, each
    with `field` set to `value`, fail INVALID_ARGUMENT with `reason` and a violation on
    `field`."""
    for rpc, request in (
        ("ListDatasets", pb.ListDatasetsRequest(filter=datasets_filter, **{field: value})),
        ("ListVersions", pb.ListVersionsRequest(parent=parent, **{field: value})),
        ("ListTags", pb.ListTagsRequest(parent=parent, **{field: value})),
    ):
        expect.rejects(
            lambda rpc=rpc, request=request: client.call(rpc, request),
            INVALID,
            reason,
            field=field,
        )


@CASES.case(CORE, "pagination.negative-page-size-is-invalid", "DAT-005", "DAT-002")
def negative_page_size(ctx: CaseContext) -> None:
    """page_size -1 on ListDatasets, ListVersions and ListTags is INVALID_FIELD on page_size."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        _every_list_rejects(client, name, "INVALID_FIELD", "page_size", -1)


@CASES.case(CORE, "pagination.foreign-token-is-invalid", "DAT-006", "DAT-002")
def foreign_token(ctx: CaseContext) -> None:
    """A page token the server never issued is INVALID_PAGE_TOKEN on every data-layer List."""
    client = DatasetClient(ctx)
    # Requests no token was ever issued for, whatever the server's token format: the versions
    # and tags of a new dataset that never held any, and the datasets of a filter no request
    # used before. Every non-empty token is foreign to them (DAT-006).
    never_listed = run_filter(unique_id("run"))
    with client.scratch() as name:
        for token in ("not-a-token", "AAAA", "\u00e9t\u00e9", "eyJwIjoxfQ"):
            _every_list_rejects(
                client,
                name,
                "INVALID_PAGE_TOKEN",
                "page_token",
                token,
                datasets_filter=never_listed,
            )


@CASES.case(CORE, "pagination.token-bound-to-its-request", "DAT-006", "GEN-043")
def token_bound(ctx: CaseContext) -> None:
    """A page token works with another page_size but is INVALID_PAGE_TOKEN with another
    parent, filter, order_by or method."""
    client = DatasetClient(ctx)
    with labelled_datasets(client, 2) as (run, (first, second)):
        selection = run_filter(run)
        for name in (first, second):
            for i in range(3):
                client.write(name, rows(1, i), APPEND, tags=[f"t{i}"])
        versions = client.call("ListVersions", pb.ListVersionsRequest(parent=first, page_size=1))
        tags = client.call("ListTags", pb.ListTagsRequest(parent=first, page_size=1))
        datasets = client.call(
            "ListDatasets", pb.ListDatasetsRequest(filter=selection, page_size=1)
        )
        for token in (versions.next_page_token, tags.next_page_token, datasets.next_page_token):
            expect.holds(bool(token), "a next_page_token after a first page of one", "none")
        following = client.call(
            "ListVersions",
            pb.ListVersionsRequest(parent=first, page_size=5, page_token=versions.next_page_token),
        )
        expect.equal(
            [v.sequence_number for v in following.versions], [2, 1], "versions after page 1"
        )
        wrong = [
            (
                "ListVersions",
                pb.ListVersionsRequest(parent=second, page_token=versions.next_page_token),
            ),
            (
                "ListVersions",
                pb.ListVersionsRequest(
                    parent=first, filter="sequence_number > 0", page_token=versions.next_page_token
                ),
            ),
            (
                "ListVersions",
                pb.ListVersionsRequest(
                    parent=first, order_by="sequence_number", page_token=versions.next_page_token
                ),
            ),
            ("ListTags", pb.ListTagsRequest(parent=second, page_token=tags.next_page_token)),
            (
                "ListDatasets",
                pb.ListDatasetsRequest(filter=selection, page_token=versions.next_page_token),
            ),
            ("ListDatasets", pb.ListDatasetsRequest(page_token=datasets.next_page_token)),
            (
                "ListDatasets",
                pb.ListDatasetsRequest(
                    filter=selection, order_by="name desc", page_token=datasets.next_page_token
                ),
            ),
        ]
        for rpc, request in wrong:
            expect.rejects(
                lambda rpc=rpc, request=request: client.call(rpc, request),
                INVALID,
                "INVALID_PAGE_TOKEN",
            )

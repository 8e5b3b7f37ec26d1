"""The dataset versions annotation projects bind to, written through the target's own
lepton.data.v1.DatasetService: one shared fixture for the run (two versions of one dataset,
the second appending rows, a tag on each, and a version of a second dataset), deleted after the
last case, and scratch datasets of a case's own. A target without DatasetService leaves the
cases Skipped, with what they needed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.annotation.images import jpeg, png
from lepton_conformance.suites.data.dataset_client import APPEND, DatasetClient
from lepton_conformance.suites.data.dataset_client import SERVICE as DATASETS

# Code points, not bytes, measure spans (ANN-030): several rows hold multi-byte characters.
TEXTS = ["Alice met Bob in Paris", "héllo wörld ☃", "", "Zürich 🚀 ok", "plain text", "six"]
APPENDED_TEXTS = ["appended one", "appended two"]
IMAGES = [png(3, 2), jpeg(5, 3, 6), png(7, 4), b"not an image at all", jpeg(2, 9), png(1, 1)]
APPENDED_IMAGES = [png(4, 4), jpeg(6, 2, 8)]
# (width, height, orientation) each row's image gives (ANN-055); None: not an image.
GEOMETRY = [(3, 2, 1), (5, 3, 6), (7, 4, 1), None, (2, 9, 1), (1, 1, 1), (4, 4, 1), (6, 2, 8)]
CACHE_KEY = "annotation-data"


def rows(texts: list[str], images: list[bytes], first: int) -> pa.Table:
    """The fixture's columns: a string text, an int64, a binary image and a large_string."""
    count = len(texts)
    return pa.table(
        {
            "text": pa.array(texts, pa.string()),
            "n": pa.array(range(first, first + count), pa.int64()),
            "image": pa.array(images, pa.binary()),
            "note": pa.array([f"note {first + i}" for i in range(count)], pa.large_string()),
        }
    )


FIRST_ROWS = rows(TEXTS, IMAGES, 0)
APPENDED_ROWS = rows(APPENDED_TEXTS, APPENDED_IMAGES, len(TEXTS))
ALL_TEXTS = TEXTS + APPENDED_TEXTS


@dataclass(frozen=True)
class AnnotationData:
    """The shared fixture: `first` (6 rows), `second` (the 6 and 2 appended), a tag on each,
    and `other`, a version of another dataset."""

    dataset: str
    first: str
    second: str
    first_tag: str
    second_tag: str
    other: str
    datasets: DatasetClient

    @property
    def second_id(self) -> str:
        return version_id(self.second)


def version_id(name: str) -> str:
    """The id `{v}` of `datasets/{d}/versions/{v}`."""
    return name.rsplit("/", 1)[1]


def _datasets(ctx: CaseContext) -> DatasetClient:
    if not ctx.info.serves(DATASETS):
        raise Skipped(
            f"annotation projects bind to dataset versions and the target does not serve "
            f"{DATASETS} to write them",
            needs=f"{DATASETS} on the target, holding the suite's annotation datasets",
        )
    return DatasetClient(ctx)


def shared_data(ctx: CaseContext) -> AnnotationData:
    """The run's fixture, written at first use and deleted after the last case."""
    found = ctx.cache.get(CACHE_KEY)
    if found is not None:
        return found
    client = _datasets(ctx)
    stack = contextlib.ExitStack()
    names = stack.enter_context(client.scratches(2))
    try:
        first = client.write(names[0], FIRST_ROWS, tags=["first"])
        second = client.write(names[0], APPENDED_ROWS, APPEND, tags=["second"])
        other = client.write(names[1], FIRST_ROWS)
    except BaseException:
        stack.close()
        raise
    expect.equal(second.row_count, len(ALL_TEXTS), "row_count of the appending version")
    ctx.closing.push(stack)
    found = AnnotationData(
        names[0],
        first.name,
        second.name,
        f"{names[0]}/tags/first",
        f"{names[0]}/tags/second",
        other.name,
        client,
    )
    ctx.cache[CACHE_KEY] = found
    return found


@contextlib.contextmanager
def own_dataset(ctx: CaseContext, table: pa.Table) -> Iterator[tuple[str, str]]:
    """A scratch dataset of the case's own with one version of `table`: (dataset, version),
    deleted when the block ends."""
    client = _datasets(ctx)
    with client.scratch() as dataset:
        yield dataset, client.write(dataset, table).name


def delete_dataset(ctx: CaseContext, name: str) -> None:
    """DeleteDataset with force, which must succeed."""
    request = data_pb.DeleteDatasetRequest(name=name, force=True)
    expect.succeeds(lambda: DatasetClient(ctx).call("DeleteDataset", request), "DeleteDataset")

"""The dataset every training job of the suite names (TRN-056 wants a TRAIN dataset even for
the conformance trainer, which ignores it): a scratch dataset in the target's own data layer
with two versions of a few rows and a tag on the first, deleted when the case ends. A target
without DatasetService leaves the case Skipped, with what it needed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.data.dataset_client import SERVICE as DATASETS
from lepton_conformance.suites.data.dataset_client import DatasetClient

ROWS = pa.table({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]})


@dataclass(frozen=True)
class TrainingDataset:
    """The fixture: its dataset, the first and second version, a tag on the first, and the
    first version as DatasetService reports it (for its content_digest)."""

    dataset: str
    version: str
    second: str
    tag: str
    first: Any
    client: DatasetClient

    def move_tag(self) -> None:
        """Point the tag at the second version."""
        request = data_pb.SetTagRequest(name=self.tag, version=self.second)
        expect.succeeds(lambda: self.client.call("SetTag", request), "SetTag")


@contextlib.contextmanager
def training_dataset(ctx: CaseContext) -> Iterator[TrainingDataset]:
    """A scratch dataset with two versions and the tag `current` on the first."""
    if not ctx.info.serves(DATASETS):
        raise Skipped(
            f"training jobs need a TRAIN dataset (TRN-056) and the target does not serve "
            f"{DATASETS} to create one",
            needs=f"{DATASETS} on the target, holding the suite's training dataset",
        )
    client = DatasetClient(ctx)
    with client.scratch() as dataset:
        first = client.write(dataset, ROWS)
        second = client.write(dataset, ROWS.slice(0, 3))
        tag = f"{dataset}/tags/current"
        request = data_pb.SetTagRequest(name=tag, version=first.name)
        expect.succeeds(lambda: client.call("SetTag", request), "SetTag")
        yield TrainingDataset(dataset, first.name, second.name, tag, first, client)

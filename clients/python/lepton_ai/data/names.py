"""How the data layer's calls name what they act on: a dataset by id or resource name, a
version or tag by resource name, or by the message the server returned."""

from __future__ import annotations

from lepton.data.v1 import dataset_pb2 as resources

DatasetRef = str | resources.Dataset
VersionRef = str | resources.Dataset | resources.DatasetVersion | resources.VersionTag


def dataset_name(dataset: VersionRef) -> str:
    """ "datasets/{id}" for a dataset id, a dataset, version or tag (name or message)."""
    if isinstance(dataset, resources.Dataset | resources.DatasetVersion | resources.VersionTag):
        dataset = dataset.name
    if dataset.startswith("datasets/"):
        return "/".join(dataset.split("/")[:2])
    return f"datasets/{dataset}"

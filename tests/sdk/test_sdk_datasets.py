"""The SDK's dataset metadata against a real `lepton serve` on loopback: versions listed and
read by id, tags that point at versions and move, datasets listed and deleted."""

from __future__ import annotations

import pytest
from support.sdk_samples import PEOPLE, unique

from lepton_ai import FailedPreconditionError, NotFoundError


def test_versions_are_listed_newest_first_and_readable_by_id(data):
    dataset = unique()
    first = data.load_data(PEOPLE.slice(0, 1), dataset)
    second = data.load_data(PEOPLE.slice(1, 1), dataset)
    assert [v.name for v in data.versions(dataset)] == [second.name, first.name]
    old_id = first.name.rsplit("/", 1)[1]
    assert data.read(dataset, version=old_id).equals(PEOPLE.slice(0, 1))
    assert data.read(dataset).equals(PEOPLE.slice(1, 1))  # the head
    assert data.get_dataset(dataset).head_version == second.name


def test_tags_point_at_versions_and_move(data):
    dataset = unique()
    first = data.load_data(PEOPLE.slice(0, 1), dataset, tags=["prod"])
    second = data.load_data(PEOPLE.slice(1, 1), dataset)
    assert first.tags == ["prod"]
    assert data.tags(dataset) == {"prod": first.name}
    data.tag(dataset, "latest")  # the head
    assert data.tags(dataset) == {"latest": second.name, "prod": first.name}
    assert data.read(dataset, tag="prod").equals(PEOPLE.slice(0, 1))
    moved = data.tag(second, "prod")
    assert moved.version == second.name
    data.untag(dataset, "latest")
    assert data.tags(dataset) == {"prod": second.name}
    assert data.get_version(dataset, tag="prod").name == second.name


def test_list_and_delete_datasets(data):
    dataset = unique("listed")
    data.create_dataset(dataset, display_name="Listed", labels={"team": "sdk"})
    assert dataset in [d.name.split("/")[1] for d in data.list_datasets()]
    data.load_data(PEOPLE, dataset)
    with pytest.raises(FailedPreconditionError) as raised:
        data.delete_dataset(dataset)
    assert raised.value.reason == "DATASET_NOT_EMPTY"
    data.delete_dataset(dataset, force=True)
    with pytest.raises(NotFoundError):
        data.get_dataset(dataset)

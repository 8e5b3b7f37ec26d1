"""Resource names and IDs (AIP-122, GEN-050): parse `collection/{id}/...` names and reject
malformed ones with INVALID_ARGUMENT [INVALID_NAME] before anything touches storage."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lepton_server.runtime.errors import invalid_argument

ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_id(value: str, field_path: str, what: str = "id") -> str:
    """`value` if it is an AIP-122 id, else INVALID_NAME on `field_path`."""
    if not ID.match(value):
        raise invalid_argument(
            "INVALID_NAME",
            field_path,
            f"{what} {value!r} must be 1-63 characters of a-z, 0-9 and '-', start with a "
            "letter and not end with '-'",
        )
    return value


def _form(collections: Sequence[str]) -> str:
    return "/".join(f"{c}/{{id}}" for c in collections)


def _match(name: str, collections: Sequence[str]) -> tuple[str, ...] | None:
    parts = name.split("/")
    if len(parts) != 2 * len(collections):
        return None
    if any(parts[2 * i] != c for i, c in enumerate(collections)):
        return None
    ids = tuple(parts[1::2])
    return ids if all(ID.match(value) for value in ids) else None


def parse(name: str, collections: Sequence[str], field_path: str) -> tuple[str, ...]:
    """The ids of `name` laid out as `collections[0]/{id}/collections[1]/{id}/...`."""
    ids = _match(name, collections)
    if ids is None:
        raise invalid_argument(
            "INVALID_NAME", field_path, f"{name!r} is not a name of the form {_form(collections)}"
        )
    return ids


def parse_any(
    name: str, layouts: Sequence[Sequence[str]], field_path: str
) -> tuple[Sequence[str], tuple[str, ...]]:
    """The first of `layouts` that `name` matches, with its ids (e.g. a version or a tag)."""
    for layout in layouts:
        ids = _match(name, layout)
        if ids is not None:
            return layout, ids
    forms = " or ".join(_form(layout) for layout in layouts)
    raise invalid_argument(
        "INVALID_NAME", field_path, f"{name!r} is not a name of the form {forms}"
    )

"""Names of the registry's resources (spec/registry.md, "Resources and names"): models, concrete
versions (server-assigned decimal numbers), aliases, and `models/-` for every model. A name
that does not fit is INVALID_ARGUMENT [INVALID_NAME] before anything touches storage."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lepton_server.aip import resource_names
from lepton_server.runtime.errors import invalid_argument

MODEL = ("models",)
ALIAS = ("models", "aliases")
LATEST = "latest"
ALL_MODELS = "models/-"
_NUMBER = re.compile(r"^[1-9][0-9]{0,62}$")


@dataclass(frozen=True)
class VersionRef:
    """A version named directly (`number`) or through an alias (`alias`), as requested."""

    model_id: str
    number: int | None = None
    alias: str | None = None

    @property
    def name(self) -> str:
        if self.alias is not None:
            return f"models/{self.model_id}/aliases/{self.alias}"
        return version_name(self.model_id, self.number or 0)


def version_name(model_id: str, number: int) -> str:
    return f"models/{model_id}/versions/{number}"


def model_name(model_id: str) -> str:
    return f"models/{model_id}"


def parse_model(name: str, field: str) -> str:
    """The model ID of `models/{model}`."""
    (model_id,) = resource_names.parse(name, MODEL, field)
    return model_id


def parse_alias(name: str, field: str) -> tuple[str, str]:
    """(model ID, alias ID) of `models/{model}/aliases/{alias}`."""
    model_id, alias = resource_names.parse(name, ALIAS, field)
    return model_id, alias


def parse_version(name: str, field: str, *, alias_allowed: bool = False) -> VersionRef:
    """A concrete `models/{m}/versions/{n}`, or with `alias_allowed` an alias name too;
    anything else (an alias where only a concrete name is allowed) is INVALID_NAME."""
    parts = name.split("/")
    if (
        len(parts) == 4
        and parts[0] == "models"
        and resource_names.ID.match(parts[1])
        and (parts[2] == "versions" and _NUMBER.match(parts[3]))
    ):
        return VersionRef(parts[1], number=int(parts[3]))
    if alias_allowed and len(parts) == 4 and parts[2] == "aliases":
        model_id, alias = parse_alias(name, field)
        return VersionRef(model_id, alias=alias)
    forms = "models/{id}/versions/{number}"
    if alias_allowed:
        forms += " or models/{id}/aliases/{alias}"
    raise invalid_argument("INVALID_NAME", field, f"{name!r} is not a name of the form {forms}")

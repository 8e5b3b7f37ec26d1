"""The numbered requirements of the spec, read from its Markdown files.

A requirement is a paragraph that starts with its bold ID and level, for example
`**INF-014 (MUST)** An unknown model ...`; the paragraph is its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

REQUIREMENT = re.compile(
    r"^\*\*(?P<id>[A-Z]{3}-\d{3}) \((?P<keyword>MUST NOT|MUST|SHOULD NOT|SHOULD|MAY)\)\*\*"
    r"\s*(?P<text>.*)",
    re.DOTALL,
)
LOOKS_LIKE_REQUIREMENT = re.compile(r"^\*\*[A-Z]{3}-\d")
LEVELS = ("MUST", "SHOULD", "MAY")


@dataclass(frozen=True)
class Requirement:
    """One numbered requirement: its ID, RFC 2119 level, text and the spec file it is in.

    `level` folds negative keywords into their positive level (MUST NOT is a MUST)."""

    id: str
    level: str
    keyword: str
    text: str
    source: str

    @property
    def prefix(self) -> str:
        return self.id.split("-")[0]


class SpecError(ValueError):
    """The spec text breaks its own numbering rules (duplicate or malformed IDs)."""


def default_spec_dir() -> Path:
    """The spec shipped with the suite (a link to the repository's spec/ in a checkout)."""
    return Path(str(resources.files("lepton_conformance") / "spec"))


def load_requirements(spec_dir: Path | None = None) -> dict[str, Requirement]:
    """Every requirement of every spec file, keyed by ID, in file then document order."""
    directory = spec_dir or default_spec_dir()
    found: dict[str, Requirement] = {}
    for path in sorted(directory.glob("*.md")):
        for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            paragraph = paragraph.strip()
            match = REQUIREMENT.match(paragraph)
            if match is None:
                if LOOKS_LIKE_REQUIREMENT.match(paragraph):
                    raise SpecError(f"{path.name}: malformed requirement: {paragraph[:60]!r}")
                continue
            keyword = match["keyword"]
            text = " ".join(line.strip() for line in match["text"].splitlines())
            requirement = Requirement(match["id"], keyword.split()[0], keyword, text, path.name)
            if requirement.id in found:
                raise SpecError(f"{requirement.id} is defined twice ({path.name})")
            found[requirement.id] = requirement
    return found

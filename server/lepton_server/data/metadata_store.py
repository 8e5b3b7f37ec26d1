"""Dataset metadata in SQLite (WAL): datasets, versions, tags and request ids.

SQLite's transactions make a commit all-or-nothing: a version row, its tag moves and its
request id appear together or not at all, whatever kills the process (DAT-026)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lepton_server.runtime.sqlite_database import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    labels TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    etag TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    dataset_uid TEXT NOT NULL,
    id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    message BLOB NOT NULL,
    segments TEXT NOT NULL,
    PRIMARY KEY (dataset_uid, id),
    UNIQUE (dataset_uid, sequence)
);
CREATE TABLE IF NOT EXISTS tags (
    dataset_uid TEXT NOT NULL,
    id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (dataset_uid, id)
);
"""


@dataclass(frozen=True)
class DatasetRow:
    id: str
    uid: str
    display_name: str
    description: str
    labels: dict[str, str]
    create_time: int  # nanoseconds since the Unix epoch
    update_time: int
    etag: str


@dataclass(frozen=True)
class VersionRow:
    dataset_uid: str
    id: str
    sequence: int
    create_time: int
    message: bytes  # serialized DatasetVersion without tags
    segments: list[str]


@dataclass(frozen=True)
class TagRow:
    dataset_uid: str
    id: str
    version_id: str
    create_time: int
    update_time: int
    etag: str


class MetadataStore(SqliteDatabase):
    """The data layer's SQLite database."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    # --- datasets -----------------------------------------------------------------------

    def insert_dataset(self, row: DatasetRow) -> None:
        self._run(
            "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row.id,
            row.uid,
            row.display_name,
            row.description,
            json.dumps(row.labels),
            row.create_time,
            row.update_time,
            row.etag,
        )

    def update_dataset(self, row: DatasetRow) -> None:
        self._run(
            "UPDATE datasets SET display_name=?, description=?, labels=?, update_time=?, etag=? "
            "WHERE id=?",
            row.display_name,
            row.description,
            json.dumps(row.labels),
            row.update_time,
            row.etag,
            row.id,
        )

    def dataset(self, dataset_id: str) -> DatasetRow | None:
        found = self._one("SELECT * FROM datasets WHERE id=?", dataset_id)
        return _dataset(found) if found else None

    def datasets(self) -> list[DatasetRow]:
        return [_dataset(r) for r in self._all("SELECT * FROM datasets ORDER BY id")]

    def delete_dataset(self, row: DatasetRow) -> None:
        """The dataset and everything under it; run inside a transaction."""
        self._run("DELETE FROM datasets WHERE id=?", row.id)
        self._run("DELETE FROM versions WHERE dataset_uid=?", row.uid)
        self._run("DELETE FROM tags WHERE dataset_uid=?", row.uid)

    # --- versions -----------------------------------------------------------------------

    def insert_version(self, row: VersionRow) -> None:
        self._run(
            "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)",
            row.dataset_uid,
            row.id,
            row.sequence,
            row.create_time,
            row.message,
            json.dumps(row.segments),
        )

    def version(self, dataset_uid: str, version_id: str) -> VersionRow | None:
        found = self._one(
            "SELECT * FROM versions WHERE dataset_uid=? AND id=?", dataset_uid, version_id
        )
        return _version(found) if found else None

    def head(self, dataset_uid: str) -> VersionRow | None:
        found = self._one(
            "SELECT * FROM versions WHERE dataset_uid=? ORDER BY sequence DESC LIMIT 1",
            dataset_uid,
        )
        return _version(found) if found else None

    def versions(self, dataset_uid: str) -> list[VersionRow]:
        rows = self._all(
            "SELECT * FROM versions WHERE dataset_uid=? ORDER BY sequence", dataset_uid
        )
        return [_version(r) for r in rows]

    def version_count(self, dataset_uid: str) -> int:
        return self._one("SELECT COUNT(*) FROM versions WHERE dataset_uid=?", dataset_uid)[0]

    def all_segments(self) -> set[str]:
        """Every segment any version references (for collecting orphans)."""
        return {
            segment
            for (segments,) in self._all("SELECT segments FROM versions")
            for segment in json.loads(segments)
        }

    def dataset_uids(self) -> set[str]:
        return {uid for (uid,) in self._all("SELECT uid FROM datasets")}

    # --- tags ---------------------------------------------------------------------------

    def tag(self, dataset_uid: str, tag_id: str) -> TagRow | None:
        found = self._one("SELECT * FROM tags WHERE dataset_uid=? AND id=?", dataset_uid, tag_id)
        return TagRow(*found) if found else None

    def tags(self, dataset_uid: str) -> list[TagRow]:
        return [
            TagRow(*r)
            for r in self._all("SELECT * FROM tags WHERE dataset_uid=? ORDER BY id", dataset_uid)
        ]

    def tags_of(self, dataset_uid: str, version_id: str) -> list[str]:
        rows = self._all(
            "SELECT id FROM tags WHERE dataset_uid=? AND version_id=? ORDER BY id",
            dataset_uid,
            version_id,
        )
        return [tag for (tag,) in rows]

    def put_tag(self, row: TagRow) -> None:
        self._run(
            "INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?, ?, ?)",
            row.dataset_uid,
            row.id,
            row.version_id,
            row.create_time,
            row.update_time,
            row.etag,
        )

    def delete_tag(self, dataset_uid: str, tag_id: str) -> None:
        self._run("DELETE FROM tags WHERE dataset_uid=? AND id=?", dataset_uid, tag_id)


def _dataset(row: tuple) -> DatasetRow:
    values = list(row)
    values[4] = json.loads(values[4])
    return DatasetRow(*values)


def _version(row: tuple) -> VersionRow:
    values = list(row)
    values[5] = json.loads(values[5])
    return VersionRow(*values)

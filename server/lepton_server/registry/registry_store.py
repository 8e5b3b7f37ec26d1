"""Registry metadata in SQLite (WAL): models, versions, aliases, request ids and the event log.

A change and the events it emits are written in one transaction, so an event is never seen
before its change, nor a change without its event (REG-039). Version numbers come from the
model row's `last_number`, which only grows, so a number is never assigned twice (REG-012)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lepton_server.runtime.sqlite_database import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    labels TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_number INTEGER NOT NULL,
    creator TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS versions (
    model_uid TEXT NOT NULL,
    number INTEGER NOT NULL,
    state INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    message BLOB NOT NULL,
    PRIMARY KEY (model_uid, number)
);
CREATE INDEX IF NOT EXISTS versions_by_sha256 ON versions (sha256);
CREATE TABLE IF NOT EXISTS aliases (
    model_uid TEXT NOT NULL,
    id TEXT NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (model_uid, id)
);
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    message BLOB NOT NULL,
    model TEXT NOT NULL,
    type INTEGER NOT NULL,
    time INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class ModelRow:
    id: str
    uid: str
    display_name: str
    description: str
    labels: dict[str, str]
    create_time: int  # nanoseconds since the Unix epoch
    update_time: int
    etag: str
    last_number: int  # the highest version number ever assigned in this model
    creator: str = ""  # the principal that created the model (GEN-014)


@dataclass(frozen=True)
class VersionRow:
    model_uid: str
    number: int
    state: int  # ModelVersionState
    sha256: str
    message: bytes  # serialized ModelVersion without its derived `aliases`


class RegistryStore(SqliteDatabase):
    """The registry's SQLite database."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    # --- models ---------------------------------------------------------------------------

    def put_model(self, row: ModelRow) -> None:
        self._run(
            "INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row.id,
            row.uid,
            row.display_name,
            row.description,
            json.dumps(row.labels),
            row.create_time,
            row.update_time,
            row.etag,
            row.last_number,
            row.creator,
        )

    def model(self, model_id: str) -> ModelRow | None:
        found = self._one("SELECT * FROM models WHERE id=?", model_id)
        return _model(found) if found else None

    def models(self) -> list[ModelRow]:
        return [_model(r) for r in self._all("SELECT * FROM models ORDER BY id")]

    def delete_model(self, row: ModelRow) -> None:
        """The model and everything under it; run inside a transaction."""
        self._run("DELETE FROM models WHERE id=?", row.id)
        self._run("DELETE FROM versions WHERE model_uid=?", row.uid)
        self._run("DELETE FROM aliases WHERE model_uid=?", row.uid)
        self.forget_requests(f"models/{row.id}")

    # --- versions -------------------------------------------------------------------------

    def put_version(self, row: VersionRow) -> None:
        self._run(
            "INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?)",
            row.model_uid,
            row.number,
            row.state,
            row.sha256,
            row.message,
        )

    def version(self, model_uid: str, number: int) -> VersionRow | None:
        found = self._one(
            "SELECT * FROM versions WHERE model_uid=? AND number=?", model_uid, number
        )
        return VersionRow(*found) if found else None

    def versions(self, model_uid: str | None = None) -> list[VersionRow]:
        if model_uid is None:
            return [VersionRow(*r) for r in self._all("SELECT * FROM versions")]
        rows = self._all("SELECT * FROM versions WHERE model_uid=? ORDER BY number", model_uid)
        return [VersionRow(*r) for r in rows]

    def latest_ready(self, model_uid: str, ready_state: int) -> int | None:
        found = self._one(
            "SELECT MAX(number) FROM versions WHERE model_uid=? AND state=?", model_uid, ready_state
        )
        return found[0] if found else None

    def version_count(self, model_uid: str) -> int:
        return self._one("SELECT COUNT(*) FROM versions WHERE model_uid=?", model_uid)[0]

    def delete_version(self, model_uid: str, number: int) -> None:
        self._run("DELETE FROM versions WHERE model_uid=? AND number=?", model_uid, number)

    def blob_users(self, sha256: str, ready_state: int) -> int:
        """How many READY versions hold the blob `sha256`."""
        return self._one(
            "SELECT COUNT(*) FROM versions WHERE sha256=? AND state=?", sha256, ready_state
        )[0]

    # --- aliases --------------------------------------------------------------------------

    def aliases(self, model_uid: str) -> dict[str, int]:
        rows = self._all("SELECT id, number FROM aliases WHERE model_uid=? ORDER BY id", model_uid)
        return dict(rows)

    def put_alias(self, model_uid: str, alias: str, number: int) -> None:
        self._run("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?)", model_uid, alias, number)

    def delete_alias(self, model_uid: str, alias: str) -> None:
        self._run("DELETE FROM aliases WHERE model_uid=? AND id=?", model_uid, alias)

    # --- events ---------------------------------------------------------------------------

    def append_event(self, message: bytes, model: str, event_type: int, time: int) -> int:
        """Store an event; its sequence number (AUTOINCREMENT: never reused, no gap)."""
        return self._run(
            "INSERT INTO events (message, model, type, time) VALUES (?, ?, ?, ?)",
            message,
            model,
            event_type,
            time,
        )

    def events_from(self, sequence: int, limit: int) -> list[tuple[int, bytes]]:
        return self._all(
            "SELECT sequence, message FROM events WHERE sequence>=? ORDER BY sequence LIMIT ?",
            sequence,
            limit,
        )

    def event_bounds(self) -> tuple[int | None, int]:
        """(oldest retained sequence or None, newest sequence ever assigned or 0)."""
        oldest = self._one("SELECT MIN(sequence) FROM events")[0]
        newest = self._one("SELECT seq FROM sqlite_sequence WHERE name='events'")
        return oldest, newest[0] if newest else 0

    def prune_events(self, keep_count: int, older_than: int) -> None:
        """Drop events that are both beyond the last `keep_count` and older than `older_than`."""
        self._run(
            "DELETE FROM events WHERE time<? AND sequence <= "
            "(SELECT COALESCE(MAX(sequence), 0) FROM events) - ?",
            older_than,
            keep_count,
        )


def _model(row: tuple) -> ModelRow:
    values = list(row)
    values[4] = json.loads(values[4])
    return ModelRow(*values)

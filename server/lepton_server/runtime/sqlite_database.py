"""A layer's metadata database: one SQLite file in WAL mode, short calls serialized by a
lock across threads, all-or-nothing transactions, and the request-id table every Create with
a `request_id` uses (GEN-053)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REQUEST_IDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS request_ids (
    method TEXT NOT NULL,
    parent TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (method, parent, request_id)
);
CREATE INDEX IF NOT EXISTS request_ids_by_parent ON request_ids (parent);
"""


class SqliteDatabase:
    """One SQLite database holding `schema` (statements run at open, idempotent), with the
    request-id table."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(schema + REQUEST_IDS_SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, *args: object) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, *args: object) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _run(self, sql: str, *args: object) -> int | None:
        """Run one statement; the rowid of the row it inserted, if any."""
        with self._lock:
            return self._db.execute(sql, args).lastrowid

    # --- request ids (GEN-053) --------------------------------------------------------------

    def request(
        self, method: str, parent: str, request_id: str, since: int
    ) -> tuple[str, str] | None:
        """(fingerprint, result) of a request id used since `since` (ns), if any."""
        found = self._one(
            "SELECT fingerprint, result FROM request_ids WHERE method=? AND parent=? "
            "AND request_id=? AND create_time>=?",
            method,
            parent,
            request_id,
            since,
        )
        return (found[0], found[1]) if found else None

    def remember_request(
        self,
        method: str,
        parent: str,
        request_id: str,
        *,
        fingerprint: str,
        result: str,
        now: int,
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO request_ids VALUES (?, ?, ?, ?, ?, ?)",
            method,
            parent,
            request_id,
            fingerprint,
            result,
            now,
        )

    def forget_requests(self, parent_prefix: str) -> None:
        """Request ids of a deleted resource and everything under it: a new resource of that
        name starts afresh."""
        # A range rather than LIKE, so that the index finds them: every name that starts
        # with `parent_prefix/` sorts from `parent_prefix/` to before `parent_prefix0`.
        self._run(
            "DELETE FROM request_ids WHERE parent=? OR (parent>=? AND parent<?)",
            parent_prefix,
            parent_prefix + "/",
            parent_prefix + "0",
        )

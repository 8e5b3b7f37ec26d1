"""Where jobs are kept: one SQLite table for the jobs of every kind, so a job outlives the
request that created it and a restart finds the jobs it interrupted."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class JobTable:
    """Jobs of every kind in one SQLite table; each row holds the job resource message, and
    its state beside it so that counting jobs by state decodes none."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS jobs (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "parent TEXT NOT NULL, create_time INTEGER NOT NULL, message BLOB NOT NULL, "
            "state INTEGER NOT NULL DEFAULT 0)"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "state" not in columns:  # a table of an earlier server: JobRunner fills it in
            self._db.execute("ALTER TABLE jobs ADD COLUMN state INTEGER NOT NULL DEFAULT 0")
        # A long-running server keeps every finished job: deleting a parent's jobs (at every
        # dataset or model deleted), listing them and counting them by state (at every
        # scrape) must not read the whole table (3.6 ms a delete at 28,000 jobs, without).
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs (parent, kind)")
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (kind, state)")
        self._lock = threading.Lock()

    def put(
        self, name: str, kind: str, parent: str, create_time: int, message: bytes, *, state: int
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs (name, kind, parent, create_time, message, state) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, kind, parent, create_time, message, state),
            )

    def stateless(self) -> list[tuple[str, str, bytes]]:
        """(name, kind, message) of every row whose state was never recorded."""
        with self._lock:
            return self._db.execute(
                "SELECT name, kind, message FROM jobs WHERE state = 0"
            ).fetchall()

    def record_state(self, name: str, state: int) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET state = ? WHERE name = ?", (state, name))

    def counts(self) -> dict[tuple[str, int], int]:
        """How many jobs there are of each (kind, state)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state"
            ).fetchall()
        return {(kind, state): count for kind, state, count in rows}

    def get(self, name: str) -> tuple[str, bytes] | None:
        with self._lock:
            return self._db.execute(
                "SELECT kind, message FROM jobs WHERE name=?", (name,)
            ).fetchone()

    def rows(self, kind: str | None = None, parent: str | None = None) -> list[tuple[str, bytes]]:
        sql, args = "SELECT kind, message FROM jobs WHERE 1=1", []
        if kind is not None:
            sql, args = sql + " AND kind=?", [*args, kind]
        if parent is not None:
            sql, args = sql + " AND parent=?", [*args, parent]
        with self._lock:
            return self._db.execute(sql + " ORDER BY name", args).fetchall()

    def delete(self, name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE name=?", (name,))

    def delete_under(self, parent: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE parent=?", (parent,))

    def close(self) -> None:
        self._db.close()

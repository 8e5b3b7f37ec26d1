"""Where jobs are kept: one SQLite table for the jobs of every kind, so a job outlives the
request that created it and a restart finds the jobs it interrupted."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class JobTable:
    """Jobs of every kind in one SQLite table; each row holds the job resource message."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS jobs (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "parent TEXT NOT NULL, create_time INTEGER NOT NULL, message BLOB NOT NULL)"
        )
        self._lock = threading.Lock()

    def put(self, name: str, kind: str, parent: str, create_time: int, message: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?)",
                (name, kind, parent, create_time, message),
            )

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

"""The reference server's job store: SQLite, parameterized queries only."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["JobStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id_key   TEXT PRIMARY KEY,   -- lower-case id: UUIDs compare case-insensitively (RFC 9562)
    id       TEXT NOT NULL,      -- the id as stored
    position INTEGER NOT NULL,   -- insertion order, for listing
    document TEXT NOT NULL       -- the job as JSON, as stored
)
"""
# Each put asks for the last position: without an index that scans the table,
# and seeding ten thousand jobs takes seconds instead of a tenth of one.
_INDEX = "CREATE INDEX IF NOT EXISTS jobs_by_position ON jobs (position)"


class JobStore:
    """Jobs by id in one SQLite database (a file, or ``:memory:``).

    One connection guarded by a lock: the server's worker threads share it,
    and SQLite serialises writes anyway.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute(
            "PRAGMA journal_mode=WAL" if str(path) != ":memory:" else "PRAGMA journal_mode=MEMORY"
        )
        self._db.execute(_SCHEMA)
        self._db.execute(_INDEX)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def put(self, job: dict[str, Any]) -> None:
        """Store ``job`` under its id (case-insensitively), replacing any job with that id."""
        document = json.dumps(job, ensure_ascii=False, allow_nan=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id_key, id, position, document) "
                "VALUES (?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM jobs), ?) "
                "ON CONFLICT(id_key) DO UPDATE SET id = excluded.id, document = excluded.document",
                (job["id"].lower(), job["id"], document),
            )

    def put_many(self, jobs: Iterable[dict[str, Any]]) -> None:
        for job in jobs:
            self.put(job)

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job whose id equals ``job_id`` ignoring case."""
        return self._one("SELECT document FROM jobs WHERE id_key = ?", (job_id.lower(),))

    def get_exact(self, job_id: str) -> dict[str, Any] | None:
        """The job whose stored id equals ``job_id`` exactly (a case-sensitive lookup)."""
        return self._one("SELECT document FROM jobs WHERE id = ?", (job_id,))

    def neighbour(self, job_id: str) -> dict[str, Any] | None:
        """The job stored after ``job_id`` (wrapping around): what an off-by-one row fetch returns."""
        return self._one(
            "SELECT document FROM jobs WHERE position > "
            "(SELECT position FROM jobs WHERE id_key = ?) ORDER BY position LIMIT 1",
            (job_id.lower(),),
        ) or self._one(
            "SELECT document FROM jobs WHERE id_key != ? ORDER BY position LIMIT 1",
            (job_id.lower(),),
        )

    def ids(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT id FROM jobs ORDER BY position")]

    def _one(self, query: str, parameters: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(query, parameters).fetchone()
        return None if row is None else json.loads(row[0])

"""The embedded registry: names and locks in SQLite (``<state folder>/environments.db``)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from mlplatform._checks import CheckResult, sqlite_probe
from mlplatform._sqlite import Database
from mlplatform._time import utc_from_epoch
from mlplatform.environments._backend import EnvironmentRegistry, RegisteredEnvironment
from mlplatform.environments._spec import Lock

if TYPE_CHECKING:
    from pathlib import Path

    from mlplatform.config import Settings
    from mlplatform.environments._names import EnvironmentName

__all__ = ["LocalRegistry"]

_SCHEMA = """
create table if not exists locks (hash text primary key, lock text not null) without rowid;
create table if not exists tags (
    name text not null,
    tag text not null,
    lock_hash text not null references locks(hash),
    registered real not null,
    primary key (name, tag)
) without rowid;
"""


class LocalRegistry(EnvironmentRegistry):
    """Registry in one SQLite file (WAL; safe across threads and processes)."""

    name = "local"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._database = Database(path, schema=_SCHEMA)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalRegistry:
        return cls(settings.home / "environments.db")

    @classmethod
    def check(cls, settings: Settings) -> CheckResult:
        return CheckResult(
            "environments", cls.name, *sqlite_probe(settings.home / "environments.db")
        )

    def describe(self) -> str:
        return f"local {self.path}"

    def close(self) -> None:
        self._database.close()

    def put_lock(self, lock: Lock) -> None:
        with self._database.transaction() as db:
            db.execute(
                "insert or ignore into locks (hash, lock) values (?, ?)",
                (lock.hash, lock.to_json()),
            )

    def get_lock(self, lock_hash: str) -> Lock | None:
        row = (
            self._database.connection()
            .execute("select lock from locks where hash = ?", (lock_hash,))
            .fetchone()
        )
        return None if row is None else Lock.from_json(row[0])

    def set_tag(self, name: EnvironmentName, lock_hash: str, now: float) -> str | None:
        with self._database.transaction() as db:
            if name.mutable:
                db.execute(
                    "insert into tags (name, tag, lock_hash, registered) values (?, ?, ?, ?) "
                    "on conflict (name, tag) do update set lock_hash = excluded.lock_hash, "
                    "registered = excluded.registered",
                    (name.path, name.tag, lock_hash, now),
                )
                return None
            try:
                db.execute(
                    "insert into tags (name, tag, lock_hash, registered) values (?, ?, ?, ?)",
                    (name.path, name.tag, lock_hash, now),
                )
            except sqlite3.IntegrityError:
                row = db.execute(
                    "select lock_hash from tags where name = ? and tag = ?", (name.path, name.tag)
                ).fetchone()
                return row[0]
        return None

    def get_tag(self, name: EnvironmentName) -> RegisteredEnvironment | None:
        row = (
            self._database.connection()
            .execute(
                "select name, tag, lock_hash, registered from tags where name = ? and tag = ?",
                (name.path, name.tag),
            )
            .fetchone()
        )
        return None if row is None else _entry(row)

    def entries(self) -> list[RegisteredEnvironment]:
        rows = self._database.connection().execute(
            "select name, tag, lock_hash, registered from tags order by name, tag"
        )
        return [_entry(row) for row in rows]


def _entry(row: tuple) -> RegisteredEnvironment:
    name, tag, lock_hash, registered = row
    return RegisteredEnvironment(name, tag, lock_hash, utc_from_epoch(registered))

"""The embedded cache backend: one SQLite file in WAL mode, shared by threads and processes.

Layout: ``generations`` (one row per generation, ``gid`` an integer surrogate), ``namespaces``
(the current-generation pointer and default TTL) and ``entries`` keyed by ``(gid, key)``.
Publishing updates one ``namespaces`` row in a write transaction; every read is one SQL
statement that joins the pointer with the entries, so it sees one WAL snapshot and never
mixes generations. Data of collected generations is deleted after the pointer moved.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mlplatform._checks import CheckResult, sqlite_probe
from mlplatform._sqlite import DEFAULT_BUSY_TIMEOUT_S, Database
from mlplatform._time import utc_from_epoch
from mlplatform.cache._backend import CacheBackend, GenerationInfo, Item, rollback_target
from mlplatform.cache._errors import CacheError, CacheUnavailableError, GenerationError

if TYPE_CHECKING:
    from mlplatform.config import Settings

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
_DELETE_CHUNK = 20_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS generations (
    gid INTEGER PRIMARY KEY AUTOINCREMENT,
    ns TEXT NOT NULL,
    gen TEXT NOT NULL,
    status TEXT NOT NULL,  -- open | published | garbage
    created REAL NOT NULL,
    published REAL,
    pub_seq INTEGER,
    run_id TEXT,
    key_count INTEGER,
    UNIQUE (ns, gen)
);
CREATE TABLE IF NOT EXISTS namespaces (
    ns TEXT PRIMARY KEY,
    current INTEGER,
    ttl REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    gid INTEGER NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires REAL,
    PRIMARY KEY (gid, key)
) WITHOUT ROWID;
"""

_GET = (
    "SELECT e.value, e.expires FROM namespaces n JOIN entries e "
    "ON e.gid = n.current AND e.key = ?2 WHERE n.ns = ?1"
)
_GET_MANY = (
    # CROSS JOIN fixes the loop order: the pointer, then each asked key, then its entry.
    "SELECT e.key, e.value, e.expires FROM namespaces n CROSS JOIN json_each(?2) j "
    "CROSS JOIN entries e ON e.gid = n.current AND e.key = j.value WHERE n.ns = ?1"
)
_UPSERT = (
    "INSERT INTO entries (gid, key, value, expires) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (gid, key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
)


class SQLiteBackend(CacheBackend):
    """Cache backend on one SQLite file (WAL mode, safe across threads and processes).

    Args:
        path: The database file; created with its folder if missing.
        busy_timeout_s: How long a write waits for another writer's lock before failing.
        clock: Seconds since the epoch; tests pass a fake one to check TTLs.
    """

    name = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._clock = clock
        self._database = Database(self.path, schema=_SCHEMA, busy_timeout_s=busy_timeout_s)
        self._setup()

    @classmethod
    def from_settings(cls, settings: Settings) -> SQLiteBackend:
        """The file ``<settings.home>/cache.db``."""
        return cls(settings.home / "cache.db")

    @classmethod
    def check(cls, settings: Settings) -> CheckResult:
        return CheckResult("cache", cls.name, *sqlite_probe(settings.home / "cache.db"))

    def describe(self) -> str:
        return f"sqlite {self.path}"

    # -- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        try:
            return self._database.connection()
        except (OSError, sqlite3.Error) as error:
            raise CacheUnavailableError(
                f"cannot open the SQLite cache {self.path}: {error}. Check that the folder "
                "(settings.home, MLP_HOME) is writable and the file is a SQLite database "
                "written by mlplatform.cache (move it away to start afresh)."
            ) from None

    def _setup(self) -> None:
        self._conn()  # creates the schema
        with self._write() as connection:
            row = connection.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            if row is None:
                connection.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise CacheError(
                    f"the SQLite cache {self.path} has schema version {row[0]}, this mlplatform "
                    f"uses {SCHEMA_VERSION}; use a matching mlplatform or move the file away."
                )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._conn()
        began = False
        try:
            with self._database.transaction() as connection:
                began = True
                yield connection
        except sqlite3.Error as error:
            if began:
                raise CacheUnavailableError(
                    f"writing the SQLite cache {self.path} failed: {error}; nothing of this "
                    "write was stored. Check free disk space and permissions."
                ) from error
            waited = (
                f" after waiting {self.busy_timeout_s} s for other writers"
                if "locked" in str(error) or "busy" in str(error)
                else ""
            )
            raise CacheUnavailableError(
                f"cannot write the SQLite cache {self.path}{waited}: {error}; nothing of this "
                "write was stored. Check free disk space and permissions."
            ) from None

    def close(self) -> None:
        self._database.close()

    # -- reads -----------------------------------------------------------------------------

    def read_one(self, namespace: str, key: str) -> bytes | None:
        row = self._conn().execute(_GET, (namespace, key)).fetchone()
        if row is None or (row[1] is not None and row[1] <= self._clock()):
            return None
        return row[0]

    def read_many(self, namespace: str, keys: Sequence[str]) -> dict[str, bytes]:
        rows = self._conn().execute(_GET_MANY, (namespace, json.dumps(list(keys)))).fetchall()
        now = self._clock()
        return {key: value for key, value, expires in rows if expires is None or expires > now}

    def scan(self, namespace: str, prefix: str, batch_size: int) -> Iterator[tuple[str, bytes]]:
        # One read transaction (a connection of its own) pins the WAL snapshot the scan
        # starts from: publishing and collecting meanwhile do not change what it reads, and
        # the caller may write through this backend while it iterates.
        try:
            connection = self._database.open_snapshot()
        except (OSError, sqlite3.Error) as error:
            raise CacheUnavailableError(
                f"cannot read the SQLite cache {self.path}: {error}"
            ) from None
        with closing(connection):
            gid = self._current_gid(connection, namespace)
            if gid is None:
                return
            cursor = connection.execute(
                "SELECT key, value, expires FROM entries WHERE gid = ? AND key >= ? ORDER BY key",
                (gid, prefix),
            )
            while rows := cursor.fetchmany(batch_size):
                now = self._clock()
                for key, value, expires in rows:
                    if not key.startswith(prefix):
                        return
                    if expires is None or expires > now:
                        yield key, value

    @staticmethod
    def _current_gid(connection: sqlite3.Connection, namespace: str) -> int | None:
        row = connection.execute(
            "SELECT current FROM namespaces WHERE ns = ?", (namespace,)
        ).fetchone()
        return None if row is None else row[0]

    # -- writes ----------------------------------------------------------------------------

    def _rows(self, gid: int, items: Sequence[Item], default_ttl: float | None) -> Iterator:
        now = self._clock()
        for key, blob, ttl in items:
            if ttl is None:
                ttl = default_ttl
            expires = None if ttl is None or ttl == math.inf else now + ttl
            yield gid, key, blob, expires

    def _ensure_namespace(self, connection: sqlite3.Connection, namespace: str) -> float | None:
        connection.execute("INSERT OR IGNORE INTO namespaces (ns) VALUES (?)", (namespace,))
        return connection.execute(
            "SELECT ttl FROM namespaces WHERE ns = ?", (namespace,)
        ).fetchone()[0]

    def _current_for_write(
        self, connection: sqlite3.Connection, namespace: str, new_generation: str
    ) -> tuple[int, str, float | None]:
        """The current generation (gid, id) and the default TTL, creating and publishing
        ``new_generation`` when the namespace has none; inside a write transaction."""
        default_ttl = self._ensure_namespace(connection, namespace)
        row = connection.execute(
            "SELECT g.gid, g.gen FROM namespaces n JOIN generations g ON g.gid = n.current "
            "WHERE n.ns = ?",
            (namespace,),
        ).fetchone()
        if row is not None:
            return row[0], row[1], default_ttl
        now = self._clock()
        gid = self._insert_generation(connection, namespace, new_generation, now, None)
        connection.execute(
            "UPDATE generations SET status = 'published', published = ?, pub_seq = 1 WHERE gid = ?",
            (now, gid),
        )
        connection.execute("UPDATE namespaces SET current = ? WHERE ns = ?", (gid, namespace))
        return gid, new_generation, default_ttl

    def write_current(self, namespace: str, items: Sequence[Item], new_generation: str) -> str:
        with self._write() as connection:
            gid, generation, default_ttl = self._current_for_write(
                connection, namespace, new_generation
            )
            connection.executemany(_UPSERT, self._rows(gid, items, default_ttl))
        return generation

    def add_current(self, namespace: str, items: Sequence[Item], new_generation: str) -> list[bool]:
        written: list[bool] = []
        with self._write() as connection:
            gid, _, default_ttl = self._current_for_write(connection, namespace, new_generation)
            now = self._clock()
            taken: set[str] = set()  # keys of this batch's earlier items
            for key, _, _ in items:
                if key in taken:
                    written.append(False)
                    continue
                taken.add(key)
                row = connection.execute(
                    "SELECT expires FROM entries WHERE gid = ? AND key = ?", (gid, key)
                ).fetchone()
                written.append(row is None or (row[0] is not None and row[0] <= now))
            chosen = [item for item, absent in zip(items, written, strict=True) if absent]
            connection.executemany(_UPSERT, self._rows(gid, chosen, default_ttl))
        return written

    def delete_current(self, namespace: str, keys: Sequence[str]) -> int:
        with self._write() as connection:
            gid = self._current_gid(connection, namespace)
            if gid is None:
                return 0
            now = self._clock()
            deleted = 0
            for key in keys:
                row = connection.execute(
                    "DELETE FROM entries WHERE gid = ? AND key = ? RETURNING expires", (gid, key)
                ).fetchone()
                deleted += row is not None and (row[0] is None or row[0] > now)
        return deleted

    @staticmethod
    def _insert_generation(
        connection: sqlite3.Connection,
        namespace: str,
        generation: str,
        created: float,
        run_id: str | None,
    ) -> int:
        try:
            cursor = connection.execute(
                "INSERT INTO generations (ns, gen, status, created, run_id) "
                "VALUES (?, ?, 'open', ?, ?)",
                (namespace, generation, created, run_id),
            )
        except sqlite3.IntegrityError:
            raise GenerationError(
                f"generation {generation!r} already exists in namespace {namespace!r}; "
                "use Cache.new_generation() to get a fresh id"
            ) from None
        return cursor.lastrowid

    def create_generation(
        self, namespace: str, generation: str, created: float, run_id: str | None
    ) -> None:
        with self._write() as connection:
            self._ensure_namespace(connection, namespace)
            self._insert_generation(connection, namespace, generation, created, run_id)

    def _generation_row(
        self, connection: sqlite3.Connection, namespace: str, generation: str
    ) -> tuple[int, str]:
        row = connection.execute(
            "SELECT gid, status FROM generations WHERE ns = ? AND gen = ?",
            (namespace, generation),
        ).fetchone()
        if row is None or row[1] == "garbage":
            raise GenerationError(
                f"generation {generation!r} does not exist in namespace {namespace!r} (never "
                "created there, discarded or collected); get one from Cache.new_generation()"
            )
        return row

    def _open_gid(self, connection: sqlite3.Connection, namespace: str, generation: str) -> int:
        gid, status = self._generation_row(connection, namespace, generation)
        if status != "open":
            raise GenerationError(
                f"generation {generation!r} of namespace {namespace!r} is already published "
                "and can no longer be written or published; start a new one with "
                "Cache.new_generation()"
            )
        return gid

    def write_generation(self, namespace: str, generation: str, items: Sequence[Item]) -> None:
        with self._write() as connection:
            gid = self._open_gid(connection, namespace, generation)
            default_ttl = self._ensure_namespace(connection, namespace)
            connection.executemany(_UPSERT, self._rows(gid, items, default_ttl))

    def publish(self, namespace: str, generation: str, now: float, keep: int) -> list[str]:
        with self._write() as connection:
            gid = self._open_gid(connection, namespace, generation)
            (key_count,) = connection.execute(
                "SELECT count(*) FROM entries WHERE gid = ?", (gid,)
            ).fetchone()
            (pub_seq,) = connection.execute(
                "SELECT coalesce(max(pub_seq), 0) + 1 FROM generations WHERE ns = ?", (namespace,)
            ).fetchone()
            connection.execute(
                "UPDATE generations SET status = 'published', published = ?, pub_seq = ?, "
                "key_count = ? WHERE gid = ?",
                (now, pub_seq, key_count, gid),
            )
            self._ensure_namespace(connection, namespace)
            connection.execute("UPDATE namespaces SET current = ? WHERE ns = ?", (gid, namespace))
            previous = connection.execute(
                "SELECT gen FROM generations WHERE ns = ? AND status = 'published' "
                "AND gid != ? ORDER BY pub_seq DESC",
                (namespace, gid),
            ).fetchall()
            expired = [gen for (gen,) in previous[keep:]]
            self._mark_garbage(connection, namespace, expired)
        return expired

    @staticmethod
    def _mark_garbage(connection: sqlite3.Connection, namespace: str, gens: list[str]) -> None:
        connection.executemany(
            "UPDATE generations SET status = 'garbage' WHERE ns = ? AND gen = ?",
            [(namespace, gen) for gen in gens],
        )

    def rollback(self, namespace: str, to: str | None) -> tuple[str, str, list[str]]:
        with self._write() as connection:
            current = connection.execute(
                "SELECT g.gen, g.gid FROM namespaces n JOIN generations g ON g.gid = n.current "
                "WHERE n.ns = ?",
                (namespace,),
            ).fetchone()
            if current is None:
                raise GenerationError(
                    f"namespace {namespace!r} has no published generation to roll back from"
                )
            previous = [
                gen
                for (gen,) in connection.execute(
                    "SELECT gen FROM generations WHERE ns = ? AND status = 'published' "
                    "AND gid != ? ORDER BY pub_seq DESC",
                    (namespace, current[1]),
                )
            ]
            target = rollback_target(namespace, previous, to)
            dropped = [current[0], *previous[: previous.index(target)]]
            self._mark_garbage(connection, namespace, dropped)
            connection.execute(
                "UPDATE namespaces SET current = "
                "(SELECT gid FROM generations WHERE ns = ?1 AND gen = ?2) WHERE ns = ?1",
                (namespace, target),
            )
        return target, current[0], dropped

    def discard(self, namespace: str, generation: str) -> None:
        with self._write() as connection:
            self._open_gid(connection, namespace, generation)
            self._mark_garbage(connection, namespace, [generation])

    def collect(self, namespace: str) -> int:
        connection = self._conn()
        garbage = connection.execute(
            "SELECT gid FROM generations WHERE ns = ? AND status = 'garbage'", (namespace,)
        ).fetchall()
        for (gid,) in garbage:
            # Chunked, so that other writers are not blocked for long by a big generation.
            while True:
                with self._write() as writer:
                    deleted = writer.execute(
                        "DELETE FROM entries WHERE gid = ?1 AND key IN "
                        "(SELECT key FROM entries WHERE gid = ?1 LIMIT ?2)",
                        (gid, _DELETE_CHUNK),
                    ).rowcount
                    if deleted < _DELETE_CHUNK:
                        writer.execute("DELETE FROM generations WHERE gid = ?", (gid,))
                        break
        if garbage:
            logger.debug(
                "collected %d generation(s) of cache namespace %s", len(garbage), namespace
            )
        return len(garbage)

    # -- metadata --------------------------------------------------------------------------

    def current(self, namespace: str) -> str | None:
        row = (
            self._conn()
            .execute(
                "SELECT g.gen FROM namespaces n JOIN generations g ON g.gid = n.current "
                "WHERE n.ns = ?",
                (namespace,),
            )
            .fetchone()
        )
        return None if row is None else row[0]

    def generations(self, namespace: str) -> list[GenerationInfo]:
        connection = self._conn()
        current = self._current_gid(connection, namespace)
        rows = connection.execute(
            "SELECT gid, gen, status, created, published, run_id, key_count FROM generations "
            "WHERE ns = ? AND status != 'garbage' ORDER BY gid DESC",
            (namespace,),
        ).fetchall()
        result = []
        for gid, gen, status, created, published, run_id, key_count in rows:
            if status == "open" or gid == current:  # still written to: count them now
                key_count = self.count(namespace, gen)
            result.append(
                GenerationInfo(
                    id=gen,
                    namespace=namespace,
                    status="open"
                    if status == "open"
                    else ("current" if gid == current else "previous"),
                    created=utc_from_epoch(created),
                    published=utc_from_epoch(published),
                    writer_run_id=run_id,
                    key_count=key_count or 0,
                )
            )
        return result

    def count(self, namespace: str, generation: str) -> int:
        (count,) = (
            self._conn()
            .execute(
                "SELECT count(*) FROM entries WHERE gid = "
                "(SELECT gid FROM generations WHERE ns = ? AND gen = ?)",
                (namespace, generation),
            )
            .fetchone()
        )
        return count

    def namespaces(self) -> list[str]:
        rows = self._conn().execute(
            "SELECT DISTINCT ns FROM generations WHERE status != 'garbage' ORDER BY ns"
        )
        return [ns for (ns,) in rows]

    def namespace_ttl(self, namespace: str) -> float | None:
        row = (
            self._conn().execute("SELECT ttl FROM namespaces WHERE ns = ?", (namespace,)).fetchone()
        )
        return None if row is None else row[0]

    def set_namespace_ttl(self, namespace: str, ttl: float | None) -> None:
        with self._write() as connection:
            self._ensure_namespace(connection, namespace)
            stored = None if ttl is None or ttl == math.inf else ttl
            connection.execute("UPDATE namespaces SET ttl = ? WHERE ns = ?", (stored, namespace))

"""Benchmark of mlplatform.cache: SQLite and Redis side by side with raw SQLite and redis-py.

Measures, on the same data in the same run:

- ``get`` latency p50/p99: our `Cache.get` vs a raw SQLite ``SELECT`` of the same row, and
  vs a raw redis-py ``GET`` of the same Redis key (ours resolves the generation pointer
  atomically and decodes the value; the raw reads do neither);
- ``get_many`` throughput (keys/s in batches): ours vs raw ``SELECT ... IN`` / ``MGET``;
- ``put_many`` throughput (items/s, encoding included): our generation writer vs a raw
  ``executemany`` INSERT / a raw pipelined ``SET`` of the already encoded values.

Starts its own redis-server (persistence off) on a free loopback port; ``--no-redis`` skips
Redis. Prints a table, then one JSON line with every figure and the issue's targets.

    uv run python benchmarks/cache.py [--items 100000] [--reads 20000] [--batch 100]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlplatform.cache import Cache
from mlplatform.cache._codec import encode
from mlplatform.cache._sqlite import SQLiteBackend
from mlplatform.testing import free_port


def percentile(samples_ns: list[int], fraction: float) -> float:
    ordered = sorted(samples_ns)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1000  # µs


def latencies(keys: list[str], ours: Callable, raw: Callable) -> tuple[list[int], list[int]]:
    """Time ours and raw alternately per key, so that machine noise hits both alike."""
    clock = time.perf_counter_ns
    ours_ns, raw_ns = [], []
    for key in keys:
        start = clock()
        ours(key)
        middle = clock()
        raw(key)
        end = clock()
        ours_ns.append(middle - start)
        raw_ns.append(end - middle)
    return ours_ns, raw_ns


def throughput(batches: list[list[str]], read: Callable) -> float:
    start = time.perf_counter()
    for batch in batches:
        read(batch)
    return sum(map(len, batches)) / (time.perf_counter() - start)


def best_of(repeats: int, run: Callable[[], float]) -> float:
    return max(run() for _ in range(repeats))


def dataset(items: int) -> dict[str, dict]:
    return {
        f"title:{i:07d}": {"id": i, "score": round(i * 0.37 % 1, 4), "country": "US"}
        for i in range(items)
    }


def write_generation(cache: Cache, data: dict) -> tuple[str, float]:
    generation = cache.new_generation()
    start = time.perf_counter()
    with cache.writer(generation, batch_size=5000) as writer:
        writer.put_many(data)
    rate = len(data) / (time.perf_counter() - start)
    cache.publish(generation)
    return generation, rate


def bench_sqlite(folder: Path, data: dict, reads: list[str], batches: list[list[str]]) -> dict:
    backend = SQLiteBackend(folder / "cache.db")
    cache = Cache("bench", backend=backend, keep_generations=1)
    _, put_rate = write_generation(cache, data)
    put_rate = max(put_rate, write_generation(cache, data)[1])  # best of two

    raw_db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    raw_db.execute("PRAGMA journal_mode = WAL")
    raw_db.execute("PRAGMA synchronous = NORMAL")
    raw_db.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
    blobs = [(key, encode(value)) for key, value in data.items()]
    start = time.perf_counter()
    raw_db.execute("BEGIN")
    raw_db.executemany("INSERT INTO kv VALUES (?, ?)", blobs)
    raw_db.execute("COMMIT")
    raw_put_rate = len(blobs) / (time.perf_counter() - start)

    # Raw reads go to the very rows ours read: the published generation's entries.
    connection = sqlite3.connect(folder / "cache.db", isolation_level=None)
    (gid,) = connection.execute("SELECT current FROM namespaces WHERE ns = 'bench'").fetchone()
    select = "SELECT value FROM entries WHERE gid = ? AND key = ?"

    def raw_get(key: str) -> bytes:
        return connection.execute(select, (gid, key)).fetchone()[0]

    def raw_get_many(keys: list[str]) -> list:
        marks = ",".join("?" * len(keys))
        return connection.execute(
            f"SELECT key, value FROM entries WHERE gid = ? AND key IN ({marks})", (gid, *keys)
        ).fetchall()

    assert cache.get(reads[0]) == data[reads[0]]
    latencies(reads[:2000], cache.get, raw_get)  # warm up
    ours_ns, raw_ns = latencies(reads, cache.get, raw_get)
    result = {
        "get_p50_us": percentile(ours_ns, 0.5),
        "get_p99_us": percentile(ours_ns, 0.99),
        "raw_select_p50_us": percentile(raw_ns, 0.5),
        "raw_select_p99_us": percentile(raw_ns, 0.99),
        "get_many_keys_per_s": best_of(3, lambda: throughput(batches, cache.get_many)),
        "raw_select_in_keys_per_s": best_of(3, lambda: throughput(batches, raw_get_many)),
        "put_many_items_per_s": put_rate,
        "raw_insert_items_per_s": raw_put_rate,
    }
    connection.close()
    raw_db.close()
    cache.close()
    backend.close()
    return result


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"redis://127.0.0.1:{port}/0"


def bench_redis(url: str, data: dict, reads: list[str], batches: list[list[str]]) -> dict:
    import redis

    from mlplatform.cache._redis import RedisBackend

    backend = RedisBackend(url, timeout_s=10)
    deadline = time.monotonic() + 20
    while True:
        try:
            backend.client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cache = Cache("bench", backend=backend, keep_generations=1)
    _, put_rate = write_generation(cache, data)
    generation, second_rate = write_generation(cache, data)
    put_rate = max(put_rate, second_rate)

    raw = redis.Redis.from_url(url)
    prefix = f"mlp:{{bench}}:v:{generation}:"
    blobs = [(f"raw:{key}", encode(value)) for key, value in data.items()]
    start = time.perf_counter()
    for offset in range(0, len(blobs), 5000):
        pipe = raw.pipeline(transaction=False)
        for key, blob in blobs[offset : offset + 5000]:
            pipe.set(key, blob)
        pipe.execute()
    raw_put_rate = len(blobs) / (time.perf_counter() - start)

    def raw_get(key: str) -> bytes:
        return raw.get(prefix + key)

    def raw_mget(keys: list[str]) -> list:
        return raw.mget([prefix + key for key in keys])

    assert cache.get(reads[0]) == data[reads[0]]
    assert raw_get(reads[0]) == encode(data[reads[0]])
    latencies(reads[:2000], cache.get, raw_get)  # warm up
    ours_ns, raw_ns = latencies(reads, cache.get, raw_get)
    result = {
        "get_p50_us": percentile(ours_ns, 0.5),
        "get_p99_us": percentile(ours_ns, 0.99),
        "raw_get_p50_us": percentile(raw_ns, 0.5),
        "raw_get_p99_us": percentile(raw_ns, 0.99),
        "get_many_keys_per_s": best_of(3, lambda: throughput(batches, cache.get_many)),
        "raw_mget_keys_per_s": best_of(3, lambda: throughput(batches, raw_mget)),
        "put_many_items_per_s": put_rate,
        "raw_pipeline_set_items_per_s": raw_put_rate,
    }
    result["get_p50_vs_raw"] = result["get_p50_us"] / result["raw_get_p50_us"]
    raw.close()
    cache.close()
    backend.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="items written and read")
    parser.add_argument("--reads", type=int, default=20_000, help="single gets timed")
    parser.add_argument("--batch", type=int, default=100, help="keys per get_many")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis backend")
    args = parser.parse_args()

    data = dataset(args.items)
    rng = random.Random(6)
    keys = list(data)
    reads = rng.choices(keys, k=args.reads)
    batches = [rng.sample(keys, args.batch) for _ in range(max(1, args.reads // args.batch))]
    figures: dict = {"items": args.items, "reads": args.reads, "batch": args.batch}

    with tempfile.TemporaryDirectory(prefix="mlp-cache-bench-") as tmp:
        folder = Path(tmp)
        figures["sqlite"] = bench_sqlite(folder, data, reads, batches)
        if not args.no_redis:
            server, url = start_redis(folder)
            try:
                figures["redis"] = bench_redis(url, data, reads, batches)
            finally:
                server.terminate()
                server.wait(timeout=10)

    sqlite_figures, redis_figures = figures["sqlite"], figures.get("redis")
    figures["targets"] = {
        "sqlite_get_p50_at_most_50us": sqlite_figures["get_p50_us"] <= 50,
        "sqlite_put_many_at_least_100k_per_s": sqlite_figures["put_many_items_per_s"] >= 100_000,
        "redis_get_p50_at_most_1.5x_raw": (
            redis_figures["get_p50_vs_raw"] <= 1.5 if redis_figures else None
        ),
    }

    print(f"cache benchmark: {args.items:,} items, {args.reads:,} gets, batches of {args.batch}")
    print(f"{'':38}{'ours':>14}{'raw':>14}")
    rows = [
        ("sqlite get p50 (µs)", "get_p50_us", "raw_select_p50_us", sqlite_figures),
        ("sqlite get p99 (µs)", "get_p99_us", "raw_select_p99_us", sqlite_figures),
        (
            "sqlite get_many (keys/s)",
            "get_many_keys_per_s",
            "raw_select_in_keys_per_s",
            sqlite_figures,
        ),
        (
            "sqlite put_many (items/s)",
            "put_many_items_per_s",
            "raw_insert_items_per_s",
            sqlite_figures,
        ),
    ]
    if redis_figures:
        rows += [
            ("redis get p50 (µs)", "get_p50_us", "raw_get_p50_us", redis_figures),
            ("redis get p99 (µs)", "get_p99_us", "raw_get_p99_us", redis_figures),
            (
                "redis get_many (keys/s)",
                "get_many_keys_per_s",
                "raw_mget_keys_per_s",
                redis_figures,
            ),
            (
                "redis put_many (items/s)",
                "put_many_items_per_s",
                "raw_pipeline_set_items_per_s",
                redis_figures,
            ),
        ]
    for label, ours, raw, source in rows:
        print(f"{label:38}{source[ours]:>14,.1f}{source[raw]:>14,.1f}")
    if redis_figures:
        print(
            f"{'redis get p50, ours / raw redis-py GET':38}{redis_figures['get_p50_vs_raw']:>14.2f}"
        )
    for target, met in figures["targets"].items():
        print(f"target {target}: {'met' if met else 'NOT met' if met is False else 'skipped'}")
    print(json.dumps(figures, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

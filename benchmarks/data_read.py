"""Read-path benchmark: our DataFrame against PyIceberg, pyarrow.dataset, DuckDB and Polars.

Builds an Iceberg table of at least 200 MB of zstd Parquet in at least 10 files across
partitions (in a temporary local profile), then reads all columns and a 3-column projection
with every reader in the same process, warm page cache, interleaved rounds, median of
``--runs`` runs. Prints MB/s of Parquet read per reader (wall clock) and CPU seconds per run,
our ratio to each, and ends with one JSON line whose ``targets`` map says which targets
were met. For the projection it also reads our plan with its byte ranges dropped ("ours,
whole files": every file fetched whole, as before projection pushdown), to show what the
pushdown itself is worth in the same run.

    uv run python benchmarks/data_read.py            # ~200 MB table, 5 runs
    uv run python benchmarks/data_read.py --runs 7 --min-mb 300
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WORDS = [
    "the",
    "night",
    "star",
    "river",
    "last",
    "king",
    "city",
    "dark",
    "love",
    "war",
    "blue",
    "house",
    "time",
    "secret",
    "game",
    "road",
    "lost",
    "world",
    "day",
    "moon",
    "fire",
    "girl",
    "man",
    "story",
    "island",
    "summer",
    "winter",
    "ghost",
    "dream",
    "storm",
]
KINDS = ["movie", "series", "episode", "short", "special"]
COUNTRIES = ["US", "GB", "FR", "DE", "IN", "JP", "KR", "BR", "ES", "IT", "MX", "CA"]
PROJECTION = ["title_id", "title", "score"]


def make_batch(rng: np.random.Generator, start: int, rows: int, kind: str) -> pa.Table:
    words = pa.array(WORDS)
    title = pc.binary_join_element_wise(
        *(words.take(pa.array(rng.integers(0, len(WORDS), rows))) for _ in range(3)), " "
    )
    return pa.table(
        {
            "title_id": pa.array(np.arange(start, start + rows, dtype=np.int64)),
            "title": title,
            "year": pa.array(rng.integers(1950, 2025, rows).astype(np.int32)),
            "kind": pa.repeat(pa.scalar(kind), rows),
            "country": pa.array(COUNTRIES).take(pa.array(rng.integers(0, len(COUNTRIES), rows))),
            "score": pa.array(rng.random(rows) * 10),
            "votes": pa.array(rng.integers(0, 1_000_000, rows)),
            "runtime_min": pa.array(rng.integers(5, 240, rows).astype(np.int32)),
            "source_key": pa.array(rng.integers(0, 2**62, rows)).cast(pa.string()),
        }
    )


def build_table(min_mb: float, files_per_kind: int) -> tuple[object, list[str], int]:
    from mlplatform.data import Table

    rng = np.random.default_rng(7)
    sample = make_batch(rng, 0, 10, "movie")
    table = Table("bench.titles")
    if table.exists():
        files = table.files()
        size = sum(f.size_bytes for f in files)
        if size >= min_mb * 1e6:
            return table, [f.path for f in files], sum(f.record_count for f in files)
        raise SystemExit(f"bench.titles exists with only {size / 1e6:.0f} MB; use a new --home")
    table.create(sample.schema, partition_by=["kind"])
    # ~37 bytes of zstd Parquet per row for this data: size the writers for min_mb.
    rows_per_file = int(min_mb * 1e6 / 37 / (len(KINDS) * files_per_kind)) + 1
    manifests = []
    start = 0
    for kind in KINDS:
        for _ in range(files_per_kind):
            writer = table.writer()
            writer.write(make_batch(rng, start, rows_per_file, kind))
            manifests.append(writer.manifest())
            start += rows_per_file
    table.commit(manifests)
    files = table.files()
    size = sum(f.size_bytes for f in files)
    while size < min_mb * 1e6:  # top up if the estimate was low
        writer = table.writer()
        writer.write(make_batch(rng, start, rows_per_file, KINDS[start % len(KINDS)]))
        start += rows_per_file
        table.commit([writer.manifest()])
        files = table.files()
        size = sum(f.size_bytes for f in files)
    return table, [f.path for f in files], sum(f.record_count for f in files)


def readers(table: object, paths: list[str], columns: list[str] | None) -> dict[str, Callable]:
    import dataclasses

    import duckdb
    import polars as pl
    import pyarrow.dataset as ds

    from mlplatform.data import DataFrame

    local = [p.removeprefix("file://") for p in paths]
    whole_files = {}
    if columns:  # the same plan, with every file fetched whole

        def read_whole_files() -> object:
            plan = table.plan(columns=columns)
            return table.read(dataclasses.replace(plan, byte_ranges={}))

        whole_files = {"ours, whole files": read_whole_files}
    iceberg = table.catalog.load_table(table.name)  # PyIceberg on the same catalog
    selected = tuple(columns) if columns else ("*",)
    sql_columns = ", ".join(columns) if columns else "*"
    connection = duckdb.connect()

    return {
        "ours": lambda: DataFrame.load(table, columns=columns).to_arrow(),
        **whole_files,
        "pyiceberg": lambda: iceberg.scan(selected_fields=selected).to_arrow(),
        "pyarrow.dataset": lambda: ds.dataset(local, format="parquet").to_table(columns=columns),
        "duckdb": lambda: connection.sql(
            f"select {sql_columns} from read_parquet({local!r})"
        ).to_arrow_table(),
        "polars": lambda: (
            pl.scan_parquet(local).select(columns).collect()
            if columns
            else pl.scan_parquet(local).collect()
        ),
    }


def measure(candidates: dict[str, Callable], runs: int) -> dict[str, dict[str, float]]:
    rows = {}
    for name, read in candidates.items():  # warm-up: page cache, imports, thread pools
        rows[name] = len(read())
    if len(set(rows.values())) != 1:
        raise SystemExit(f"readers disagree on the row count: {rows}")
    wall: dict[str, list[float]] = {name: [] for name in candidates}
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):  # interleaved, so load changes hit every reader alike
        for name, read in candidates.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            result = read()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
            del result
    return {
        name: {"wall_s": statistics.median(wall[name]), "cpu_s": statistics.median(cpu[name])}
        for name in candidates
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--min-mb", type=float, default=200.0)
    parser.add_argument("--files-per-partition", type=int, default=2)
    parser.add_argument("--home", help="state folder to build the table in (default: temporary)")
    args = parser.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="mlp-bench-read-")
    os.environ["MLP_HOME"] = home
    os.environ["MLP_CONFIG"] = str(Path(home) / "mlp.toml")
    Path(home).mkdir(parents=True, exist_ok=True)
    (Path(home) / "mlp.toml").write_text('profile = "local"\n')
    for name in [n for n in os.environ if n.startswith("MLP_") and "__" in n]:
        del os.environ[name]

    started = time.perf_counter()
    table, paths, rows = build_table(args.min_mb, args.files_per_partition)
    size_mb = sum(os.path.getsize(p.removeprefix("file://")) for p in paths) / 1e6
    print(
        f"table bench.titles: {len(paths)} files, {size_mb:.0f} MB zstd Parquet, {rows} rows, "
        f"{len(KINDS)} partitions (built in {time.perf_counter() - started:.0f}s); "
        f"{os.cpu_count()} CPUs, pyarrow {pa.__version__}"
    )
    figures: dict[str, object] = {
        "benchmark": "data_read",
        "files": len(paths),
        "mb": round(size_mb, 1),
        "rows": rows,
        "runs": args.runs,
        "cpus": os.cpu_count(),
    }
    targets: dict[str, bool] = {}
    for label, columns in (("full", None), ("projection", PROJECTION)):
        results = measure(readers(table, paths, columns), args.runs)
        ours = results["ours"]["wall_s"]
        print(f"\n{label} read ({'all columns' if columns is None else ', '.join(columns)}):")
        print(f"  {'reader':18s} {'MB/s':>8s} {'wall s':>8s} {'CPU s':>8s} {'ours/x':>8s}")
        for name, result in results.items():
            mbps = size_mb / result["wall_s"]
            ratio = result["wall_s"] / ours
            print(
                f"  {name:18s} {mbps:8.0f} {result['wall_s']:8.3f} {result['cpu_s']:8.3f} "
                f"{ratio:8.2f}"
            )
        figures[label] = {
            name: {
                "mb_per_s": round(size_mb / r["wall_s"], 1),
                "wall_s": round(r["wall_s"], 4),
                "cpu_s": round(r["cpu_s"], 4),
                "ours_speedup": round(r["wall_s"] / ours, 3),
                "ours_cpu_speedup": round(r["cpu_s"] / results["ours"]["cpu_s"], 3),
            }
            for name, r in results.items()
        }
        speedup = {name: r["wall_s"] / ours for name, r in results.items()}
        if label == "full":
            targets["full_vs_pyiceberg_at_least_1.5x"] = speedup["pyiceberg"] >= 1.5
            targets["full_vs_pyarrow_dataset_at_least_1.0x"] = speedup["pyarrow.dataset"] >= 1.0
        else:
            targets["projection_vs_polars_at_least_1.0x"] = speedup["polars"] >= 1.0
            plan = table.plan(columns=columns)
            fetched = plan.fetch_bytes / sum(f.size_bytes for f in plan.files)
            figures["projection_fetched_fraction"] = round(fetched, 3)
            print(f"  the projection fetches {fetched:.0%} of the files' bytes")
    figures["targets"] = targets
    sys.stdout.flush()
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()

"""Write-path benchmark: 8 staged writers + one commit versus one PyIceberg append per writer.

Both paths write the same 8 batches into identical partitioned tables of a temporary local
profile. Ours: each writer stages Parquet files (as 8 foreach tasks would), then one
``Table.commit`` makes one snapshot. PyIceberg: ``table.append(batch)`` per writer, one
snapshot each. Prints time and snapshot count per path and ends with one JSON line.

    uv run python benchmarks/data_write.py
    uv run python benchmarks/data_write.py --rows-per-writer 500000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

WRITERS = 8
KINDS = ["movie", "series", "episode", "short"]


def batch(rng: np.random.Generator, start: int, rows: int) -> pa.Table:
    return pa.table(
        {
            "title_id": pa.array(np.arange(start, start + rows, dtype=np.int64)),
            "title": pa.array(rng.integers(0, 2**40, rows)).cast(pa.string()),
            "kind": pa.array(KINDS).take(pa.array(rng.integers(0, len(KINDS), rows))),
            "score": pa.array(rng.random(rows)),
        }
    )


def run_once(run: int, batches: list[pa.Table]) -> dict[str, dict[str, float]]:
    from mlplatform.data import DataFrame, Table

    schema = batches[0].schema
    ours = Table(f"bench.staged_{run}").create(schema, partition_by=["kind"])
    started = time.perf_counter()
    manifests = []
    for data in batches:
        writer = ours.writer()
        writer.write(data)
        manifests.append(writer.manifest())
    staged = time.perf_counter()
    ours.commit(manifests)
    done = time.perf_counter()
    staged_s, commit_s = staged - started, done - staged

    theirs = Table(f"bench.appends_{run}").create(schema, partition_by=["kind"])
    iceberg = theirs.catalog.load_table(theirs.name)  # a plain PyIceberg handle
    started = time.perf_counter()
    for data in batches:
        iceberg.append(data)
    appends_s = time.perf_counter() - started

    rows = sum(b.num_rows for b in batches)
    assert len(DataFrame.load(ours)) == rows == len(DataFrame.load(theirs))
    return {
        "staged_writers_one_commit": {
            "total_s": staged_s + commit_s,
            "write_s": staged_s,
            "commit_s": commit_s,
            "snapshots": len(ours.snapshots()),
            "files": len(ours.files()),
        },
        "pyiceberg_append_per_writer": {
            "total_s": appends_s,
            "snapshots": len(theirs.snapshots()),
            "files": len(theirs.files()),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-writer", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="mlp-bench-write-")
    for name in [n for n in os.environ if n.startswith("MLP_") and "__" in n]:
        del os.environ[name]
    os.environ["MLP_HOME"] = home
    os.environ["MLP_CONFIG"] = str(Path(home) / "mlp.toml")
    (Path(home) / "mlp.toml").write_text('profile = "local"\n')

    rng = np.random.default_rng(11)
    batches = [batch(rng, i * args.rows_per_writer, args.rows_per_writer) for i in range(WRITERS)]
    results = [run_once(run, batches) for run in range(args.runs)]
    summary: dict[str, dict[str, float]] = {}
    for path in results[0]:
        summary[path] = {
            key: statistics.median([r[path][key] for r in results])
            if key.endswith("_s")
            else results[0][path][key]
            for key in results[0][path]
        }
    mb = sum(b.nbytes for b in batches) / 1e6
    print(
        f"{WRITERS} writers x {args.rows_per_writer} rows ({mb:.0f} MB in memory), "
        f"table partitioned by kind ({len(KINDS)} values), median of {args.runs} runs"
    )
    for path, figures in summary.items():
        detail = ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
        )
        print(f"  {path:30s} {detail}")
    ours = summary["staged_writers_one_commit"]
    theirs = summary["pyiceberg_append_per_writer"]
    line = {
        "benchmark": "data_write",
        "writers": WRITERS,
        "rows_per_writer": args.rows_per_writer,
        "runs": args.runs,
        **{path: {k: round(v, 4) for k, v in f.items()} for path, f in summary.items()},
        "speedup": round(theirs["total_s"] / ours["total_s"], 3),
    }
    print(json.dumps(line, sort_keys=True))


if __name__ == "__main__":
    main()

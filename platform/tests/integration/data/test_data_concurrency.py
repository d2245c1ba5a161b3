"""Concurrent commits of the same manifests, from real processes started at the same instant.

Each round, one writer stages rows and every committer process commits that writer's
manifest at once (they wait at a barrier made of files, then all go). Exactly one snapshot
may come of it, and every process must return its id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from mlplatform.data import DataFrame, Table

pytestmark = pytest.mark.integration

PROCESSES = 3
ROUNDS = 3
ROWS_PER_ROUND = 400
SCHEMA = pa.schema([("id", pa.int64()), ("round", pa.int64())])

COMMITTER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from mlplatform.data import Table, WriteManifest

    folder, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    table = Table("kg.contested")
    table.schema  # connect to the catalog before the barrier
    for number in range(rounds):
        (folder / f"ready-{number}-{me}").touch()
        go = folder / f"go-{number}"
        while not go.exists():
            time.sleep(0.001)
        manifest = WriteManifest.from_json((folder / f"manifest-{number}.json").read_text())
        snapshot_id = table.commit([manifest])
        (folder / f"result-{number}-{me}").write_text(json.dumps(snapshot_id))
    """
)


def _wait_for(paths: list[Path], processes: list[subprocess.Popen], deadline: float) -> None:
    while not all(path.exists() for path in paths):
        failed = [p for p in processes if p.poll() not in (None, 0)]
        if failed:
            pytest.fail(f"a committer failed: {failed[0].communicate()[1]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {[p.name for p in paths if not p.exists()]}")
        time.sleep(0.005)


@pytest.mark.timeout(300)
def test_concurrent_commits_of_one_manifest_make_exactly_one_snapshot(mlp_home, tmp_path):
    table = Table("kg.contested").create(SCHEMA)
    script = tmp_path / "committer.py"
    script.write_text(COMMITTER)
    names = [f"p{i}" for i in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), name, str(ROUNDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for name in names
    ]
    deadline = time.monotonic() + 240
    try:
        for number in range(ROUNDS):
            writer = table.writer()
            start = number * ROWS_PER_ROUND
            ids = list(range(start, start + ROWS_PER_ROUND))
            writer.write(pa.table({"id": ids, "round": [number] * ROWS_PER_ROUND}, schema=SCHEMA))
            (tmp_path / f"manifest-{number}.json").write_text(writer.manifest().to_json())
            _wait_for([tmp_path / f"ready-{number}-{n}" for n in names], processes, deadline)
            (tmp_path / f"go-{number}").touch()  # all committers start at this instant
            results = [tmp_path / f"result-{number}-{n}" for n in names]
            _wait_for(results, processes, deadline)
            returned = {json.loads(path.read_text()) for path in results}
            snapshots = table.snapshots()
            assert len(snapshots) == number + 1, f"round {number}: {len(snapshots)} snapshots"
            assert returned == {snapshots[-1].snapshot_id}, f"round {number}"
        for process in processes:
            assert process.wait(timeout=60) == 0, process.communicate()[1]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    loaded = DataFrame.load(table).to_arrow()
    assert loaded.num_rows == ROUNDS * ROWS_PER_ROUND
    assert sorted(loaded.column("id").to_pylist()) == list(range(ROUNDS * ROWS_PER_ROUND))


SEEDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pyarrow as pa
    from mlplatform.data import ensure_tables

    go = Path(sys.argv[1])
    schema = pa.schema([("id", pa.int64())])
    while not go.exists():
        time.sleep(0.005)
    tables = ensure_tables(
        {"demo.seeded": schema}, lambda: {"demo.seeded": pa.table({"id": list(range(500))})}
    )
    print(tables["demo.seeded"].current_snapshot_id)
    """
)


@pytest.mark.timeout(120)
def test_processes_seeding_a_missing_input_at_once_leave_one_seeded_copy(mlp_home, tmp_path):
    go = tmp_path / "go"
    seeders = [
        subprocess.Popen(
            [sys.executable, "-c", SEEDER, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    time.sleep(2.0)  # every process imported and waiting
    go.touch()
    outcomes = [seeder.communicate(timeout=90) for seeder in seeders]
    for seeder, (_, err) in zip(seeders, outcomes, strict=True):
        assert seeder.returncode == 0, err
    table = Table("demo.seeded")
    assert {out.strip() for out, _ in outcomes} == {str(table.current_snapshot_id)}
    assert len(table.snapshots()) == 1
    assert DataFrame.load(table).num_rows == 500

"""A real Metaflow foreach writes through staged writers; the join commits once."""

import os
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from metaflow import Runner

from mlplatform.config import load_settings
from mlplatform.data import DataFrame, Table, gc
from mlplatform.data._catalog import uri_to_path
from mlplatform.data._write import staging_root

pytestmark = pytest.mark.integration

FLOW = textwrap.dedent(
    """
    import pyarrow as pa
    from metaflow import FlowSpec, current, retry, step

    from mlplatform.data import Table

    SCHEMA = pa.schema([("id", pa.int64()), ("part", pa.int64())])
    NAME = "kg.flow_output"


    class StagedWriteFlow(FlowSpec):
        @step
        def start(self):
            Table(NAME).create(SCHEMA, partition_by=["part"], exist_ok=True)
            self.parts = [0, 1, 2]
            self.next(self.write, foreach="parts")

        @retry(times=1, minutes_between_retries=0)
        @step
        def write(self):
            part = self.input
            writer = Table(NAME).writer()
            ids = list(range(part * 100, part * 100 + 100))
            writer.write(pa.table({"id": ids, "part": [part] * 100}, schema=SCHEMA))
            if part == 1 and current.retry_count == 0:
                raise RuntimeError("simulated failure after staging files")
            self.manifest = writer.manifest()
            self.next(self.join)

        @step
        def join(self, inputs):
            manifests = [i.manifest for i in inputs]
            self.snapshot_id = Table(NAME).commit(manifests)
            self.repeated = Table(NAME).commit(manifests)
            self.next(self.end)

        @step
        def end(self):
            pass


    if __name__ == "__main__":
        StagedWriteFlow()
    """
)


@pytest.mark.timeout(600)
def test_foreach_writers_commit_once_and_failed_attempts_stay_invisible(mlp_home, tmp_path):
    flow_file = tmp_path / "staged_write_flow.py"
    flow_file.write_text(FLOW)
    with Runner(str(flow_file), cwd=str(tmp_path)).run(max_workers=2) as running:
        assert running.status == "successful", running.stderr
        run = running.run
        run_id = run.id
        snapshot_id = run.data.snapshot_id
        assert run.data.repeated == snapshot_id

    table = Table("kg.flow_output")
    assert [s.snapshot_id for s in table.snapshots()] == [snapshot_id]
    assert table.snapshots()[0].summary["mlp.run"] == f"StagedWriteFlow/{run_id}"
    frame = DataFrame.load(table).to_arrow().sort_by("id")
    assert frame.column("id").to_pylist() == list(range(300))

    committed = sorted(f.path for f in table.files())
    assert len(committed) == 3
    assert all(f"/StagedWriteFlow/{run_id}/write/" in p for p in committed)
    part_one = [p for p in committed if "/part=1/" in p]
    assert len(part_one) == 1 and "/attempt-1/" in part_one[0]

    settings = load_settings()
    root = uri_to_path(staging_root(settings))
    staged = sorted(
        os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".parquet")
    )
    failed_attempt = [p for p in staged if "/attempt-0/part=1/" in p]
    assert len(staged) == 4 and len(failed_attempt) == 1  # staged, never committed

    later = datetime.now(UTC) + timedelta(days=2)
    result = gc(timedelta(days=1), settings=settings, now=later)
    assert [uri_to_path(p) for p in result.deleted] == failed_attempt
    assert not os.path.exists(failed_attempt[0])
    assert len(DataFrame.load(table)) == 300

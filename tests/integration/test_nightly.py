"""``mlp nightly --size small`` over the five real pipelines, as CI runs it.

Each pipeline's hook seeds its sample data, runs its flows and event chains, calls its
hosted endpoints and checks its quality thresholds; this test asserts that every pipeline
took part, every check passed, and both report files were written.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration]

MLP = [sys.executable, "-c", "from mlplatform.cli import main; main()"]
PIPELINES = ["content_decisions", "explainers", "knowledge_graph", "media_features", "perf_viz"]


@pytest.mark.timeout(900)
def test_the_small_nightly_run_passes_over_every_pipeline(mlp_home):
    done = subprocess.run(
        [*MLP, "nightly", "--size", "small"],
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    (path,) = (mlp_home / "reports").glob("nightly-*.json")
    report = json.loads(path.read_text())
    assert report["passed"] and report["failures"] == []
    assert [p["pipeline"] for p in report["pipelines"]] == PIPELINES
    for pipeline in report["pipelines"]:
        assert pipeline["status"] == "passed", pipeline
        assert pipeline["checks"] and all(check["passed"] for check in pipeline["checks"])
    assert path.with_suffix(".html").exists()
    print(f"mlp nightly --size small: {report['seconds']:.0f} s")

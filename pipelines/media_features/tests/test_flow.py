"""MediaFeatureBackfillFlow end to end: new assets land, the event starts the flow (through
the local orchestrator and metaflow.Runner), one cache generation holds the features."""

from pathlib import Path

import media_features as mf
import numpy as np
import pytest
from metaflow import Flow, namespace

from mlplatform.cache import Cache
from mlplatform.orchestration import Orchestrator, list_runs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PIPELINE = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)
def test_landed_assets_trigger_a_backfill_into_one_generation(mlp_home, small_config):
    config = mf.load_config()  # the flow's own configuration: its namespaces and features
    mf.ensure_assets(small_config)  # 8 small sample assets
    cache = mf.FeatureCache(config.cache)
    # Computed on demand before: the backfill reuses it instead of computing it again.
    before = mf.load_assets(small_config)["asset-0000"]
    reused, _ = mf.compute_assets(mf.registry, [before], ["palette"], mf.ObjectStore())
    for key, value in reused.items():
        cache.store(key, value)
    # New assets land: one of them with a damaged frames object.
    new = [a.content for a in mf.generate_assets(2, small_config.sample, start=20)]
    snapshot_id = mf.register_assets(new, small_config)
    damaged = mf.load_assets(small_config)["asset-0021"].objects["frames"].uri
    Path(damaged.removeprefix("file://")).write_bytes(b"damaged")

    summary = Orchestrator(flows_dir=PIPELINE).run(until_idle=True)

    assert summary.succeeded == 1 and summary.failed == 0, summary
    [record] = list_runs()
    assert record.flow == "MediaFeatureBackfillFlow" and record.status == "succeeded"
    assert record.event_name == "media_assets_landed"
    assert int(record.parameters["assets_snapshot_id"]) == snapshot_id
    namespace(None)
    run = Flow("MediaFeatureBackfillFlow")[record.run_id]
    data = run.data
    assert data.snapshot_id == snapshot_id and data.triggered_by == "media_assets_landed"
    assert len(list(run["compute"])) == 2  # foreach over two shards of assets
    closure = mf.registry.closure(config.backfill.features)
    frames_nodes = {n for n in closure if "frames" in _sources(n)}
    assert data.totals["assets"] == 10
    assert set(data.totals["failed"]) == {
        mf.registry.key("asset-0021", 1, name) for name in frames_nodes
    }
    assert all("is corrupt" in message for message in data.totals["failed"].values())
    assert data.totals["nodes"] == 10 * len(closure) - len(frames_nodes)
    assert data.totals["reused"] == len(reused)

    backfill = Cache(config.cache.backfill_namespace)
    assert backfill.current_generation() == data.generation == data.published["generation"]
    assert len(backfill.keys()) == data.totals["nodes"]
    assets = mf.load_assets(small_config)
    expected, _ = mf.compute_assets(
        mf.registry, [assets["asset-0003"], assets["asset-0020"]], closure, mf.ObjectStore()
    )
    stored = backfill.get_many(expected)
    assert set(stored) == set(expected)
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(stored[key], value, rtol=1e-5)
        else:
            assert stored[key] == value
    for key in reused:
        assert cache.computation_count(key) == 0  # reused, never computed by the backfill
    # Backfilled features and failures are served from the cache: no service is needed
    # (none runs here).
    store = mf.FeatureStore("http://127.0.0.1:9", config=small_config)
    batch = store.get(sorted(assets), config.backfill.features, wait=False)
    assert batch.complete
    for result in batch:
        if result.asset_id == "asset-0021" and result.feature in frames_nodes:
            assert result.status == "failed" and "frames" in result.error
        else:
            assert result.status == "done" and result.cached, result
    store.close()
    cache.close()


def _sources(name):
    feature = mf.registry[name]
    found = set(feature.sources)
    for dependency in feature.inputs:
        found |= _sources(dependency)
    return found

"""Bumping a feature's version recomputes it and its dependents only, through the service."""

from pathlib import Path

import media_features as mf
import pytest

pytestmark = [pytest.mark.integration]

TESTS = Path(__file__).resolve().parent
FEATURES = ["shot_stats", "palette", "motion_energy"]


@pytest.mark.timeout(240)
def test_a_version_bump_recomputes_the_feature_and_its_dependents_only(
    mlp_serve, service_env, registry_of, small_config
):
    # Version 1 of everything is cached (as an earlier service or a backfill left it).
    mf.ensure_assets(small_config)
    record = mf.load_assets(small_config)["asset-0001"]
    before, _ = mf.compute_assets(mf.registry, [record], FEATURES, mf.ObjectStore())
    cache = mf.FeatureCache(small_config.cache)
    for key, value in before.items():
        cache.store(key, value)
    cache.close()

    bumped = registry_of(TESTS / "service_bumped_for_tests.py")  # brightness_curve v2
    served = mlp_serve(TESTS / "service_bumped_for_tests.py", env=service_env)
    with mf.FeatureStore(served.url, registry=bumped, config=small_config) as store:
        batch = store.get(["asset-0001"], FEATURES, timeout=60)
        assert batch.complete and not batch.failed, batch.failed
        assert batch["asset-0001", "palette"].cached  # not computed from brightness
        assert batch["asset-0001", "motion_energy"].cached
        new = batch["asset-0001", "shot_stats"]
        assert not new.cached and new.key.startswith("asset-0001@1/shot_stats@1.")
        old_key = mf.registry.key("asset-0001", 1, "shot_stats")
        assert new.key != old_key and old_key in before  # same version, new lineage
        computed = {
            name: store.cache.computation_count(bumped.key("asset-0001", 1, name))
            for name in bumped.closure(FEATURES)
        }
        assert computed == {
            "brightness_curve": 1,
            "shot_boundaries": 1,
            "shot_stats": 1,
            "color_histogram": 0,
            "palette": 0,
            "motion_energy": 0,
        }
        expected, _ = mf.compute_assets(bumped, [record], ["shot_stats"], mf.ObjectStore())
        assert new.value == expected[new.key]
        assert new.value["brightness"] == pytest.approx(before[old_key]["brightness"], abs=0.1)
    # A store on the old code asks the new service for brightness_curve v1: refused, once.
    with mf.FeatureStore(served.url, config=small_config) as stale:
        result = stale.get(["asset-0002"], ["brightness_curve"], timeout=60)
        error = result["asset-0002", "brightness_curve"].error
        assert "asked for brightness_curve v1" in error and "this service runs v2" in error

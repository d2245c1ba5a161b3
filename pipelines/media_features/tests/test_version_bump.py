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
    before = mf.registry
    served = mlp_serve(TESTS / "service_for_tests.py", env=service_env)
    with mf.FeatureStore(served.url, config=small_config) as store:
        first = store.get(["asset-0001"], FEATURES, timeout=60)
        assert first.complete and not first.failed, first.failed
        served.stop()

    bumped = registry_of(TESTS / "service_bumped_for_tests.py")
    served = mlp_serve(TESTS / "service_bumped_for_tests.py", env=service_env)
    with mf.FeatureStore(served.url, config=small_config) as store:
        # A store on the old code asks the new service for brightness_curve v1: refused.
        stale = store.get(["asset-0002"], ["brightness_curve"], timeout=60)
        assert "this service runs v2" in stale["asset-0002", "brightness_curve"].error
    with mf.FeatureStore(served.url, registry=bumped, config=small_config) as store:
        second = store.get(["asset-0001"], FEATURES, timeout=60)
        assert second.complete and not second.failed, second.failed
        assert second["asset-0001", "palette"].cached  # not computed from brightness
        assert second["asset-0001", "motion_energy"].cached
        assert not second["asset-0001", "shot_stats"].cached  # its input's version changed
        assert second["asset-0001", "shot_stats"].key != first["asset-0001", "shot_stats"].key
        counts = {
            name: store.cache.computation_count(bumped.key("asset-0001", 1, name))
            for name in ("brightness_curve", "shot_boundaries", "shot_stats")
        }
        assert counts == {"brightness_curve": 1, "shot_boundaries": 1, "shot_stats": 1}
        old_key = before.key("asset-0001", 1, "brightness_curve")
        assert store.cache.computation_count(old_key) == 1  # v1 was computed once, before
        brightness = second["asset-0001", "shot_stats"].value["brightness"]
        assert brightness == pytest.approx(
            first.value("asset-0001", "shot_stats")["brightness"], abs=0.1
        )

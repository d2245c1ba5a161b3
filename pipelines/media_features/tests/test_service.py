"""FeatureStore through the real hosted service and cache: one service for the module.

Each test uses its own assets, so that what one computes never serves another.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import media_features as mf
import numpy as np
import pytest
from click.testing import CliRunner

from mlplatform.cli import cli

pytestmark = [pytest.mark.integration]

SHOT_AND_PALETTE = ["palette", "shot_stats", "loud_moments", "text_embedding", "dominant_colors"]


def _same(left, right):
    if isinstance(left, np.ndarray):
        np.testing.assert_allclose(left, right, rtol=1e-5)
    else:
        assert left == right


@pytest.mark.timeout(120)
def test_cold_get_computes_the_closure_once_and_a_second_get_is_served_from_the_cache(
    features_env,
):
    env, store = features_env, features_env.store
    batch = store.get(["asset-0000", "asset-0001"], SHOT_AND_PALETTE, timeout=60)
    assert batch.complete and not batch.failed, batch.failed
    expected = env.direct(["asset-0000", "asset-0001"], SHOT_AND_PALETTE)
    for result in batch:
        assert result.status == "done" and not result.cached
        _same(result.value, expected[result.key])
    # The closure was computed, each node exactly once: the inputs too.
    closure = env.registry.closure(SHOT_AND_PALETTE)
    assert {"color_histogram", "brightness_curve", "shot_boundaries"} <= set(closure)
    for asset_id in ("asset-0000", "asset-0001"):
        for feature in closure:
            assert env.computations(asset_id, feature) == 1, (asset_id, feature)
    # The service started its job consumer from zero when the jobs arrived.
    assert any("for queued jobs" in line for line in env.served.lines())

    jobs_before = len(
        [line for line in env.served.lines() if '"route":"/features/compute"' in line]
    )
    again = store.get(["asset-0000", "asset-0001"], SHOT_AND_PALETTE, timeout=5)
    assert all(result.cached for result in again)
    for result in again:
        _same(result.value, expected[result.key])
    jobs_after = len([line for line in env.served.lines() if '"route":"/features/compute"' in line])
    assert jobs_after == jobs_before  # nothing was sent to the service
    assert env.computations("asset-0000", "palette") == 1
    assert batch.value("asset-0000", "shot_stats")["shots"] >= 3


@pytest.mark.timeout(120)
def test_concurrent_requests_for_one_missing_feature_compute_it_once(features_env):
    env, store = features_env, features_env.store
    start = threading.Barrier(20)

    def one_request(_):
        start.wait()
        return store.get(["asset-0002"], ["shot_stats"], timeout=60)

    with ThreadPoolExecutor(20) as pool:
        batches = list(pool.map(one_request, range(20)))
    values = [b.value("asset-0002", "shot_stats") for b in batches]
    assert all(value == values[0] for value in values)
    assert len({b["asset-0002", "shot_stats"].job.job_id for b in batches}) == 1  # one job
    for feature in ("brightness_curve", "shot_boundaries", "shot_stats"):
        assert env.computations("asset-0002", feature) == 1, feature


@pytest.mark.timeout(120)
def test_a_raising_feature_fails_its_dependents_with_the_root_cause_and_others_complete(
    features_env,
):
    env, store = features_env, features_env.store
    batch = store.get(["asset-0003"], ["after_exploding", "exploding", "shot_stats"], timeout=60)
    assert batch.complete
    assert batch["asset-0003", "shot_stats"].status == "done"
    root = "exploding v1 of asset-0003 v1 raised ValueError: boom: 5 colours is too many"
    assert batch["asset-0003", "exploding"].error == f"exploding of asset-0003 v1 failed: {root}"
    assert batch["asset-0003", "after_exploding"].error == (
        f"after_exploding of asset-0003 v1 failed because exploding failed: {root}"
    )
    with pytest.raises(mf.FeatureFailedError, match=r"because exploding failed: .*boom"):
        batch.value("asset-0003", "after_exploding")
    keys = [env.registry.key("asset-0003", 1, f) for f in ("exploding", "after_exploding")]
    assert store.cache.values(keys) == {}  # nothing cached for it or its dependents
    assert env.computations("asset-0003", "exploding") == 0  # it raised: no value computed
    assert env.computations("asset-0003", "palette") == 1  # its input was computed
    # Asked again, the failure comes back without running anything.
    again = store.get(["asset-0003"], ["after_exploding"], timeout=30)
    assert (
        again["asset-0003", "after_exploding"].error == batch["asset-0003", "after_exploding"].error
    )
    job = store.status(batch["asset-0003", "exploding"].job.job_id)
    assert job.status == "failed" and "boom" in job.error


@pytest.mark.timeout(120)
def test_a_timeout_returns_a_handle_and_the_job_still_completes_and_is_cached(features_env):
    env, store = features_env, features_env.store
    batch = store.get(["asset-0004"], ["slow_brightness", "palette"], timeout=0.5)
    assert not batch.complete
    [handle] = batch.pending
    assert isinstance(handle, mf.FeatureJob)
    assert (handle.asset_id, handle.feature) == ("asset-0004", "slow_brightness")
    with pytest.raises(mf.FeatureNotReadyError, match=handle.job_id):
        batch.value("asset-0004", "slow_brightness")
    done = store.wait([handle], timeout=60)
    value = done.value("asset-0004", "slow_brightness")
    expected = env.direct(["asset-0004"], ["brightness_curve"])
    assert value == pytest.approx(float(next(iter(expected.values())).mean()))
    assert store.status(handle.job_id).status == "done"
    cached = store.get(["asset-0004"], ["slow_brightness"], timeout=1)
    assert cached["asset-0004", "slow_brightness"].cached
    assert env.computations("asset-0004", "slow_brightness") == 1


@pytest.mark.timeout(120)
def test_no_wait_returns_job_handles_that_status_and_the_cli_follow(features_env):
    env, store = features_env, features_env.store
    batch = store.get(["asset-0006"], ["palette", "loud_moments"], wait=False)
    assert {r.status for r in batch} == {"pending"}
    done = store.wait(batch, timeout=60)
    assert done.complete and not done.failed
    palette_job = batch["asset-0006", "palette"].job
    status = store.status(palette_job.job_id)
    assert status.status == "done" and status.value == done.value("asset-0006", "palette")
    assert status.result["key"] == palette_job.key and status.result["computed"]

    runner = CliRunner()
    shown = runner.invoke(cli, ["features", "status", palette_job.job_id, "--url", env.served.url])
    assert shown.exit_code == 0, shown.output
    assert f"job {palette_job.job_id}: done" in shown.output
    assert "palette v1 of asset-0006 v1 (computed" in shown.output
    got = runner.invoke(
        cli, ["features", "get", "asset-0006", "palette", "shot_stats", "--url", env.served.url]
    )
    assert got.exit_code == 0, got.output
    lines = got.output.splitlines()
    assert lines[0].split()[:2] == ["palette", "cached"]
    assert lines[1].split()[:2] == ["shot_stats", "computed"]
    queued = runner.invoke(
        cli,
        ["features", "get", "asset-0006", "motion_energy", "--no-wait", "--url", env.served.url],
    )
    assert queued.exit_code == 0 and "pending   job " in queued.output, queued.output
    missing = runner.invoke(cli, ["features", "status", "0" * 32, "--url", env.served.url])
    assert missing.exit_code == 2 and "has no job" in missing.output


@pytest.mark.timeout(120)
def test_a_corrupt_asset_object_fails_the_features_that_read_it_and_names_it(features_env):
    env, store = features_env, features_env.store
    [asset] = mf.generate_assets(1, env.config.sample, start=100)
    mf.register_assets([asset.content], env.config, publish_event=False)
    record = mf.load_assets(env.config)["asset-0100"]
    frames = record.objects["frames"].uri.removeprefix("file://")
    with open(frames, "r+b") as handle:  # a damaged object: bytes changed in place
        handle.seek(100)
        handle.write(b"\x00" * 64)
    batch = store.get(["asset-0100"], ["palette", "shot_stats", "loud_moments"], timeout=60)
    assert batch["asset-0100", "loud_moments"].status == "done"  # audio is intact
    for feature, root in (("palette", "color_histogram"), ("shot_stats", "brightness_curve")):
        error = batch["asset-0100", feature].error
        assert error.startswith(f"{feature} of asset-0100 v1 failed because {root} failed: ")
        assert f"asset-0100 v1 frames: {record.objects['frames'].uri} is corrupt" in error
    keys = [env.registry.key("asset-0100", 1, f) for f in ("palette", "color_histogram")]
    assert store.cache.values(keys) == {}


@pytest.mark.timeout(120)
def test_a_new_asset_version_invalidates_that_assets_features_only(features_env):
    env, store = features_env, features_env.store
    first = store.get(["asset-0005", "asset-0007"], ["shot_stats"], timeout=60)
    assert first.complete and not first.failed
    replacement = mf.generate_assets(1, env.config.sample, start=42)[0].content
    renamed = type(replacement)(**{**replacement.__dict__, "asset_id": "asset-0005"})
    mf.register_assets([renamed], env.config, publish_event=False)
    second = store.get(["asset-0005", "asset-0007"], ["shot_stats"], timeout=60)
    assert second["asset-0007", "shot_stats"].cached  # the other asset is untouched
    new = second["asset-0005", "shot_stats"]
    assert not new.cached and new.key.startswith("asset-0005@2/")
    assert new.value == env.direct(["asset-0005"], ["shot_stats"])[new.key]
    assert new.value != first.value("asset-0005", "shot_stats")
    assert env.computations("asset-0007", "brightness_curve") == 1


@pytest.mark.timeout(60)
def test_unknown_assets_and_features_are_refused_before_anything_is_sent(features_env):
    store = features_env.store
    with pytest.raises(mf.UnknownAssetError, match=r"unknown asset 'asset-000'.*did you mean"):
        store.get(["asset-000"], ["palette"])
    with pytest.raises(mf.UnknownFeatureError, match=r"unknown feature 'pallete'.*\['palette'\]"):
        store.get(["asset-0000"], ["pallete"])
    result = CliRunner().invoke(
        cli, ["features", "get", "asset-9999", "palette", "--url", features_env.served.url]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: unknown asset 'asset-9999'")
    down = mf.FeatureStore("http://127.0.0.1:9", config=features_env.config)
    with pytest.raises(mf.FeatureServiceError, match="no feature service answers at"):
        down.get(["asset-0001"], ["motion_energy"])
    # Cached values need no service at all.
    assert down.get(["asset-0000"], ["palette"])["asset-0000", "palette"].cached
    down.close()

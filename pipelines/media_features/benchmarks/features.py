"""Benchmark of the feature store: cached gets, cold gets through the service, single-flight.

    uv run python pipelines/media_features/benchmarks/features.py [--assets 100] [--repeats 3]

Runs on a fresh local profile in a temporary folder (nothing of the repo's .mlp/ is touched):
seeds assets, starts the feature service (``benchmarks/service_for_benchmark.py``: the
built-ins plus one copy of the 3-level chain per repeat) with ``--workers`` job threads, and
measures, with repeats interleaved:

1. a cached ``get`` of 10 features for one asset through `FeatureStore` (p50, p99);
2. a cold ``get`` of a 3-level feature (``shot_stats``: frames -> brightness_curve ->
   shot_boundaries -> shot_stats) for ``--assets`` assets through store + queue + service,
   against calling the same feature functions in this process with the same parallelism
   (``--workers`` threads, loading the same objects);
3. ``--concurrent`` concurrent requests for one missing feature: how many times it ran.

Prints the figures, then one JSON line with the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEN_FEATURES = [
    "color_histogram",
    "palette",
    "brightness_curve",
    "shot_boundaries",
    "shot_stats",
    "motion_energy",
    "loudness_curve",
    "loud_moments",
    "text_embedding",
    "dominant_colors",
]


def _profile(root: Path, workers: int, repeats: int) -> None:
    for name in list(os.environ):
        if name.startswith("MLP_"):
            del os.environ[name]
    (root / "mlp.toml").write_text('profile = "local"\n')
    os.environ.update(
        {
            "MLP_HOME": str(root / "mlp"),
            "MLP_CONFIG": str(root / "mlp.toml"),
            "METAFLOW_USER": os.environ.get("METAFLOW_USER", "bench"),
            "MLP_HOSTING__MAX_JOB_WORKERS": str(workers),
            "MEDIA_FEATURES_BENCH_REPEATS": str(repeats),
        }
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100, help="Assets of the cold get.")
    parser.add_argument("--repeats", type=int, default=3, help="Interleaved repeats.")
    parser.add_argument("--workers", type=int, default=2, help="Job threads = direct threads.")
    parser.add_argument("--frames", type=int, default=96, help="Frames per asset.")
    parser.add_argument("--height", type=int, default=144, help="Frame height (pixels).")
    parser.add_argument("--width", type=int, default=256, help="Frame width (pixels).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary profile.")
    parser.add_argument("--cached-gets", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=50)
    options = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="media-features-bench-"))
    _profile(root, options.workers, options.repeats)
    import media_features as mf
    from service_for_benchmark import chain_registry

    registry = chain_registry(options.repeats)
    base = mf.load_config()
    sample = base.sample.model_copy(
        update={
            "n_assets": options.assets + 1 + 2 * options.repeats,
            "n_frames": options.frames,
            "frame_height": options.height,
            "frame_width": options.width,
        }
    )
    config = base.model_copy(update={"sample": sample})
    started = time.perf_counter()
    mf.ensure_assets(config)
    records = mf.load_assets(config)
    asset_ids = sorted(records)[: options.assets]
    spare = sorted(records)[options.assets :]
    print(
        f"seeded {len(records)} assets ({options.frames} frames of {options.height}x"
        f"{options.width}, {records[asset_ids[0]].n_frames} frames) in "
        f"{time.perf_counter() - started:.1f} s under {root}"
    )
    service = mf.start_service(service_file=HERE / "service_for_benchmark.py")
    store = mf.FeatureStore(service.url, registry=registry, config=config)
    try:
        figures = _measure(mf, store, registry, config, records, asset_ids, spare, options)
    finally:
        store.close()
        service.stop()
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    cached, cold, flight = figures["cached"], figures["cold"], figures["single_flight"]
    print()
    print(
        f"first get from a service at zero workers (an HTTP worker and the job consumer "
        f"start): {figures['start_from_zero_s']:.2f} s for 10 features of one asset"
    )
    print(
        f"cached get of 10 features, 1 asset: p50 {cached['p50_ms']:.2f} ms, "
        f"p99 {cached['p99_ms']:.2f} ms ({cached['gets']} gets) — target p50 <= 5 ms"
    )
    print(
        f"cold get of shot_stats (3 levels) for {options.assets} assets, {options.workers} "
        f"threads: store + queue + service {cold['store_s']:.2f} s, direct in process "
        f"{cold['direct_s']:.2f} s (medians of {options.repeats}): {cold['ratio']:.2f}x — "
        "target <= 1.5x"
    )
    print(f"  per repeat: store {cold['store_runs']} s, direct {cold['direct_runs']} s")
    print(
        f"single-flight: {options.concurrent} concurrent requests for one missing feature -> "
        f"computations per run {flight['computations']} (jobs {flight['jobs']}) — target 1"
    )
    targets = {
        "cached_get_10_features_p50_le_5ms": cached["p50_ms"] <= 5.0,
        "cold_get_3_level_100_assets_overhead_le_1_5x": cold["ratio"] <= 1.5,
        "single_flight_50_concurrent_one_computation": all(c == 1 for c in flight["computations"]),
    }
    print(json.dumps({"benchmark": "media_features", "figures": figures, "targets": targets}))
    return 0


def _measure(mf, store, registry, config, records, asset_ids, spare, options) -> dict:
    objects = mf.ObjectStore()

    # Warm the service up (a worker and the job consumer start from zero), and fill the
    # cache for the cached measurement.
    started = time.perf_counter()
    warm = store.get([spare[0]], TEN_FEATURES, timeout=300)
    start_from_zero_s = time.perf_counter() - started
    assert warm.complete and not warm.failed, warm.failed

    cached_ms = []
    for _ in range(options.cached_gets):
        started = time.perf_counter()
        batch = store.get([spare[0]], TEN_FEATURES)
        cached_ms.append((time.perf_counter() - started) * 1000)
        assert all(r.cached for r in batch)

    def direct(repeat: int) -> float:
        chain = [f"brightness_r{repeat}", f"cuts_r{repeat}", f"shot_stats_r{repeat}"]

        def one(asset_id: str) -> None:
            record = records[asset_id]
            what = record.describe("frames")
            frames = objects.load_source("frames", record.objects["frames"], what=what)
            values = {"frames": frames}
            for name in chain:
                feature = registry[name]
                values[name] = feature.function(**{d: values[d] for d in feature.depends_on})

        started = time.perf_counter()
        with ThreadPoolExecutor(options.workers) as pool:
            list(pool.map(one, asset_ids))
        return time.perf_counter() - started

    def through_store(repeat: int) -> float:
        # Measure a warm service: a request first, so that an HTTP worker and the job
        # consumer are up (both start from zero and stop when idle; see the cold start).
        store.get([spare[1 + repeat]], ["motion_energy"], timeout=120)
        started = time.perf_counter()
        batch = store.get(asset_ids, [f"shot_stats_r{repeat}"], timeout=600)
        seconds = time.perf_counter() - started
        assert batch.complete and not batch.failed, batch.failed
        assert not any(r.cached for r in batch)
        return seconds

    store_runs, direct_runs = [], []
    for repeat in range(options.repeats):
        if repeat % 2 == 0:
            direct_runs.append(direct(repeat))
            store_runs.append(through_store(repeat))
        else:
            store_runs.append(through_store(repeat))
            direct_runs.append(direct(repeat))
        print(f"repeat {repeat}: store {store_runs[-1]:.2f} s, direct {direct_runs[-1]:.2f} s")

    computations, jobs = [], []
    for asset_id in spare[1 + options.repeats : 1 + 2 * options.repeats]:
        barrier = threading.Barrier(options.concurrent)

        def request(_: int, asset_id: str = asset_id, barrier=barrier):
            barrier.wait()
            return store.get([asset_id], ["palette"], timeout=120)

        with ThreadPoolExecutor(options.concurrent) as pool:
            batches = list(pool.map(request, range(options.concurrent)))
        assert all(b.complete and not b.failed for b in batches)
        key = registry.key(asset_id, records[asset_id].asset_version, "palette")
        computations.append(store.cache.computation_count(key))
        jobs.append(len({b[asset_id, "palette"].job.job_id for b in batches}))

    store_s, direct_s = statistics.median(store_runs), statistics.median(direct_runs)
    return {
        "start_from_zero_s": round(start_from_zero_s, 3),
        "frames": [options.frames, options.height, options.width],
        "cached": {
            "p50_ms": round(_percentile(cached_ms, 0.5), 3),
            "p99_ms": round(_percentile(cached_ms, 0.99), 3),
            "gets": len(cached_ms),
        },
        "cold": {
            "assets": len(asset_ids),
            "store_s": round(store_s, 3),
            "direct_s": round(direct_s, 3),
            "ratio": round(store_s / direct_s, 3),
            "store_runs": [round(s, 2) for s in store_runs],
            "direct_runs": [round(s, 2) for s in direct_runs],
        },
        "single_flight": {"computations": computations, "jobs": jobs},
    }


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())

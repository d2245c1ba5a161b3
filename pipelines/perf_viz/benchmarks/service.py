"""Benchmark: latency of the title performance service's queries, through ``mlp serve``.

    uv run python pipelines/perf_viz/benchmarks/service.py [--rounds 5] [--requests 200]

On a temporary local profile: the flow's steps (`perf_viz.run_locally`) publish one generation
of the flow's default sample (40 titles, 12 countries in 4 regions, 90 days, ~100k sessions);
``mlp serve pipelines/perf_viz/service.py --min-workers 1`` serves it on loopback. Each
round sends ``--requests`` queries per endpoint, the endpoints interleaved request by
request, one at a time over one keep-alive connection, each a seeded random query of its kind
(1-5 titles, all countries / a region / a country, a metric, a date range, a breakdown, a
launch window); the order of endpoints rotates each round. Latency is the client's wall time
from sending to the whole JSON body decoded. Per endpoint it prints p50 and p99 of each round
and their medians over the rounds, then the same queries answered in this process by
`PerformanceStore` (no HTTP: what the cache reads and the computation cost), then 4 clients at
once (for information).

The last line is one JSON object; its ``targets`` says whether every endpoint's median p50 is
below 50 ms and its median p99 below 200 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from perf_viz._latency import (
    P50_TARGET_MS,
    P99_TARGET_MS,
    benchmark_queries,
    measure_http,
    percentile,
)

PIPELINE = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 3, 31)


def _say(text: str = "") -> None:
    print(text, flush=True)


def _measure_in_process(queries: dict, requests: int) -> dict[str, tuple[float, float]]:
    import perf_viz as pv

    store = pv.PerformanceStore.open(pv.load_config())
    models = {
        "/timeseries": (pv.TimeseriesQuery, store.timeseries),
        "/breakdown": (pv.BreakdownQuery, store.breakdown),
        "/retention": (pv.RetentionQuery, store.retention),
        "/peers": (pv.PeersQuery, store.peers),
    }
    figures = {}
    for endpoint, (model, answer) in models.items():
        latencies = []
        for body in queries[endpoint][:requests]:
            started = time.perf_counter()
            answer(model.model_validate(body)).model_dump_json()
            latencies.append((time.perf_counter() - started) * 1000)
        figures[endpoint] = (percentile(latencies, 0.5), percentile(latencies, 0.99))
    started = time.perf_counter()
    for _ in range(requests):
        store.meta().model_dump_json()
    figures["/meta"] = ((time.perf_counter() - started) * 1000 / requests, float("nan"))
    return figures


def _measure_concurrent(
    url: str, queries: dict, clients: int, requests: int
) -> tuple[float, float]:
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()
    endpoints = [e for e in queries if e != "/meta"]

    def work(index: int) -> None:
        own = []
        with httpx.Client(base_url=url, timeout=60) as client:
            for i in range(requests):
                endpoint = endpoints[(index + i) % len(endpoints)]
                started = time.perf_counter()
                client.post(endpoint, json=queries[endpoint][(index * 31 + i) % 500]).json()
                own.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    _say(f"{clients} clients: {len(latencies) / seconds:.0f} queries/s")
    return percentile(latencies, 0.5), percentile(latencies, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="Per endpoint and round.")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="perf_viz_bench_"))
    (home / "mlp.toml").write_text('profile = "local"\n')
    for name in [n for n in os.environ if n.startswith("MLP_")]:
        del os.environ[name]
    os.environ.update(
        MLP_HOME=str(home / "state"), MLP_CONFIG=str(home / "mlp.toml"), METAFLOW_USER="bench"
    )
    import httpx
    import perf_viz as pv

    from mlplatform.testing import start_serving

    started = time.perf_counter()
    published = pv.run_locally(pv.load_config(), AS_OF)
    _say(f"published {published['key_count']} keys in {time.perf_counter() - started:.1f} s")
    served = start_serving(PIPELINE / "service.py", home / "serve.log", "--min-workers", "1")
    try:
        with httpx.Client(base_url=served.url, timeout=60) as client:
            meta = client.get("/meta").raise_for_status().json()
            queries = benchmark_queries(meta, random.Random(options.seed))
            _say(
                f"{meta['title_count']} titles, {len(meta['countries'])} countries, "
                f"{meta['date_min']}..{meta['date_max']}; {os.cpu_count()} cores; "
                f"load {os.getloadavg()[0]:.1f}"
            )
            measure_http(client, queries, 1, 20)  # warm up: imports, SQLite pages
            _say("through mlp serve, one client, p50/p99:")
            figures = measure_http(client, queries, options.rounds, options.requests, say=_say)
        in_process = _measure_in_process(queries, options.requests)
        concurrent = _measure_concurrent(served.url, queries, 4, options.requests)
    finally:
        served.stop()
    results = {}
    _say("")
    _say("| endpoint | p50 ms | p99 ms | in process p50 / p99 ms |")
    _say("|---|---|---|---|")
    for endpoint, rounds in figures.items():
        p50 = statistics.median(r[0] for r in rounds)
        p99 = statistics.median(r[1] for r in rounds)
        local = in_process[endpoint]
        results[endpoint] = {
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
            "p50_rounds_ms": [round(r[0], 2) for r in rounds],
            "p99_rounds_ms": [round(r[1], 2) for r in rounds],
            "in_process_p50_ms": round(local[0], 3),
            "in_process_p99_ms": None if local[1] != local[1] else round(local[1], 3),
        }
        local_text = (
            f"{local[0]:.2f} / {local[1]:.2f}" if local[1] == local[1] else f"{local[0]:.2f} (mean)"
        )
        _say(f"| `{endpoint}` | {p50:.1f} | {p99:.1f} | {local_text} |")
    _say(f"4 clients at once: p50 {concurrent[0]:.1f} ms, p99 {concurrent[1]:.1f} ms")
    targets = {
        "p50_below_50ms": all(r["p50_ms"] < P50_TARGET_MS for r in results.values()),
        "p99_below_200ms": all(r["p99_ms"] < P99_TARGET_MS for r in results.values()),
    }
    print(
        json.dumps(
            {
                "benchmark": "perf_viz.service",
                "rounds": options.rounds,
                "requests_per_endpoint_and_round": options.requests,
                "cores": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "endpoints": results,
                "concurrent_4_clients_ms": {
                    "p50": round(concurrent[0], 2),
                    "p99": round(concurrent[1], 2),
                },
                "targets": targets,
            }
        ),
        flush=True,
    )
    sys.exit(0)


if __name__ == "__main__":
    main()

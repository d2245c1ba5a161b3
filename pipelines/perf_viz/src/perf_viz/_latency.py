"""Query latency through the service: seeded random queries of every kind, timed by a client.

Shared by ``benchmarks/service.py`` and the nightly hook (`perf_viz._nightly`), so both
measure the same query mix against the same targets.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "P50_TARGET_MS",
    "P99_TARGET_MS",
    "benchmark_queries",
    "measure_http",
    "percentile",
]

#: The service's latency targets, per endpoint (README "Figures"): p50 and p99 below these.
P50_TARGET_MS, P99_TARGET_MS = 50.0, 200.0


def percentile(values: list[float], share: float) -> float:
    """The value at ``share`` (0-1) of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def benchmark_queries(
    meta: dict[str, Any], rng: random.Random, count: int = 500
) -> dict[str, list[dict[str, Any] | None]]:
    """Seeded random queries of every kind over ``meta``'s generation (None: the GET /meta).

    1-5 titles, all countries / a region / a country, a metric, a date range, a breakdown, a
    launch window: ``count`` queries per endpoint.
    """
    titles = [t["title_id"] for t in meta["titles"]]
    first, last = dt.date.fromisoformat(meta["date_min"]), dt.date.fromisoformat(meta["date_max"])
    windows = meta["launch_windows"]

    def scope() -> dict:
        kind = rng.choice(["all", "region", "country"])
        if kind == "region":
            return {"region": rng.choice(list(meta["regions"]))}
        return {"country": rng.choice(meta["countries"])} if kind == "country" else {}

    def dates() -> dict:
        start = first + dt.timedelta(days=rng.randrange((last - first).days + 1))
        end = start + dt.timedelta(days=rng.randrange((last - start).days + 1))
        return {"start": start.isoformat(), "end": end.isoformat()}

    def some_titles() -> list[str]:
        return rng.sample(titles, rng.randint(1, min(5, len(titles))))

    metrics = list(meta["metrics"])
    return {
        "/timeseries": [
            {**scope(), **dates(), "titles": some_titles(), "metric": rng.choice(metrics)}
            for _ in range(count)
        ],
        "/breakdown": [
            {
                **scope(),
                **dates(),
                "titles": rng.choice([[], some_titles()]),
                "by": rng.choice(["country", "region", "genre"]),
                "metric": rng.choice(metrics),
            }
            for _ in range(count)
        ],
        "/retention": [{**scope(), **dates(), "titles": some_titles()} for _ in range(count)],
        "/peers": [
            {
                **scope(),
                "titles": some_titles(),
                "window": rng.choice(windows),
                "metric": rng.choice(metrics),
            }
            for _ in range(count)
        ],
        "/meta": [None] * count,
    }


def measure_http(
    client: Any,
    queries: dict[str, list[dict[str, Any] | None]],
    rounds: int,
    requests: int,
    *,
    say: Callable[[str], None] | None = None,
) -> dict[str, list[tuple[float, float]]]:
    """Per endpoint, (p50, p99) in ms of each round.

    Each round sends ``requests`` queries per endpoint through ``client`` (an
    ``httpx.Client`` on the service), the endpoints interleaved request by request, one at a
    time; the order of endpoints rotates each round. Latency is the wall time from sending to
    the whole JSON body decoded.

    Raises:
        RuntimeError: A query did not answer 200.
    """
    endpoints = list(queries)
    figures: dict[str, list[tuple[float, float]]] = {e: [] for e in endpoints}
    for round_index in range(rounds):
        shift = round_index % len(endpoints)
        order = endpoints[shift:] + endpoints[:shift]
        latencies: dict[str, list[float]] = {e: [] for e in endpoints}
        for i in range(requests):
            for endpoint in order:
                body = queries[endpoint][(round_index * requests + i) % len(queries[endpoint])]
                started = time.perf_counter()
                if body is None:
                    response = client.get(endpoint)
                else:
                    response = client.post(endpoint, json=body)
                response.json()
                latencies[endpoint].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"{endpoint} {body} answered {response.status_code}: {response.text}"
                    )
        for endpoint in endpoints:
            figures[endpoint].append(
                (percentile(latencies[endpoint], 0.5), percentile(latencies[endpoint], 0.99))
            )
        if say is not None:
            say(
                f"round {round_index + 1}: "
                + ", ".join(
                    f"{e} {figures[e][-1][0]:.1f}/{figures[e][-1][1]:.1f} ms" for e in endpoints
                )
            )
    return figures

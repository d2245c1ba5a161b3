"""Benchmark of the local event log and the orchestrator's dispatch (not a test).

Run: ``uv run python benchmarks/orchestration_events.py``

Measures, on a fresh state folder in a temporary directory:

- publish: one event per transaction, sequential (events/s, p50/p99 latency);
- concurrent publish: 4 processes at once (WAL, busy timeout), and that none is lost;
- consume: read + acknowledge in batches of 200 (events/s);
- dispatch: events matched against 20 flows and recorded as pending runs (events/s);
- peer: Redis Streams XADD / XREADGROUP + XACK on a local redis-server (in memory, no
  fsync per write), when ``redis-server`` is installed.

Prints the figures, then one JSON line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_PUBLISH = 3000
N_PER_PROCESS = 1000
N_PROCESSES = 4
N_FLOWS = 20
N_DISPATCH = 4000


def _publish_many(db_path: str, count: int, tag: str) -> None:
    from mlplatform.orchestration import EventLog

    log = EventLog(Path(db_path))
    for n in range(count):
        log.publish("bench.concurrent", {"n": n, "tag": tag})


def _flow_source(index: int) -> str:
    return (
        "from metaflow import FlowSpec, Parameter, step, trigger\n\n"
        f'@trigger(event={{"name": "bench.e{index}", "parameters": {{"n": "n"}}}})\n'
        f"class Bench{index}Flow(FlowSpec):\n"
        '    n = Parameter("n", default=0, type=int)\n\n'
        "    @step\n    def start(self):\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        pass\n"
    )


def _redis_peer(count: int) -> dict[str, float] | None:
    server = shutil.which("redis-server")
    if server is None:
        return None
    import redis

    from mlplatform.testing import free_port

    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        start = time.perf_counter()
        for n in range(count):
            client.xadd("events", {"name": "bench", "payload": json.dumps({"n": n})})
        publish_s = time.perf_counter() - start
        client.xgroup_create("events", "orchestrator", id="0")
        start = time.perf_counter()
        seen = 0
        while True:
            batch = client.xreadgroup("orchestrator", "c1", {"events": ">"}, count=200)
            if not batch:
                break
            ids = [entry_id for entry_id, _ in batch[0][1]]
            client.xack("events", "orchestrator", *ids)
            seen += len(ids)
        consume_s = time.perf_counter() - start
        assert seen == count
        return {"publish_per_s": count / publish_s, "consume_per_s": count / consume_s}
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    from mlplatform.orchestration import EventLog, Orchestrator
    from mlplatform.orchestration._db import connect

    workdir = Path(tempfile.mkdtemp(prefix="mlp-bench-events-"))
    os.environ["MLP_HOME"] = str(workdir / "mlp")
    os.environ.setdefault("METAFLOW_USER", "bench")
    from mlplatform.config import load_settings

    settings = load_settings()
    log = EventLog.from_settings(settings)
    results: dict[str, float] = {}
    try:
        latencies = []
        start = time.perf_counter()
        for n in range(N_PUBLISH):
            t0 = time.perf_counter()
            log.publish("bench.sequential", {"n": n, "region": "DE"})
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        latencies.sort()
        results["publish_per_s"] = N_PUBLISH / elapsed
        results["publish_p50_ms"] = statistics.median(latencies) * 1000
        results["publish_p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000
        print(
            f"publish (sequential, 1 txn each): {results['publish_per_s']:,.0f} events/s, "
            f"p50 {results['publish_p50_ms']:.2f} ms, p99 {results['publish_p99_ms']:.2f} ms"
        )

        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=_publish_many, args=(str(log.path), N_PER_PROCESS, f"p{i}"))
            for i in range(N_PROCESSES)
        ]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - start
        with connect(log.path) as db:
            stored = db.execute(
                "select count(*) from events where name = 'bench.concurrent'"
            ).fetchone()[0]
        assert stored == N_PROCESSES * N_PER_PROCESS, stored
        results["concurrent_publish_per_s"] = stored / elapsed
        print(
            f"publish ({N_PROCESSES} processes, incl. start-up): "
            f"{results['concurrent_publish_per_s']:,.0f} events/s, {stored} stored, 0 lost"
        )

        total = log.head()
        start = time.perf_counter()
        consumed = 0
        while True:
            batch = log.read("bench-consumer", limit=200)
            if not batch:
                break
            log.ack("bench-consumer", batch[-1].seq)
            consumed += len(batch)
        elapsed = time.perf_counter() - start
        assert consumed == total
        results["consume_per_s"] = consumed / elapsed
        print(f"consume (read + ack, batches of 200): {results['consume_per_s']:,.0f} events/s")

        flows = workdir / "flows"
        for index in range(N_FLOWS):
            folder = flows / f"f{index}"
            folder.mkdir(parents=True)
            (folder / "flow.py").write_text(_flow_source(index))
        orchestrator = Orchestrator(settings, flows_dir=flows)
        start = time.perf_counter()
        orchestrator.discover()
        results["discover_flows_s"] = time.perf_counter() - start
        orchestrator.dispatch()  # consume the events published above (no flow matches them)
        for n in range(N_DISPATCH):
            log.publish(f"bench.e{n % N_FLOWS}", {"n": n})
        start = time.perf_counter()
        created = orchestrator.dispatch()
        elapsed = time.perf_counter() - start
        assert created == N_DISPATCH, created
        results["dispatch_events_per_s"] = N_DISPATCH / elapsed
        print(
            f"discover {N_FLOWS} flows: {results['discover_flows_s']:.2f} s; dispatch "
            f"{N_DISPATCH} events to {N_FLOWS} flows: {results['dispatch_events_per_s']:,.0f} "
            "events/s (each a pending run record)"
        )

        peer = _redis_peer(N_PUBLISH)
        if peer:
            results["redis_streams_publish_per_s"] = peer["publish_per_s"]
            results["redis_streams_consume_per_s"] = peer["consume_per_s"]
            print(
                f"peer, Redis Streams (in memory, no fsync): XADD {peer['publish_per_s']:,.0f}"
                f" events/s, XREADGROUP+XACK {peer['consume_per_s']:,.0f} events/s"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        json.dumps(
            {"benchmark": "orchestration_event_log", **{k: round(v, 3) for k, v in results.items()}}
        )
    )


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of mlplatform.hosting: `mlp serve` side by side with bare FastAPI + uvicorn.

    uv run python benchmarks/hosting.py [--rounds 3] [--seconds 5] [--connections 16]

Everything runs on this machine, on loopback, in one run, on a temporary local profile:

- the handler is the hosting example's iris ``/predict`` (platform/tests/hosting_example):
  a scikit-learn logistic regression trained once by the example's flow through
  ``metaflow.Runner``, loaded from the run's artifacts. It does a little real work (pydantic
  validation, ``predict_proba``, a response model), as a served model does;
- bare: the same handler function in a plain FastAPI app on uvicorn (one process, the same
  uvloop/httptools uvicorn picks for our workers), artifacts loaded the same way;
- ``mlp serve`` with one warm worker (``--min-workers 1 --max-workers 1``) and with two
  (``--min-workers 2 --max-workers 2``): the front on TCP, forwarding to workers over Unix
  sockets.

The load generator is ``wrk`` (Debian's package) with a small Lua script (POST bodies, a cap
on responses, a count of the expected status, a monotonic clock); each run is bounded in
time (``--seconds``) and in requests (``--max-requests``). Without wrk it falls back to an
async httpx client in this process (say ``--load-generator httpx``), which competes with the
servers for the cores: its figures are lower bounds.

Measured, in interleaved rounds (the order rotates each round), medians reported:

- throughput (``--connections`` concurrent connections) and p50/p99 under that load;
- latency with one connection (p50/p99) and the added latency: ``mlp serve``'s p50 minus
  bare uvicorn's p50, both with one connection;
- CPU time per request of each process (front, workers, bare server) from ``/proc``: the
  figure to compare on a machine shared with other work;
- cold start: a front with ``--min-workers 0`` at zero workers, the time from sending one
  request to its response; model load (reading the run's artifacts in a fresh process: what
  a worker's first request does) is measured separately and subtracted;
- async enqueue rate: 202s per second for POSTs of distinct bodies (one new job each) to the
  async ``/explain`` through the 2-worker front, on the SQLite queue, before its consumer has
  started (the front starts one within a second of the first job; the job records' times
  say when draining began, and that share of the run is printed), and the CPU time per
  accepted job of the front, the workers and the consumer;
- end-to-end job latency: from a job's acceptance to its result being stored (the job
  record's times), one job at a time with the consumer warm, and for the backlog of the
  enqueue run (which is also the drain rate).

The last line is one JSON object with every figure; its ``targets`` says whether each of
the issue's targets was met: warm throughput >= 0.7x bare uvicorn, added p50 <= 2 ms, cold
start <= 3 s (model load excluded), >= 1,000 async jobs/s enqueued on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "platform" / "tests" / "hosting_example"
FLOWER = '{"features": [5.1, 3.5, 1.4, 0.2]}'
MLP = "from mlplatform.cli import main; main()"

# wrk's Lua: a fixed or a distinct POST body per request, responses counted by status, each
# thread stopped at its cap, and the timed window taken from the first request sent to the
# last response received (a monotonic clock through LuaJIT's ffi), so that a run stopped by
# its cap still gives a true rate.
WRK_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } mlp_timespec_t;
int clock_gettime(int clock_id, mlp_timespec_t *tp);
]]
local clock = ffi.new("mlp_timespec_t")
local function now()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  limit = tonumber(args[1])
  expect = tonumber(args[2])
  unique = args[3] == "unique"
  salt = tonumber(args[4])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  fixed = wrk.format(nil, nil, nil, args[5])
  count, ok, responses, started, finished = 0, 0, 0, 0, 0
end

function request()
  if started == 0 then started = now() end
  if unique then
    count = count + 1
    local body = string.format('{"features": [%d.5, %d.%07d, 1.4, 0.2]}', salt, id, count)
    return wrk.format(nil, nil, nil, body)
  end
  return fixed
end

function response(status, headers, body)
  responses = responses + 1
  if status == expect then ok = ok + 1 end
  finished = now()
  if responses >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local total_ok, total, first, last = 0, 0, math.huge, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total = total + thread:get("responses")
    local s, f = thread:get("started"), thread:get("finished")
    if s > 0 and s < first then first = s end
    if f > last then last = f end
  end
  local e = summary.errors
  io.write(string.format(
    'MLP-WRK {"responses": %d, "ok": %d, "seconds": %.6f, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": %d}\n',
    total, total_ok, math.max(last - first, 1e-9), latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout))
end
"""

BARE_APP = '''
"""The example's /predict handler in a bare FastAPI app: no front, no platform wrapper."""
import sys
from types import SimpleNamespace

sys.path.insert(0, {example!r})

from fastapi import FastAPI
from service import Flower, Prediction, predict as handler  # the example's own handler

from mlplatform.hosting._service import Artifacts

context = SimpleNamespace(artifacts=Artifacts({pathspec!r}))  # loaded on first use, kept
app = FastAPI()


@app.post("/predict")
def predict(flower: Flower) -> Prediction:
    return handler(flower, context)
'''

MODEL_LOAD = """
import sys, time
import uvicorn  # what a worker has imported before its first request
from mlplatform.hosting._app import build_app
from mlplatform.hosting._service import Artifacts
started = time.perf_counter()
artifacts = Artifacts(sys.argv[1])
artifacts.model, artifacts.classes  # what a worker's first /predict reads
print(time.perf_counter() - started)
"""


# -- load generators ----------------------------------------------------------------------


@dataclass
class Load:
    """One bounded load run."""

    responses: int
    ok: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        """Expected-status responses per second."""
        return self.ok / self.seconds


class Generator:
    """Runs closed-loop POST load against one URL: wrk, or the httpx fallback."""

    def __init__(self, kind: str, folder: Path, max_requests: int) -> None:
        self.kind = kind
        self.max_requests = max_requests
        self.script = folder / "load.lua"
        self.script.write_text(WRK_LUA)

    def run(
        self,
        url: str,
        *,
        connections: int,
        seconds: float,
        expect: int = 200,
        unique: bool = False,
        salt: int = 0,
        body: str = FLOWER,
    ) -> Load:
        """POST ``body`` (or a distinct body per request) for ``seconds`` or the cap."""
        if self.kind == "wrk":
            return self._wrk(url, connections, seconds, expect, unique, salt, body)
        return asyncio.run(self._httpx(url, connections, seconds, expect, unique, salt, body))

    def _wrk(self, url, connections, seconds, expect, unique, salt, body) -> Load:
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(self.script),
            url,
            "--",
            str(self.max_requests),
            str(expect),
            "unique" if unique else "fixed",
            str(salt),
            body,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
        line = next((x for x in done.stdout.splitlines() if x.startswith("MLP-WRK ")), None)
        if done.returncode != 0 or line is None:
            raise SystemExit(
                f"wrk failed (exit {done.returncode}):\n{done.stdout}{done.stderr}\n"
                "install it (apt-get install -y wrk) or pass --load-generator httpx"
            )
        data = json.loads(line.removeprefix("MLP-WRK "))
        return Load(
            data["responses"],
            data["ok"],
            data["seconds"],
            data["p50_us"] / 1000,
            data["p99_us"] / 1000,
            data["errors"],
        )

    async def _httpx(self, url, connections, seconds, expect, unique, salt, body) -> Load:
        latencies: list[float] = []
        counts = {"ok": 0, "errors": 0, "n": 0}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        headers = {"content-type": "application/json"}
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            deadline = time.perf_counter() + seconds

            async def user(number: int) -> None:
                while time.perf_counter() < deadline and counts["n"] < self.max_requests:
                    counts["n"] += 1
                    content = (
                        f'{{"features": [{salt}.5, {number}.{counts["n"]:07d}, 1.4, 0.2]}}'
                        if unique
                        else body
                    )
                    started = time.perf_counter()
                    try:
                        response = await client.post(url, content=content, headers=headers)
                    except httpx.HTTPError:
                        counts["errors"] += 1
                        continue
                    latencies.append(time.perf_counter() - started)
                    counts["ok"] += response.status_code == expect

            started = time.perf_counter()
            await asyncio.gather(*(user(n) for n in range(connections)))
            elapsed = time.perf_counter() - started
        return Load(
            len(latencies),
            counts["ok"],
            elapsed,
            percentile(latencies, 0.5) * 1000,
            percentile(latencies, 0.99) * 1000,
            counts["errors"],
        )


def choose_generator(wanted: str, folder: Path, max_requests: int) -> Generator:
    """wrk when it is installed (or asked for), else the httpx fallback; exit if neither."""
    if wanted in ("auto", "wrk") and shutil.which("wrk"):
        return Generator("wrk", folder, max_requests)
    if wanted == "wrk":
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or --load-generator httpx)")
    print(
        "wrk not found: using the httpx fallback in this process; it competes with the servers "
        "for the cores, so throughput figures are lower bounds (apt-get install -y wrk)",
        file=sys.stderr,
    )
    try:
        import uvloop  # noqa: F401  (the fallback's figures assume a fast loop is there)
    except ImportError as error:
        raise SystemExit(f"neither wrk nor the httpx fallback can run here: {error}") from None
    return Generator("httpx", folder, max_requests)


# -- processes ----------------------------------------------------------------------------


@dataclass
class Server:
    """A server under test: bare uvicorn or an `mlp serve` front."""

    name: str
    url: str
    process: subprocess.Popen
    log: Path
    cpu: dict[str, float] = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    from mlplatform.testing import free_port as free

    return free()


def start_bare(folder: Path, pathspec: str) -> Server:
    app = folder / "bare_app.py"
    app.write_text(BARE_APP.format(example=str(EXAMPLE), pathspec=pathspec))
    port = free_port()
    log = folder / "bare.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=folder,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server("bare uvicorn", f"http://127.0.0.1:{port}", process, log)
    wait_until(server, lambda: httpx.get(f"{server.url}/openapi.json").status_code == 200)
    return server


def start_serve(name: str, folder: Path, *options: str, workers: int | None = None) -> Server:
    port = free_port()
    log = folder / f"serve-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            MLP,
            "serve",
            str(EXAMPLE / "service.py"),
            "--port",
            f"{port}",
            *options,
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)

    def up() -> bool:
        health = httpx.get(f"{server.url}/healthz").json()
        return workers is None or health["workers"] >= workers

    wait_until(server, up)
    return server


def wait_until(server: Server, check: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited:\n{server.log.read_text()}")
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{server.name} was not ready in {timeout:g} s:\n{server.log.read_text()}")


def process_tree(pid: int) -> dict[int, str]:
    """``pid`` and its descendants, each with a short role (front, worker, consumer)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree = {pid: "front"}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                command = commands.get(child, "")
                tree[child] = (
                    "worker"
                    if "\0worker\0" in command
                    else "consumer"
                    if "consumer" in command
                    else "other"
                )
                grew = True
    return tree


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_role(server: Server) -> dict[str, float]:
    totals: dict[str, float] = {}
    for pid, role in process_tree(server.process.pid).items():
        totals[role] = totals.get(role, 0.0) + cpu_seconds(pid)
    return totals


# -- measurements -------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def train(home: Path) -> str:
    from metaflow import Runner

    print("training the example's model (IrisModelFlow through metaflow.Runner) ...", flush=True)
    with Runner(str(EXAMPLE / "train_flow.py"), cwd=str(EXAMPLE), show_output=False).run() as run:
        if not run.run.successful:
            raise SystemExit(f"the example's flow failed:\n{run.stderr}")
        return str(run.run.pathspec)


def model_load_seconds(pathspec: str, repeats: int) -> list[float]:
    """Reading the run's model in a fresh process, as a worker's first request does."""
    times = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", MODEL_LOAD, pathspec],
            capture_output=True,
            text=True,
            check=True,
            cwd=EXAMPLE,
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return times


def first_responses(url: str, parallel: int) -> None:
    """``parallel`` requests at once (so that every worker gets one), each waited for: the
    first ones load the model."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> int:
        return httpx.post(
            f"{url}/predict",
            content=FLOWER,
            headers={"content-type": "application/json"},
            timeout=120,
        ).status_code

    deadline = time.monotonic() + 600
    with ThreadPoolExecutor(parallel) as pool:
        # A first request may outlast hosting.request_timeout_s (504) on a busy machine while
        # the model loads; the load goes on, and later requests find it loaded.
        while set(statuses := list(pool.map(one, range(parallel)))) != {200}:
            if set(statuses) - {200, 504} or time.monotonic() > deadline:
                raise SystemExit(f"{url}/predict answered {statuses}")


def warm_runs(
    generator: Generator, servers: list[Server], rounds: int, seconds: float, connections: int
) -> dict[str, dict[str, list[float]]]:
    figures: dict[str, dict[str, list[float]]] = {s.name: {} for s in servers}
    for server in servers:  # warm: artifacts loaded in every worker, pools filled
        first_responses(server.url, 4)
        generator.run(f"{server.url}/predict", connections=connections, seconds=2)
    for number in range(rounds):
        order = servers[number % len(servers) :] + servers[: number % len(servers)]
        for server in order:
            before = cpu_by_role(server)
            loaded = generator.run(
                f"{server.url}/predict", connections=connections, seconds=seconds
            )
            after = cpu_by_role(server)
            single = generator.run(f"{server.url}/predict", connections=1, seconds=seconds / 2)
            if loaded.ok != loaded.responses or loaded.errors:
                raise SystemExit(
                    f"{server.name}: {loaded.responses - loaded.ok} unexpected statuses, "
                    f"{loaded.errors} errors under load; see {server.log}"
                )
            got = figures[server.name]
            for key, value in (
                ("rps", loaded.rate),
                ("load_p50_ms", loaded.p50_ms),
                ("load_p99_ms", loaded.p99_ms),
                ("p50_ms", single.p50_ms),
                ("p99_ms", single.p99_ms),
                *(
                    (f"cpu_us_{role}", (after[role] - before.get(role, 0.0)) / loaded.ok * 1e6)
                    for role in after
                    if role in ("front", "worker")
                ),
            ):
                got.setdefault(key, []).append(value)
            print(
                f"  round {number + 1} {server.name:>14}: {loaded.rate:7.0f} req/s "
                f"(p50 {loaded.p50_ms:.2f} ms, p99 {loaded.p99_ms:.2f} ms at {connections} "
                f"connections); one connection p50 {single.p50_ms:.2f} ms, "
                f"p99 {single.p99_ms:.2f} ms",
                flush=True,
            )
    return figures


def cold_starts(folder: Path, rounds: int) -> tuple[list[float], list[float]]:
    """First-response times from zero workers, and the workers' own start-to-ready times."""
    server = start_serve(
        "cold", folder, "--min-workers", "0", "--max-workers", "1", "--idle-timeout", "1s"
    )
    totals = []
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for _ in range(rounds):
                wait_until(
                    server,
                    lambda: (
                        client.get("/healthz").json()["workers"] == 0
                        and set(process_tree(server.process.pid).values()) == {"front"}
                    ),
                )
                started = time.perf_counter()
                response = client.post(
                    "/predict", content=FLOWER, headers={"content-type": "application/json"}
                )
                totals.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"cold request: {response.status_code} {response.text}")
    finally:
        server.stop()
    ready = [float(x) for x in re.findall(r"ready in ([0-9.]+) s", server.log.read_text())]
    return totals, ready


def job_records(settings) -> list:
    from mlplatform.hosting._jobs import JobStore

    store = JobStore("iris", settings)
    try:
        return store.records()
    finally:
        store.close()


def wait_for_jobs(settings, expected: int, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while True:
        records = job_records(settings)
        finished = [r for r in records if r.status in ("done", "failed")]
        if len(finished) >= expected or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


def async_jobs(
    generator: Generator, server: Server, settings, seconds: float, connections: int, singles: int
) -> dict[str, float]:
    """Enqueue rate before the consumer drains, drain rate, end-to-end latencies."""
    before = {r.id for r in job_records(settings)}
    cpu_before = cpu_by_role(server)
    load = generator.run(
        f"{server.url}/explain",
        connections=connections,
        seconds=seconds,
        expect=202,
        unique=True,
        salt=int(time.time()) % 100000,
    )
    cpu_after = cpu_by_role(server)
    if load.errors or load.ok != load.responses:
        raise SystemExit(
            f"enqueue: {load.responses - load.ok} responses were not 202, {load.errors} errors; "
            f"see {server.log}"
        )
    records = [r for r in wait_for_jobs(settings, len(before) + load.ok, 600) if r.id not in before]
    done = [r for r in records if r.status == "done"]
    created = sorted(r.created for r in records)
    first_started = min((r.started for r in records if r.started), default=float("inf"))
    overlap = sum(1 for c in created if c >= first_started) / max(1, len(created))
    drain_s = max(r.finished for r in done) - first_started if done else float("nan")
    backlog = [r.finished - r.created for r in done]

    # One job at a time, the consumer warm: acceptance to stored result.
    ids = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for number in range(singles):
            body = f'{{"features": [6.{number:04d}, 2.9, 4.3, 1.3]}}'
            accepted = client.post(
                "/explain", content=body, headers={"content-type": "application/json"}
            )
            ids.append(accepted.json()["job_id"])
            while client.get(f"/jobs/{ids[-1]}").json()["status"] not in ("done", "failed"):
                time.sleep(0.002)
    single = [r.finished - r.created for r in job_records(settings) if r.id in ids and r.finished]
    return {
        "enqueued_per_s": load.rate,
        "enqueue_p50_ms": load.p50_ms,
        "enqueue_p99_ms": load.p99_ms,
        # CPU time per accepted job during the enqueue run, by process role.
        "enqueue_cpu_us": {
            role: (cpu_after[role] - cpu_before.get(role, 0.0)) / max(1, load.ok) * 1e6
            for role in cpu_after
        },
        "jobs": len(records),
        "done": len(done),
        "share_enqueued_while_draining": overlap,
        "consumer_began_after_s": first_started - created[0] if created else float("nan"),
        "drained_per_s": len(done) / drain_s if done else float("nan"),
        "backlog_e2e_p50_s": percentile(backlog, 0.5),
        "backlog_e2e_p99_s": percentile(backlog, 0.99),
        "single_e2e_p50_ms": percentile(single, 0.5) * 1000,
        "single_e2e_p99_ms": percentile(single, 0.99) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds (medians).")
    parser.add_argument("--seconds", type=float, default=5, help="Length of a throughput run.")
    parser.add_argument("--connections", type=int, default=16, help="Concurrent connections.")
    parser.add_argument("--max-requests", type=int, default=100_000, help="Cap of a run.")
    parser.add_argument("--cold-rounds", type=int, default=3)
    parser.add_argument("--job-seconds", type=float, default=3, help="Length of the enqueue run.")
    parser.add_argument("--single-jobs", type=int, default=20, help="Jobs timed one at a time.")
    parser.add_argument("--load-generator", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="mlp-bench-hosting-"))
    for name in list(os.environ):
        if name.startswith("MLP_"):
            del os.environ[name]
    os.environ["MLP_HOME"] = str(folder / "mlp")
    os.environ["MLP_CONFIG"] = str(folder / "mlp.toml")
    (folder / "mlp.toml").write_text('profile = "local"\n')
    os.environ.setdefault("METAFLOW_USER", "benchmark")
    # A cold first request includes the model's load: on a busy machine that can outlast the
    # default 30 s request timeout, and a 504 would measure nothing.
    os.environ["MLP_HOSTING__REQUEST_TIMEOUT_S"] = "300"
    generator = choose_generator(options.load_generator, folder, options.max_requests)
    servers: list[Server] = []
    try:
        pathspec = train(folder)
        loads = model_load_seconds(pathspec, 3)
        print(f"model load in a fresh process: {statistics.median(loads):.2f} s (median of 3)")

        servers = [
            start_bare(folder, pathspec),
            start_serve(
                "mlp 1 worker", folder, "--min-workers", "1", "--max-workers", "1", workers=1
            ),
            start_serve(
                "mlp 2 workers", folder, "--min-workers", "2", "--max-workers", "2", workers=2
            ),
        ]
        print(
            f"warm: {options.rounds} rounds of {options.seconds:g} s at {options.connections} "
            f"connections, then {options.seconds / 2:g} s at one, with {generator.kind}",
            flush=True,
        )
        figures = warm_runs(
            generator, servers, options.rounds, options.seconds, options.connections
        )
        for server in servers[:2]:
            server.stop()

        from mlplatform.config import load_settings

        settings = load_settings()
        print("async: enqueue through the 2-worker front, then jobs one at a time", flush=True)
        jobs = async_jobs(
            generator,
            servers[2],
            settings,
            options.job_seconds,
            options.connections,
            options.single_jobs,
        )
        servers[2].stop()

        print("cold start: zero workers to first response", flush=True)
        colds, readies = cold_starts(folder, options.cold_rounds)
    finally:
        for server in servers:
            server.stop()
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)

    median = {
        name: {key: statistics.median(values) for key, values in got.items()}
        for name, got in figures.items()
    }
    bare, one, two = (median[s.name] for s in servers)
    model_load = statistics.median(loads)
    cold = statistics.median(colds)
    report = {
        "generator": generator.kind,
        "connections": options.connections,
        "rounds": options.rounds,
        "bare": bare,
        "serve_1_worker": one,
        "serve_2_workers": two,
        "throughput_ratio_1_worker": one["rps"] / bare["rps"],
        "throughput_ratio_2_workers": two["rps"] / bare["rps"],
        "added_p50_ms_1_worker": one["p50_ms"] - bare["p50_ms"],
        "added_p50_ms_2_workers": two["p50_ms"] - bare["p50_ms"],
        "cold_start_first_response_s": cold,
        "model_load_s": model_load,
        "cold_start_without_model_load_s": cold - model_load,
        "worker_start_to_ready_s": statistics.median(readies) if readies else None,
        "async": jobs,
    }

    print()
    print(
        f"{'':>16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'1-conn p50':>11} "
        f"{'1-conn p99':>11} {'CPU µs/req':>22}"
    )
    for name, got in (("bare uvicorn", bare), ("mlp 1 worker", one), ("mlp 2 workers", two)):
        cpu = (
            f"front {got.get('cpu_us_front', 0):.0f} + workers {got.get('cpu_us_worker', 0):.0f}"
            if "cpu_us_worker" in got
            else f"{got.get('cpu_us_front', 0):.0f}"
        )
        print(
            f"{name:>16} {got['rps']:8.0f} {got['load_p50_ms']:8.2f} {got['load_p99_ms']:8.2f} "
            f"{got['p50_ms']:11.2f} {got['p99_ms']:11.2f} {cpu:>22}"
        )
    print(
        f"throughput vs bare: 1 worker {report['throughput_ratio_1_worker']:.2f}x, "
        f"2 workers {report['throughput_ratio_2_workers']:.2f}x; added p50 (one connection): "
        f"1 worker {report['added_p50_ms_1_worker']:.2f} ms, "
        f"2 workers {report['added_p50_ms_2_workers']:.2f} ms"
    )
    print(
        f"cold start: first response {cold:.2f} s from zero workers (median of {len(colds)}), "
        f"model load {model_load:.2f} s, so {cold - model_load:.2f} s without it; the worker's "
        f"own start-to-ready {report['worker_start_to_ready_s']:.2f} s"
    )
    print(
        f"async: {jobs['enqueued_per_s']:.0f} jobs/s enqueued (202s; p50 "
        f"{jobs['enqueue_p50_ms']:.2f} ms, p99 {jobs['enqueue_p99_ms']:.2f} ms); the consumer "
        f"began {jobs['consumer_began_after_s']:.2f} s after the first job, "
        f"{jobs['share_enqueued_while_draining']:.0%} of the jobs were enqueued while it "
        f"drained; drained {jobs['drained_per_s']:.0f} jobs/s; backlog end-to-end p50 "
        f"{jobs['backlog_e2e_p50_s']:.2f} s, p99 {jobs['backlog_e2e_p99_s']:.2f} s; one job "
        f"at a time p50 {jobs['single_e2e_p50_ms']:.1f} ms, "
        f"p99 {jobs['single_e2e_p99_ms']:.1f} ms; CPU per accepted job: "
        + ", ".join(f"{role} {us:.0f} µs" for role, us in jobs["enqueue_cpu_us"].items())
    )
    report["targets"] = {
        "warm_throughput_ge_0.7x_bare": report["throughput_ratio_1_worker"] >= 0.7,
        "added_p50_le_2ms": report["added_p50_ms_1_worker"] <= 2.0,
        "cold_start_le_3s": report["cold_start_without_model_load_s"] <= 3.0,
        "enqueue_ge_1000_per_s": jobs["enqueued_per_s"] >= 1000,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

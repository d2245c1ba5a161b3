"""Benchmark: building an environment with pandas + scikit-learn + shap, side by side.

    uv run python benchmarks/environments.py [--rounds 3] [--skip-pip]

Measured in one run, on a temporary local profile:

- ``venv + pip``: ``python -m venv`` and ``pip install pandas scikit-learn shap`` (pip's
  own cache as it is on this machine);
- Metaflow ``--environment=uv``: locally a step runs in the flow's own environment (nothing
  is built); in a pod its bootstrap installs uv (downloaded from GitHub: unreachable here)
  and runs ``uv sync --frozen --no-dev`` of the project's lock. That sync is what is timed:
  a project with the same three packages into a fresh ``.venv`` (uv's cache warm);
- ours, cold: resolve + build with an empty uv cache (``UV_CACHE_DIR`` pointed at a new
  empty folder, so every wheel and index page is downloaded);
- ours, warm: resolve + build into a new environments folder, wheels in uv's cache;
- ours, already built: looking a registered name up and finding it built;
- a step in a named environment against the same step in the flow's own environment: the
  time from the previous step's end to the step's first line, through ``flow.py run``.

The last line is one JSON object whose ``targets`` says whether each target was met:
warm build <= 3 s, lookup <= 0.5 s, >= 10x faster than venv + pip, step start <= 1 s later.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PACKAGES = ["pandas", "scikit-learn", "shap"]

FLOW = textwrap.dedent(
    """
    import time
    from metaflow import FlowSpec, Parameter, named_env, step

    class StepStartFlow(FlowSpec):
        @step
        def start(self):
            self.ended = time.time()
            self.next(self.plain)

        @step
        def plain(self):
            self.plain_started = time.time()
            self.plain_gap = self.plain_started - self.ended
            self.ended = time.time()
            self.next(self.inside)

        @named_env(name="bench/env/ml:v1")
        @step
        def inside(self):
            self.inside_gap = time.time() - self.ended
            self.next(self.end)

        @step
        def end(self):
            print("GAPS", self.plain_gap, self.inside_gap)

    if __name__ == "__main__":
        StepStartFlow()
    """
)


def timed(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started


def pip_install(work: Path) -> float:
    venv = work / "pip-venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *PACKAGES],
        check=True,
    )
    return time.perf_counter() - started


def metaflow_uv_sync(work: Path, uv: str) -> float:
    project = work / "uv-project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "bench-uv-environment"
            version = "0"
            requires-python = ">=3.11"
            dependencies = {json.dumps(PACKAGES)}
            """
        )
    )
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [uv, "lock", "--quiet", "--python", sys.executable], cwd=project, env=env, check=True
    )
    return timed(
        [uv, "sync", "--frozen", "--no-dev", "--quiet", "--python", sys.executable],
        cwd=project,
        env=env,
    )


def step_start_gaps(work: Path, rounds: int) -> tuple[float, float]:
    flow = work / "step_start_flow.py"
    flow.write_text(FLOW)
    plain, inside = [], []
    for _ in range(rounds):
        result = subprocess.run(
            [sys.executable, str(flow), "run"], cwd=work, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"the step-start flow failed:\n{result.stderr[-2000:]}")
        line = next(
            line
            for line in result.stdout.splitlines() + result.stderr.splitlines()
            if "GAPS" in line
        )
        gaps = line.split("GAPS", 1)[1].split()
        plain.append(float(gaps[0]))
        inside.append(float(gaps[1]))
    return statistics.median(plain), statistics.median(inside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-pip", action="store_true", help="Leave out venv + pip (slow).")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mlp-bench-env-"))
    os.environ["MLP_HOME"] = str(work / "mlp")
    os.environ["MLP_CONFIG"] = str(work / "mlp.toml")
    (work / "mlp.toml").write_text('profile = "local"\n')
    os.environ.setdefault("METAFLOW_USER", "bench")

    from mlplatform.config import load_settings
    from mlplatform.environments import EnvironmentSpec, build, environment, register, resolve
    from mlplatform.environments._uv import uv_binary

    uv = uv_binary()
    figures: dict[str, float | None] = {}
    try:
        spec = EnvironmentSpec(PACKAGES)
        # Cold: an empty uv cache; everything is downloaded.
        cold_cache = work / "cold-uv-cache"
        os.environ["UV_CACHE_DIR"] = str(cold_cache)
        os.environ["MLP_ENVIRONMENTS__ENVS_DIR"] = str(work / "envs-cold")
        started = time.perf_counter()
        build(resolve(spec, settings=load_settings()), settings=load_settings())
        figures["ours_cold_s"] = time.perf_counter() - started
        del os.environ["UV_CACHE_DIR"]
        shutil.rmtree(cold_cache, ignore_errors=True)

        # Warm: wheels in uv's (default) cache, a new environments folder each round.
        warm, warm_build = [], []
        lock = None
        for index in range(args.rounds):
            os.environ["MLP_ENVIRONMENTS__ENVS_DIR"] = str(work / f"envs-warm-{index}")
            settings = load_settings()
            started = time.perf_counter()
            lock = resolve(spec, settings=settings)
            resolved = time.perf_counter()
            build(lock, settings=settings)
            warm.append(time.perf_counter() - started)
            warm_build.append(time.perf_counter() - resolved)
        figures["ours_warm_s"] = statistics.median(warm)
        figures["ours_warm_build_only_s"] = statistics.median(warm_build)

        # Already built: a registered name, found built.
        settings = load_settings()
        register("bench/env/ml:v1", lock, settings=settings)
        lookups = []
        for _ in range(10):
            started = time.perf_counter()
            environment("bench/env/ml:v1", settings=settings)
            lookups.append(time.perf_counter() - started)
        figures["ours_lookup_s"] = statistics.median(lookups)

        figures["metaflow_uv_sync_s"] = metaflow_uv_sync(work, uv)
        figures["pip_s"] = None if args.skip_pip else pip_install(work)
        plain_gap, inside_gap = step_start_gaps(work, args.rounds)
        figures["step_start_plain_s"] = plain_gap
        figures["step_start_named_env_s"] = inside_gap
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"environment: {' + '.join(PACKAGES)} (Python {sys.version.split()[0]})")
    rows = [
        ("python -m venv + pip install", figures["pip_s"]),
        (
            "Metaflow --environment=uv (pod bootstrap: uv sync --frozen)",
            figures["metaflow_uv_sync_s"],
        ),
        ("ours, cold uv cache (resolve + build)", figures["ours_cold_s"]),
        ("ours, warm uv cache (resolve + build)", figures["ours_warm_s"]),
        ("ours, warm uv cache (build of a given lock)", figures["ours_warm_build_only_s"]),
        ("ours, already built (lookup)", figures["ours_lookup_s"]),
        (
            "step start after the previous step, flow's own environment",
            figures["step_start_plain_s"],
        ),
        ("step start after the previous step, @named_env", figures["step_start_named_env_s"]),
    ]
    for label, value in rows:
        print(f"  {label:<62} {'not run' if value is None else f'{value:8.3f} s'}")
    delay = figures["step_start_named_env_s"] - figures["step_start_plain_s"]
    speedup = figures["pip_s"] / figures["ours_warm_s"] if figures["pip_s"] else None
    print(
        f"  named environment start delay: {delay:+.3f} s; ours warm vs pip: "
        f"{'not run' if speedup is None else f'{speedup:.1f}x faster'}"
    )
    print(
        json.dumps(
            {
                "benchmark": "environments",
                "figures": figures,
                "named_env_start_delay_s": delay,
                "speedup_vs_pip": speedup,
                "targets": {
                    "warm_build_le_3s": figures["ours_warm_s"] <= 3.0,
                    "lookup_le_0_5s": figures["ours_lookup_s"] <= 0.5,
                    "ge_10x_faster_than_pip": speedup is not None and speedup >= 10,
                    "named_env_step_start_le_1s_later": delay <= 1.0,
                },
            }
        )
    )


if __name__ == "__main__":
    main()

"""Resolve, compose, build and register with the real uv: behaviour and every bad input.

These resolve against the package index (reachable here) and install from uv's cache;
six 1.16.0 is a version only these environments have (the workspace pins 1.17.0).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlplatform.config import load_settings
from mlplatform.environments import (
    EnvironmentConflictError,
    EnvironmentNameError,
    EnvironmentNotFoundError,
    EnvironmentResolutionError,
    EnvironmentSpec,
    ImmutableTagError,
    build,
    capture,
    compose,
    list_environments,
    lookup,
    register,
    resolve,
)
from mlplatform.environments._store import collect_environments

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def run_in(python: Path, code: str) -> str:
    result = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def six_lock(mlp_home):
    return resolve(EnvironmentSpec(["six==1.16.0"]))


def test_a_lock_builds_once_into_its_own_interpreter(six_lock, mlp_home):
    environment = build(six_lock)
    assert environment.path == mlp_home / "envs" / six_lock.hash
    out = run_in(
        environment.python,
        "import sys, six, metaflow, mlplatform.config; print(sys.executable, six.__version__)",
    )
    assert out == f"{environment.python} 1.16.0"
    assert six_lock.version_of("metaflow") == metaflow_version()
    built_at = (environment.path / "mlp-environment.json").stat().st_mtime_ns
    again = build(resolve(EnvironmentSpec(["six==1.16.0"])))
    assert again.path == environment.path
    assert (again.path / "mlp-environment.json").stat().st_mtime_ns == built_at  # not rebuilt


def metaflow_version() -> str:
    import metaflow

    return metaflow.__version__


def test_register_lookup_and_compose_keep_the_base_pins(six_lock, mlp_home):
    register("team/proj/six:v1", six_lock)
    assert lookup("team/proj/six:v1") == six_lock
    assert lookup("team/proj/six") == six_lock  # latest follows the newest registration
    composed = compose("team/proj/six:v1", ["attrs"])
    assert composed.version_of("six") == "1.16.0"
    assert composed.version_of("attrs") is not None
    assert {p.name: p.version for p in six_lock.packages}.items() <= {
        p.name: p.version for p in composed.packages
    }.items()
    assert [str(entry) for entry in list_environments()] == [
        "team/proj/six:latest",
        "team/proj/six:v1",
    ]


def test_an_unknown_package_is_one_clear_error(mlp_home):
    with pytest.raises(EnvironmentResolutionError) as error:
        resolve(EnvironmentSpec(["no-such-package-mlp-test-4711"]))
    assert "no-such-package-mlp-test-4711" in str(error.value)
    assert "was not found in the package registry" in str(error.value)
    assert "\n" not in str(error.value)


def test_a_version_that_does_not_exist_is_one_clear_error(mlp_home):
    with pytest.raises(EnvironmentResolutionError, match=r"there is no version of six==99\.0"):
        resolve(EnvironmentSpec(["six==99.0"]))


def test_extras_that_conflict_with_the_base_name_both_versions(six_lock, mlp_home):
    register("team/proj/six:v1", six_lock)
    with pytest.raises(EnvironmentConflictError) as error:
        compose("team/proj/six:v1", ["six==1.17.0"])
    message = str(error.value)
    assert "six==1.17.0 cannot be added to the base environment, which pins six==1.16.0" in message
    assert not (mlp_home / "envs").exists()  # nothing was built


def test_an_immutable_tag_cannot_move(six_lock, mlp_home):
    register("team/proj/six:v1", six_lock)
    register("team/proj/six:v1", six_lock)  # the same lock again: a no-op
    other = compose(six_lock, ["attrs"])
    with pytest.raises(ImmutableTagError, match=rf"already points at lock {six_lock.hash}"):
        register("team/proj/six:v1", other)
    assert lookup("team/proj/six:v1") == six_lock
    register("team/proj/six:v2", other)  # a new tag is fine
    assert lookup("team/proj/six:latest") == other


def test_malformed_names_fail_before_anything_is_stored(six_lock, mlp_home):
    with pytest.raises(EnvironmentNameError, match="expected three"):
        register("six:v1", six_lock)
    assert list_environments() == []
    with pytest.raises(EnvironmentNotFoundError, match="closest registered names: team/proj/six"):
        register("team/proj/six:v1", six_lock)
        lookup("team/proj/sx:v1")


def test_offline_without_the_package_in_the_cache_names_it(mlp_home, tmp_path, monkeypatch):
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("MLP_ENVIRONMENTS__OFFLINE", "true")
    with pytest.raises(EnvironmentResolutionError) as error:
        resolve(EnvironmentSpec(["six==1.16.0"]), settings=load_settings())
    message = str(error.value)
    assert "six==1.16.0" in message and "offline" in message


def test_capture_records_an_environment_so_it_can_be_rebuilt(six_lock, mlp_home):
    environment = build(six_lock)
    captured = capture(str(environment.python))
    assert captured.pins() == six_lock.pins()
    assert captured.hash == six_lock.hash  # the same packages: the same environment


BUILDER = textwrap.dedent(
    """
    import sys
    from mlplatform.environments import EnvironmentSpec, build, resolve
    lock = resolve(EnvironmentSpec(sys.argv[1:]))
    print(lock.hash, flush=True)
    build(lock)
    """
)


def test_a_build_killed_midway_leaves_nothing_used_and_the_next_one_succeeds(mlp_home):
    requirements = ["six==1.16.0", "attrs==25.3.0", "idna==3.10", "certifi"]
    builder = subprocess.Popen(
        [sys.executable, "-c", BUILDER, *requirements],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock_hash = builder.stdout.readline().strip()
    envs = mlp_home / "envs"
    deadline = time.monotonic() + 60
    while not (envs.is_dir() and any(p.name.startswith(".build-") for p in envs.iterdir())):
        assert time.monotonic() < deadline, builder.stderr.read()
        time.sleep(0.005)
    os.kill(builder.pid, signal.SIGKILL)
    builder.wait(timeout=30)
    assert not (envs / lock_hash).exists()  # a half environment is never in place

    lock = resolve(EnvironmentSpec(requirements))
    assert lock.hash == lock_hash
    environment = build(lock)
    assert run_in(environment.python, "import attrs; print(attrs.__version__)") == "25.3.0"
    result = collect_environments(load_settings().environments, referenced={lock.hash})
    assert [p.name.startswith(".build-") for p in result.removed] == [True]
    assert sorted(p.name for p in envs.iterdir()) == [lock.hash]


def test_gc_keeps_referenced_and_in_use_environments(six_lock, mlp_home):
    kept = build(six_lock)
    busy = build(compose(six_lock, ["attrs"]))
    dropped = build(compose(six_lock, ["iniconfig"]))
    options = load_settings().environments
    with busy.in_use():
        result = collect_environments(options, referenced={six_lock.hash}, dry_run=False)
    assert result.removed == [dropped.path]
    assert result.kept_in_use == [busy.path]
    assert kept.path.is_dir() and busy.path.is_dir() and not dropped.path.exists()


def test_cli_create_ls_show(mlp_home):
    from click.testing import CliRunner

    from mlplatform.cli import cli

    runner = CliRunner()
    created = runner.invoke(cli, ["env", "create", "team/proj/six:v1", "six==1.16.0"])
    assert created.exit_code == 0, created.output
    assert "team/proj/six:v1 -> lock " in created.output
    listed = json.loads(runner.invoke(cli, ["env", "ls", "--format", "json"]).stdout)
    assert {row["environment"] for row in listed} == {"team/proj/six:v1", "team/proj/six:latest"}
    assert all(row["built here"] == "yes" for row in listed)
    shown = runner.invoke(cli, ["env", "show", "team/proj/six:v1"])
    assert shown.exit_code == 0, shown.output
    assert "six" in shown.output and "1.16.0" in shown.output and "names" in shown.output
    bad = runner.invoke(cli, ["env", "create", "team/proj/six:v1", "six==1.17.0"])
    assert bad.exit_code == 2
    assert "immutable" in bad.output
    missing = runner.invoke(cli, ["env", "show", "team/proj/nope"])
    assert missing.exit_code == 2 and "no environment is registered" in missing.output


def test_cli_resolve_from_a_file_and_gc(mlp_home, tmp_path):
    from click.testing import CliRunner

    from mlplatform.cli import cli

    runner = CliRunner()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the model's pins\nsix==1.16.0\n")
    output = tmp_path / "lock.json"
    resolved = runner.invoke(cli, ["env", "resolve", "-r", str(requirements), "-o", str(output)])
    assert resolved.exit_code == 0, resolved.output
    lock = json.loads(output.read_text())
    assert {"name": "six", "version": "1.16.0"}.items() <= next(
        p for p in lock["packages"] if p["name"] == "six"
    ).items()
    assert "lock " in resolved.stderr and "packages" in resolved.stderr
    usage = runner.invoke(cli, ["env", "resolve"])
    assert usage.exit_code == 2 and "give requirements" in usage.output

    build(compose(resolve(EnvironmentSpec(["six==1.16.0"])), ["iniconfig"]))  # unnamed
    collected = runner.invoke(cli, ["env", "gc"])
    assert collected.exit_code == 0, collected.output
    assert "removed 1 environment(s); kept 0 referenced and 0 in use" in collected.output

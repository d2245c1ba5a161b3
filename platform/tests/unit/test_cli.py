import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from mlplatform.cli import SUBCOMMANDS, cli


def run_mlp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from mlplatform.cli import main; main()", *args],
        env={k: v for k, v in os.environ.items() if not k.startswith("MLP_")} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ["doctor", *SUBCOMMANDS]:
        assert f"  {name} " in result.output


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_each_layer_command_loads_under_its_name(name):
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)
    assert command.name == name
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output


def test_doctor_local_profile_is_ok(mlp_home):
    result = run_mlp("doctor", env={"MLP_HOME": str(mlp_home)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "profile      local" in result.stdout
    assert str(mlp_home) in result.stdout
    for check in ("state folder", "metaflow", "finish events", "data catalog", "cache"):
        assert check in result.stdout
    assert "all required backends are usable" in result.stdout
    assert (mlp_home / "catalog.db").is_file()


def test_doctor_fails_when_finish_events_are_switched_off(mlp_home):
    env = {"MLP_HOME": str(mlp_home), "METAFLOW_DEFAULT_DECOSPECS": "retry"}
    result = run_mlp("doctor", env=env)
    assert result.returncode == 1
    assert "not usable: finish events" in result.stdout
    assert "replaces" in result.stdout  # the detail says why (rich wraps it in the table)


def test_doctor_fails_when_the_state_folder_cannot_be_created(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_mlp("doctor", env={"MLP_HOME": str(blocker / "state")})
    assert result.returncode == 1
    assert "not usable: state folder" in result.stdout


def test_doctor_production_reports_unreachable_services(tmp_path):
    from mlplatform.testing import free_port

    closed = f"127.0.0.1:{free_port()}"
    env = {
        "MLP_PROFILE": "production",
        "MLP_HOME": str(tmp_path),
        "MLP_STORAGE__S3_ROOT": "s3://bucket/mlp",
        "MLP_STORAGE__S3_ENDPOINT_URL": f"http://{closed}",
        "MLP_DATA__CATALOG_URI": f"http://{closed}",
        "MLP_CACHE__REDIS_URL": f"redis://{closed}/0",
        "MLP_METAFLOW__METADATA_SERVICE_URL": f"http://{closed}",
    }
    result = run_mlp("doctor", env=env)
    assert result.returncode == 1
    assert "unreachable" in result.stdout
    assert (
        "not usable: object storage, metadata service, data catalog, environments, cache"
        in result.stdout
    )


def test_bad_config_is_one_clear_line(tmp_path):
    result = run_mlp("doctor", env={"MLP_PROFILE": "qa", "MLP_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: MLP_PROFILE = 'qa' is not a profile")
    assert "Traceback" not in result.stderr


def test_doctor_checks_the_backends_the_profile_names_not_fixed_ones(tmp_path):
    # Issue 11: production doctor probed Redis whatever cache.backend said, and the REST
    # catalog's /v1/config whatever data.catalog type was configured.
    from mlplatform.testing import free_port

    closed = f"127.0.0.1:{free_port()}"
    env = {
        "MLP_PROFILE": "production",
        "MLP_HOME": str(tmp_path),
        "MLP_STORAGE__S3_ROOT": "s3://bucket/mlp",
        "MLP_STORAGE__S3_ENDPOINT_URL": f"http://{closed}",
        "MLP_METAFLOW__METADATA_SERVICE_URL": f"http://{closed}",
        "MLP_CACHE__BACKEND": "sqlite",
        "MLP_DATA__CATALOG": "sql",
        "MLP_DATA__CATALOG_URI": f"sqlite:///{tmp_path / 'catalog.db'}",
        "MLP_HOSTING__QUEUE": "sqlite",
    }
    result = run_mlp("doctor", "--help", env=env)
    assert result.returncode == 0
    result = run_mlp("doctor", env=env)
    lines = result.stdout.splitlines()
    cache = next(line for line in lines if line.startswith("│ cache "))
    assert "sqlite" in cache and "ok" in cache and "redis" not in cache
    catalog = next(line for line in lines if line.startswith("│ data catalog "))
    assert "sql " in catalog and "ok" in catalog and "/v1/config" not in result.stdout
    assert "not usable: object storage, metadata service" in result.stdout


def test_doctor_shows_each_setting_and_where_it_came_from(mlp_home):
    result = run_mlp(
        "doctor", env={"MLP_HOME": str(mlp_home), "MLP_ORCHESTRATION__MAX_ATTEMPTS": "5"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if "orchestration.max_attempts" in line)
    assert "5" in row and "env MLP_ORCHESTRATION__MAX_ATTEMPTS" in row
    row = next(line for line in result.stdout.splitlines() if "cache.keep_generations" in line)
    assert "default" in row


def test_doctor_never_prints_a_password(mlp_home):
    env = {
        "MLP_HOME": str(mlp_home),
        "MLP_CACHE__BACKEND": "redis",
        "MLP_CACHE__REDIS_URL": "redis://:hunter2@127.0.0.1:1/0",
    }
    result = run_mlp("doctor", env=env)
    assert "hunter2" not in result.stdout + result.stderr
    assert "redis://:***@127.0.0.1:1/0" in result.stdout


def test_a_package_adds_an_mlp_command_through_an_entry_point(tmp_path):
    # How a pipeline adds `mlp <name>` without the platform importing it.
    (tmp_path / "hello_command.py").write_text(
        "import click\n\n@click.command('hello')\n"
        "def hello():\n    click.echo('hello from a pipeline')\n"
    )
    info = tmp_path / "hello_pipeline-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-pipeline\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[mlplatform.commands]\nhello = hello_command:hello\ncache = hello_command:hello\n"
    )
    env = {"PYTHONPATH": str(tmp_path), "MLP_HOME": str(tmp_path / "mlp")}
    result = run_mlp("hello", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from a pipeline\n"
    listed = run_mlp("--help", env=env).stdout
    assert "\n  hello" in listed
    assert "Inspect and manage the online cache" in run_mlp("cache", "--help", env=env).stdout


def test_a_pipeline_command_that_fails_to_import_breaks_only_itself(tmp_path):
    info = tmp_path / "broken_pipeline-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-pipeline\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mlplatform.commands]\nbroken = no_such_module:cli\n")
    env = {"PYTHONPATH": str(tmp_path), "MLP_HOME": str(tmp_path / "mlp")}
    listed = run_mlp("--help", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "broken" in listed.stdout and "No module named 'no_such_module'" in listed.stdout
    assert "Inspect and manage the online cache" in listed.stdout
    result = run_mlp("broken", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: the command 'broken' (no_such_module:cli) could not be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module'; "
        "expected its package to be installed whole (uv sync --all-packages)"
    ]

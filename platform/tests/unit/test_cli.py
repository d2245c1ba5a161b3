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
    assert "not usable: object storage, metadata service, data catalog, cache" in result.stdout


def test_bad_config_is_one_clear_line(tmp_path):
    result = run_mlp("doctor", env={"MLP_PROFILE": "qa", "MLP_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: MLP_PROFILE = 'qa' is not a profile")
    assert "Traceback" not in result.stderr

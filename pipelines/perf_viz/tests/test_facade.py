"""The façade exports exactly what its users use; `mlp app perf_viz` is registered."""

from pathlib import Path

import perf_viz as pv
from click.testing import CliRunner

from mlplatform.cli import cli
from mlplatform.testing import names_used_through

PIPELINE = Path(__file__).resolve().parents[1]


def test_facade_exports_exactly_what_its_users_use():
    users = [PIPELINE / name for name in ("flow.py", "service.py", "app.py")]
    users += [PIPELINE / "benchmarks" / "service.py", *sorted((PIPELINE / "tests").glob("*.py"))]
    used = names_used_through(pv.__name__, users)
    assert sorted(pv.__all__) == sorted(used)
    assert all(getattr(pv, name) is not None for name in pv.__all__)
    assert sorted(dir(pv)) == sorted(pv.__all__)


def test_mlp_app_perf_viz_is_an_mlp_command():
    result = CliRunner().invoke(cli, ["app", "perf_viz", "--help"])
    assert result.exit_code == 0, result.output
    assert "Start the title performance service and its Streamlit app" in result.output
    assert "--service-port" in result.output

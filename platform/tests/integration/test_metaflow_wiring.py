"""A real Metaflow run lands in the profile's state folder with nothing exported."""

import os
import textwrap

import pytest
from metaflow import Runner

from mlplatform.config import load_settings

pytestmark = pytest.mark.integration

FLOW = textwrap.dedent(
    """
    from metaflow import FlowSpec, current, step

    class WiringFlow(FlowSpec):
        @step
        def start(self):
            from metaflow import metaflow_config

            self.user = current.username
            self.sysroot = metaflow_config.DATASTORE_SYSROOT_LOCAL
            self.next(self.end)

        @step
        def end(self):
            pass

    if __name__ == "__main__":
        WiringFlow()
    """
)


def test_flow_runs_on_the_local_profile_without_user_or_exports(mlp_home, tmp_path, monkeypatch):
    # As in CI: no USER and nothing Metaflow-specific exported.
    for name in list(os.environ):
        if name in {"USER", "USERNAME", "LOGNAME", "SUDO_USER"} or name.startswith("METAFLOW_"):
            monkeypatch.delenv(name)
    flow_file = tmp_path / "wiring_flow.py"
    flow_file.write_text(FLOW)
    expected_user = load_settings().metaflow_user
    assert expected_user != "root"  # Metaflow refuses root; the platform falls back

    with Runner(str(flow_file), cwd=str(tmp_path)).run() as running:
        run = running.run
        assert running.status == "successful", running.stderr
        assert run.data.sysroot == str(mlp_home / "metaflow")
        assert run.data.user == expected_user
    assert (mlp_home / "metaflow" / ".metaflow" / "WiringFlow").is_dir()

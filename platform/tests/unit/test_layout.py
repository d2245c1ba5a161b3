"""Facts of the repository layout that the rest of the platform relies on."""

import subprocess

from mlplatform.config import find_workspace_root

ROOT = find_workspace_root()


def test_platform_folder_is_not_a_package():
    # A package named `platform` would shadow the standard library's module.
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_lock_file_is_ignored():
    result = subprocess.run(["git", "check-ignore", "-q", "uv.lock"], cwd=ROOT)
    assert result.returncode == 0, "uv.lock names registry hosts and must stay untracked"

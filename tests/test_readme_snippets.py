"""Every ```python block of the READMEs runs as written, on a fresh local profile.

Docs drift silently (issue 12: the Data snippet wrote to a table it never created); here
each block runs in its own process, so a snippet that stops working fails the suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from mlplatform.config import find_workspace_root

ROOT = find_workspace_root()
READMES = [ROOT / "README.md", *sorted(ROOT.glob("pipelines/*/README.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for readme in READMES:
        text = readme.read_text()
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((f"{readme.relative_to(ROOT)}:{line}", match.group(1)))
    return blocks


def test_the_readme_has_python_snippets():
    assert python_blocks(), "no ```python block found: did the README's fences change?"


@pytest.mark.parametrize(("where", "code"), python_blocks(), ids=[w for w, _ in python_blocks()])
def test_snippet_runs_as_written(where, code, tmp_path):
    (tmp_path / "mlp.toml").write_text('profile = "local"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLP_", "METAFLOW_"))}
    env |= {
        "MLP_HOME": str(tmp_path / "mlp"),
        "MLP_CONFIG": str(tmp_path / "mlp.toml"),
        "METAFLOW_USER": "tester",
    }
    snippet = tmp_path / "snippet.py"  # a file, not -c: Metaflow reads a flow's source
    snippet.write_text(code)
    result = subprocess.run(
        [sys.executable, str(snippet)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{where} failed:\n{result.stderr[-3000:]}"

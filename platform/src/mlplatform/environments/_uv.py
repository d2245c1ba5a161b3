"""Running uv: resolve requirements to pins with hashes, create venvs, install locks.

uv is a dependency of mlplatform (the ``uv`` package ships its binary), so wherever the
platform runs — a laptop, a pod — the same uv resolves and installs. uv's own cache (its
default, shared with ``uv run``) makes a build from cached wheels take about a second.
Interpreters are never downloaded: an environment uses a Python that is installed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from mlplatform.environments._errors import (
    EnvironmentBuildError,
    EnvironmentConflictError,
    EnvironmentResolutionError,
)
from mlplatform.environments._settings import EnvironmentsSettings

__all__ = ["compile_requirements", "create_venv", "freeze", "install_lock", "uv_binary"]

logger = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def uv_binary() -> str:
    """The uv executable: the ``uv`` package's own binary, else ``uv`` on the PATH.

    Raises:
        EnvironmentBuildError: Neither is there.
    """
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvironmentBuildError(
        "uv is not installed: it is a dependency of mlplatform (`pip install uv` or "
        "`uv sync` in the workspace)"
    )


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"  # never fetch an interpreter from the internet
    env.pop("VIRTUAL_ENV", None)  # commands name their target interpreter explicitly
    env["NO_COLOR"] = "1"
    return env


def _index_options(options: EnvironmentsSettings) -> list[str]:
    flags = ["--offline"] if options.offline else []
    if options.index_url:
        flags += ["--index-url", options.index_url]
    return flags


def _run(
    arguments: Sequence[str], options: EnvironmentsSettings, *, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    # --no-config: the workspace's own uv settings (its pins) must not leak into what an
    # environment resolves to; an environment is exactly its spec.
    command = [uv_binary(), *arguments, "--no-config"]
    logger.debug("running %s", " ".join(command))
    try:
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            env=_uv_env(),
            timeout=options.uv_timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(
            f"`uv {arguments[0]} {arguments[1] if len(arguments) > 1 else ''}` did not finish "
            f"within environments.uv_timeout_s = {options.uv_timeout_s:g} s; check the "
            "network to the package index, or raise the timeout"
        ) from None


def _cause(stderr: str) -> str:
    """uv's explanation of a failure, on one line."""
    text = _ANSI.sub("", stderr)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = [line for line in lines if not line.startswith(("hint:", "Resolved", "Using"))]
    joined = " ".join(cause).replace("error: No solution found when resolving dependencies:", "")
    joined = joined.replace("error: No solution found when resolving dependencies", "")
    return re.sub(r"\s+", " ", joined.replace("cause:", "")).strip(" :.") or "uv failed"


def compile_requirements(
    requirements: Sequence[str],
    python: str,
    options: EnvironmentsSettings,
    *,
    pinned: Sequence[str] = (),
    asked: Sequence[str] | None = None,
) -> str:
    """Resolve ``requirements`` (plus exact ``pinned`` ones) for ``python`` with hashes.

    ``asked`` is what the user asked for, named in error messages (default:
    ``requirements``).

    Returns:
        uv's requirements text: ``name==version`` lines with ``--hash`` lines, no index URL.

    Raises:
        EnvironmentConflictError: ``requirements`` cannot coexist with ``pinned``.
        EnvironmentResolutionError: An unknown package, a version that does not exist, or a
            package that must be downloaded while offline.
    """
    lines = [*pinned, *requirements]
    result = _run(
        [
            "pip",
            "compile",
            "-",
            "--generate-hashes",
            "--no-header",
            "--no-annotate",
            "--quiet",
            "--python-version",
            python,
            *_index_options(options),
        ],
        options,
        stdin="\n".join(lines) + "\n",
    )
    if result.returncode == 0:
        return result.stdout
    cause = _cause(result.stderr)
    asked = ", ".join(requirements if asked is None else asked) or "(nothing new)"
    if "network was disabled" in result.stderr:
        raise EnvironmentResolutionError(
            f"cannot resolve {asked} offline: {cause} (environments.offline is on and uv's "
            "cache lacks it: go online once, or prefetch it with `uv pip download`)"
        )
    involved = [pin for pin in pinned if _mentions(cause, pin.split("==", 1)[0])]
    if involved:
        raise EnvironmentConflictError(
            f"{asked} cannot be added to the base environment, which pins "
            f"{', '.join(involved)}: {cause}. Choose versions compatible with the base, or "
            "a base that fits them."
        )
    base = f" on top of {len(pinned)} base pins" if pinned else ""
    raise EnvironmentResolutionError(f"cannot resolve {asked}{base}: {cause}")


def _mentions(text: str, package: str) -> bool:
    spelling = re.escape(package).replace(r"\-", "[-_.]").replace("_", "[-_.]")
    return re.search(rf"(?<![\w.-]){spelling}(?![\w-])", text, re.IGNORECASE) is not None


def create_venv(path: Path, python: str, options: EnvironmentsSettings) -> None:
    """An empty, relocatable virtual environment at ``path`` for an installed ``python``.

    Raises:
        EnvironmentBuildError: No such interpreter here (none is downloaded), or uv failed.
    """
    result = _run(["venv", "--quiet", "--relocatable", "--python", python, str(path)], options)
    if result.returncode != 0:
        raise EnvironmentBuildError(
            f"cannot create a Python {python} virtual environment: {_cause(result.stderr)}. "
            "Environments use an installed interpreter; install that Python version or "
            "resolve for one that is installed"
        )


def install_lock(
    python_executable: Path, requirements_file: Path, options: EnvironmentsSettings
) -> None:
    """Install exactly the pinned, hashed packages of ``requirements_file``.

    Raises:
        EnvironmentBuildError: A package failed to download or install (its name is in the
            message), or the network is needed while offline.
    """
    result = _run(
        [
            "pip",
            "sync",
            "--quiet",
            "--require-hashes",
            "--python",
            str(python_executable),
            str(requirements_file),
            *_index_options(options),
        ],
        options,
    )
    if result.returncode != 0:
        raise EnvironmentBuildError(f"cannot install the environment: {_cause(result.stderr)}")


def freeze(python_executable: str) -> list[str]:
    """``name==version`` of every package installed for an interpreter (editable and local
    packages, which no index serves, are left out)."""
    result = subprocess.run(
        [
            uv_binary(),
            "pip",
            "freeze",
            "--exclude-editable",
            "--no-config",
            "--python",
            python_executable,
        ],
        capture_output=True,
        text=True,
        env=_uv_env(),
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise EnvironmentResolutionError(
            f"cannot list the packages of {python_executable}: {_cause(result.stderr)}"
        )
    return [line.strip() for line in result.stdout.splitlines() if "==" in line]

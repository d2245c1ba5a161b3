"""Built environments: one folder per lock hash under ``environments.envs_dir``.

A build happens in a private temporary folder next to the store and is renamed into place
(``<envs_dir>/<hash>``) only when complete, with the lock written into it last but one; so
a build killed at any moment leaves only a temporary folder that is never used (`gc` removes
it) and the next build starts afresh. Two processes building the same lock at once both
build; the first rename wins and the other discards its copy.

Environments reach the platform's own code (``mlplatform``, its Metaflow extension and the
workspace's pipeline packages) through a ``.pth`` file that appends a folder of links *after*
the environment's site-packages: the environment's own packages always win.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlplatform._pids import pid_alive
from mlplatform.environments._settings import EnvironmentsSettings
from mlplatform.environments._spec import Lock
from mlplatform.environments._uv import create_venv, install_lock

__all__ = [
    "CollectResult",
    "Environment",
    "build_environment",
    "built_environment",
    "collect_environments",
    "link_platform",
]

logger = logging.getLogger(__name__)

MARKER = "mlp-environment.json"
_BUILDING = ".build-"
_LINKS = "mlp-links"
_PTH = "_mlp_platform.pth"
_IN_USE = ".in-use"


@dataclass(frozen=True)
class Environment:
    """A built environment.

    Attributes:
        path: Its folder (``<envs_dir>/<lock hash>``).
        lock: The lock it was built from.
    """

    path: Path
    lock: Lock

    @property
    def python(self) -> Path:
        """Its interpreter."""
        return self.path / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        """Its site-packages folder."""
        return self.path / "lib" / f"python{self.lock.python}" / "site-packages"

    @contextlib.contextmanager
    def in_use(self, pid: int | None = None) -> Iterator[None]:
        """Mark the environment in use by a process (default: this one) while the block
        runs: ``mlp env gc`` never removes it meanwhile."""
        lease = self.path / _IN_USE / str(pid or os.getpid())
        lease.parent.mkdir(exist_ok=True)
        lease.touch()
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                lease.unlink()

    def size_bytes(self) -> int:
        """Bytes on disk (files reached through links counted once per link)."""
        return sum(
            p.stat().st_size for p in self.path.rglob("*") if p.is_file() and not p.is_symlink()
        )


def _complete(path: Path) -> Lock | None:
    marker = path / MARKER
    if not marker.is_file():
        return None
    return Lock.from_json(marker.read_text())


def build_environment(lock: Lock, options: EnvironmentsSettings) -> tuple[Environment, bool]:
    """The environment of ``lock``, built now if it is not built yet.

    Returns:
        ``(environment, built)``: ``built`` is False when it already existed.

    Raises:
        EnvironmentBuildError: Python or a package could not be installed; nothing is kept.
    """
    envs_dir = Path(str(options.envs_dir))
    target = envs_dir / lock.hash
    if _complete(target) is not None:
        return Environment(target, lock), False
    envs_dir.mkdir(parents=True, exist_ok=True)
    staging = envs_dir / f"{_BUILDING}{lock.hash}-{os.getpid()}-{secrets.token_hex(3)}"
    started = time.perf_counter()
    try:
        create_venv(staging, lock.python, options)
        requirements = staging / "mlp-requirements.txt"
        requirements.write_text(lock.requirements_txt())
        install_lock(staging / "bin" / "python", requirements, options)
        (staging / MARKER).write_text(lock.to_json())
        try:
            staging.rename(target)
        except OSError:
            if _complete(target) is None:
                raise
            logger.info("environment %s was built concurrently; using that one", lock.hash)
            shutil.rmtree(staging, ignore_errors=True)
            return Environment(target, lock), False
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info(
        "built environment %s (%d packages) in %.1f s",
        lock.hash,
        len(lock.packages),
        time.perf_counter() - started,
    )
    return Environment(target, lock), True


def link_platform(environment: Environment, workspace_root: Path) -> None:
    """Make the platform's code importable in ``environment`` (after its own packages).

    Links ``mlplatform``, the platform's Metaflow extension, and every package under
    ``<workspace>/pipelines/*/src``; refreshed each time, so the links follow the workspace.
    """
    import mlplatform

    links = environment.path / _LINKS
    wanted: dict[Path, Path] = {links / "mlplatform": Path(mlplatform.__file__).parent}
    extension = Path(mlplatform.__file__).parent.parent / "metaflow_extensions" / "mlplatform"
    if extension.is_dir():
        wanted[links / "metaflow_extensions" / "mlplatform"] = extension
    for package in sorted(workspace_root.glob("pipelines/*/src/*/__init__.py")):
        wanted[links / package.parent.name] = package.parent
    for link, source in wanted.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and Path(os.readlink(link)) == source:
            continue
        temporary = link.with_name(f".{link.name}.{secrets.token_hex(3)}")
        temporary.symlink_to(source, target_is_directory=True)
        os.replace(temporary, link)
    pth = environment.site_packages / _PTH
    if not pth.is_file() or pth.read_text().strip() != str(links):
        temporary = pth.with_name(f".{_PTH}.{secrets.token_hex(3)}")
        temporary.write_text(f"{links}\n")
        os.replace(temporary, pth)


def _used(path: Path) -> bool:
    leases = path / _IN_USE
    if not leases.is_dir():
        return False
    return any(lease.name.isdigit() and pid_alive(int(lease.name)) for lease in leases.iterdir())


@dataclass(frozen=True)
class CollectResult:
    """What `collect_environments` removed and kept."""

    removed: list[Path]
    kept_in_use: list[Path]
    kept_referenced: int


def collect_environments(
    options: EnvironmentsSettings, referenced: set[str], *, dry_run: bool = False
) -> CollectResult:
    """Remove built environments no registered name references and no live process uses,
    and builds that were interrupted (their process is gone)."""
    envs_dir = Path(str(options.envs_dir))
    removed: list[Path] = []
    in_use_now: list[Path] = []
    kept = 0
    if not envs_dir.is_dir():
        return CollectResult([], [], 0)
    for path in sorted(envs_dir.iterdir()):
        if path.name.startswith(_BUILDING):
            pid = path.name.removeprefix(_BUILDING).split("-")[1]
            if pid.isdigit() and pid_alive(int(pid)):
                continue
        elif path.name in referenced:
            kept += 1
            continue
        elif _used(path):
            in_use_now.append(path)
            continue
        removed.append(path)
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return CollectResult(removed, in_use_now, kept)


def built_environment(lock: Lock, options: EnvironmentsSettings) -> Environment | None:
    """The environment of ``lock`` if it is built, else None."""
    target = Path(str(options.envs_dir)) / lock.hash
    return Environment(target, lock) if _complete(target) is not None else None

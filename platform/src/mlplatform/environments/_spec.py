"""What an environment is: a spec (what was asked for) and a lock (what it resolved to).

A `Lock` is exact: every package pinned to one version with the hashes of its files, for
one Python version. It names no package index (no registry address is stored), so the same
lock installs from PyPI, a mirror or uv's offline cache alike. Its `hash` is the content
address of the environment it builds: the same lock always builds (once) the same folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlplatform.environments._errors import EnvironmentResolutionError

__all__ = ["EnvironmentSpec", "Lock", "LockedPackage", "current_python"]

LOCK_FORMAT = 1
_PYTHON = re.compile(r"^3\.\d{1,2}$")
_NAME_CHARS = re.compile(r"[-_.]+")


def current_python() -> str:
    """This interpreter's ``major.minor`` (e.g. ``3.11``)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def canonical_name(name: str) -> str:
    """A package name as the packaging standards compare them (PEP 503)."""
    return _NAME_CHARS.sub("-", name).lower()


@dataclass(frozen=True)
class EnvironmentSpec:
    """What an environment should hold.

    Args:
        requirements: Requirement strings, e.g. ``["scikit-learn==1.5.2", "pandas>=2"]``.
        python: ``major.minor`` of the interpreter; default this interpreter's.
        base: A registered environment name whose pins the requirements extend (see
            `compose`), or None.
    """

    requirements: tuple[str, ...] = ()
    python: str = field(default_factory=current_python)
    base: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.requirements, str):
            raise EnvironmentResolutionError(
                f"requirements must be a list of requirement strings, got the string "
                f"{self.requirements!r}; wrap it in a list"
            )
        requirements = tuple(str(r).strip() for r in self.requirements if str(r).strip())
        object.__setattr__(self, "requirements", requirements)
        if not _PYTHON.match(str(self.python)):
            raise EnvironmentResolutionError(
                f"python must be a 'major.minor' version such as '3.11', got {self.python!r}"
            )


@dataclass(frozen=True)
class LockedPackage:
    """One exactly pinned package of a lock."""

    name: str
    version: str
    hashes: tuple[str, ...]

    def requirement(self) -> str:
        """``name==version`` with its hashes, as ``uv pip sync`` takes it."""
        hashes = "".join(f" \\\n    --hash={digest}" for digest in self.hashes)
        return f"{self.name}=={self.version}{hashes}"


@dataclass(frozen=True)
class Lock:
    """An exact, host-free environment: Python version and pinned packages with hashes.

    Attributes:
        python: ``major.minor`` of the interpreter.
        packages: Every package, sorted by name.
        requirements: What was asked for (informational: the hash ignores it, so two specs
            that resolve to the same packages share one environment).
    """

    python: str
    packages: tuple[LockedPackage, ...]
    requirements: tuple[str, ...] = ()

    @property
    def hash(self) -> str:
        """Content address: sha256 of the Python version and the pinned packages."""
        identity = {
            "python": self.python,
            "packages": [[p.name, p.version, sorted(p.hashes)] for p in self.packages],
        }
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def pins(self) -> dict[str, str]:
        """Canonical package name -> pinned version."""
        return {canonical_name(p.name): p.version for p in self.packages}

    def version_of(self, package: str) -> str | None:
        """The version the lock pins ``package`` to, or None."""
        return self.pins().get(canonical_name(package))

    def requirements_txt(self) -> str:
        """The lock as a requirements file with hashes (``uv pip sync`` input)."""
        return "".join(package.requirement() + "\n" for package in self.packages)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what the registry stores)."""
        return {
            "format": LOCK_FORMAT,
            "python": self.python,
            "requirements": list(self.requirements),
            "packages": [
                {"name": p.name, "version": p.version, "hashes": list(p.hashes)}
                for p in self.packages
            ],
        }

    def to_json(self) -> str:
        """The lock as JSON text."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lock:
        """Inverse of `to_dict`.

        Raises:
            EnvironmentResolutionError: The data is not a lock of a known format.
        """
        try:
            if data.get("format") != LOCK_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {LOCK_FORMAT}")
            packages = tuple(
                LockedPackage(str(p["name"]), str(p["version"]), tuple(p["hashes"]))
                for p in data["packages"]
            )
            return cls(
                python=str(data["python"]),
                packages=tuple(sorted(packages, key=lambda p: canonical_name(p.name))),
                requirements=tuple(data.get("requirements", ())),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise EnvironmentResolutionError(
                f"not an environment lock ({error}); expected what Lock.to_json() writes"
            ) from None

    @classmethod
    def from_json(cls, text: str) -> Lock:
        """Parse what `to_json` wrote."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as error:
            raise EnvironmentResolutionError(f"not an environment lock: {error}") from None

    @classmethod
    def from_requirements_txt(
        cls, text: str, python: str, requirements: Sequence[str] = ()
    ) -> Lock:
        """Parse the output of ``uv pip compile --generate-hashes`` (``name==version``
        lines, each followed by ``--hash`` lines)."""
        packages: list[LockedPackage] = []
        logical = text.replace("\\\n", " ")
        for line in logical.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            requirement, *options = line.split()
            name, separator, version = requirement.partition("==")
            if not separator:
                raise EnvironmentResolutionError(
                    f"the resolver returned {requirement!r}, not an exact pin; cannot lock it"
                )
            name = name.split("[", 1)[0]
            hashes = tuple(o.removeprefix("--hash=") for o in options if o.startswith("--hash="))
            packages.append(LockedPackage(name, version.split(";", 1)[0].strip(), hashes))
        packages.sort(key=lambda p: canonical_name(p.name))
        return cls(python=python, packages=tuple(packages), requirements=tuple(requirements))

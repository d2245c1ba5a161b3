"""Features as code: ``@feature(name, version, depends_on=[...])`` and the graph they form.

A feature is a pure function of its inputs: the asset's raw sources (``frames``, ``audio``,
``synopsis``, ``artwork``) and other features, each passed as the keyword argument of its
name. The registry checks each definition when it is registered — every dependency must
already exist, the function must take exactly its dependencies, and no cycle may form (a
cycle can only appear when a feature is replaced by a new version) — so a broken graph never
reaches a running service.

Cache keys follow the graph: a node's key holds the asset id and version, the feature's name
and version, and a *lineage id* hashing the versions of everything it is computed from. So
bumping a feature's version changes the keys of that feature and of its dependents (they
are recomputed), and nothing else; a new asset version changes that asset's keys only.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from media_features._errors import FeatureGraphError, UnknownFeatureError

__all__ = ["SOURCES", "Feature", "FeatureRegistry", "node_key"]

SOURCES = ("frames", "audio", "synopsis", "artwork")
"""The raw parts of an asset, loaded from its stored objects."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def node_key(asset_id: str, asset_version: int, feature: str, version: int, lineage: str) -> str:
    """The cache key of one (asset, feature) node."""
    return f"{asset_id}@{asset_version}/{feature}@{version}.{lineage}"


@dataclass(frozen=True)
class Feature:
    """One registered feature.

    Attributes:
        name: Its name (lower-case letters, digits, ``_``).
        version: Its version; bump it whenever the function's output changes.
        depends_on: Sources and features it is computed from, in the order given.
        function: The function; takes one keyword argument per dependency.
        description: The first line of the function's docstring.
    """

    name: str
    version: int
    depends_on: tuple[str, ...]
    function: Callable[..., Any]
    description: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """The raw sources among its direct dependencies."""
        return tuple(d for d in self.depends_on if d in SOURCES)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The features among its direct dependencies."""
        return tuple(d for d in self.depends_on if d not in SOURCES)


class FeatureRegistry:
    """A graph of features. The package's built-in features live in `media_features.registry`.

    Example:
        >>> reg = FeatureRegistry()
        >>> @reg.feature("mean_luma", 1, depends_on=["frames"])
        ... def mean_luma(frames):
        ...     return float(frames.mean())
    """

    def __init__(self) -> None:
        self._features: dict[str, Feature] = {}
        self._lineages: dict[str, str] = {}

    # -- defining --------------------------------------------------------------------------

    def feature(
        self, name: str, version: int = 1, depends_on: Iterable[str] = ()
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the decorated function as feature ``name`` (see `register`)."""

        def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
            self.register(name, version, depends_on, function)
            return function

        return decorate

    def register(
        self, name: str, version: int, depends_on: Iterable[str], function: Callable[..., Any]
    ) -> Feature:
        """Add a feature, or replace one by a new version.

        Raises:
            FeatureGraphError: A bad name or version, a dependency that is neither a source
                nor a registered feature, a function whose parameters are not its
                dependencies, the same version registered again, or a cycle.
        """
        depends = tuple(depends_on)
        where = f"feature {name!r}"
        if not isinstance(name, str) or not _NAME.match(name) or name in SOURCES:
            raise FeatureGraphError(
                f"{where}: a feature name is lower-case letters, digits and '_' (starting "
                f"with a letter) and not a source name {list(SOURCES)}"
            )
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise FeatureGraphError(f"{where}: version must be an int >= 1, got {version!r}")
        if not depends:
            raise FeatureGraphError(
                f"{where}: depends_on is empty; a feature is computed from sources "
                f"{list(SOURCES)} or other features"
            )
        if len(set(depends)) != len(depends):
            raise FeatureGraphError(f"{where}: depends_on lists a name twice: {list(depends)}")
        for dependency in depends:
            if dependency not in SOURCES and dependency not in self._features:
                known = [*SOURCES, *self._features]
                closest = difflib.get_close_matches(dependency, known, n=3)
                hint = f"; did you mean {closest}?" if closest else ""
                raise FeatureGraphError(
                    f"{where} depends on {dependency!r}, which is neither a source nor a "
                    f"registered feature (known: {known}){hint}; register it first"
                )
        parameters = list(inspect.signature(function).parameters)
        if sorted(parameters) != sorted(depends):
            raise FeatureGraphError(
                f"{where}: the function takes {parameters} but depends_on is {list(depends)}; "
                "it must take exactly one keyword argument per dependency"
            )
        previous = self._features.get(name)
        if previous is not None and previous.version == version:
            raise FeatureGraphError(
                f"{where} v{version} is registered already; bump the version to change it"
            )
        cycle = self._path_to(name, depends)
        if cycle:
            raise FeatureGraphError(
                f"{where} v{version} would make a cycle: {' -> '.join([name, *cycle])}"
            )
        doc = (inspect.getdoc(function) or "").strip().splitlines()
        feature = Feature(name, version, depends, function, doc[0] if doc else "")
        self._features[name] = feature
        self._lineages.clear()
        return feature

    def _path_to(self, target: str, starts: tuple[str, ...]) -> list[str]:
        """A dependency path from one of ``starts`` down to ``target`` ([] if none)."""
        for start in starts:
            if start == target:
                return [start]
            if start in self._features:
                rest = self._path_to(target, self._features[start].depends_on)
                if rest:
                    return [start, *rest]
        return []

    def copy(self) -> FeatureRegistry:
        """An independent registry with the same features (to extend or bump versions)."""
        other = FeatureRegistry()
        other._features = dict(self._features)
        return other

    # -- reading ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Registered feature names, in registration order."""
        return list(self._features)

    def __contains__(self, name: object) -> bool:
        return name in self._features

    def __len__(self) -> int:
        return len(self._features)

    def __getitem__(self, name: str) -> Feature:
        try:
            return self._features[name]
        except KeyError:
            closest = difflib.get_close_matches(str(name), list(self._features), n=3)
            hint = f"; did you mean {closest}?" if closest else ""
            raise UnknownFeatureError(
                f"unknown feature {name!r}: registered features are {self.names()}{hint}"
            ) from None

    def check(self, names: Iterable[str]) -> list[str]:
        """``names`` as a list, each a registered feature.

        Raises:
            UnknownFeatureError: One is not registered (the message lists the features).
        """
        names = [names] if isinstance(names, str) else list(names)
        for name in names:
            self[name]
        return names

    def closure(self, names: Iterable[str]) -> list[str]:
        """The features ``names`` need, themselves included, dependencies first.

        The order is by level (a feature's level is one more than its deepest input's;
        features computed straight from sources are level 1), then by name.
        """
        needed: set[str] = set()
        stack = list(self.check(names))
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack.extend(self._features[name].inputs)
        return sorted(needed, key=lambda name: (self.level(name), name))

    def level(self, name: str) -> int:
        """0 for a source, else one more than the deepest dependency."""
        if name in SOURCES:
            return 0
        return 1 + max(self.level(d) for d in self[name].depends_on)

    def dependents(self, name: str) -> list[str]:
        """Every feature computed, directly or not, from ``name``; sorted."""
        if name not in SOURCES:
            self[name]  # an unknown feature raises
        found = {
            other
            for other in self._features
            if other != name and self._path_to(name, self._features[other].depends_on)
        }
        return sorted(found)

    def lineage(self, name: str) -> str:
        """8 hex digits identifying the feature's version and, recursively, its inputs'."""
        if name in SOURCES:
            return f"source:{name}"
        if name not in self._lineages:
            feature = self[name]
            parts = [f"{feature.name}@{feature.version}"]
            parts += [f"{d}={self.lineage(d)}" for d in sorted(feature.depends_on)]
            self._lineages[name] = hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]
        return self._lineages[name]

    def key(self, asset_id: str, asset_version: int, name: str) -> str:
        """The cache key of feature ``name`` of one asset version."""
        return node_key(asset_id, asset_version, name, self[name].version, self.lineage(name))

    def render(self, name: str) -> str:
        """The dependency graph of ``name`` as an indented tree, down to the sources."""
        feature = self[name]
        lines = [f"{name} v{feature.version}  [{self.lineage(name)}]"]

        def walk(node: str, prefix: str) -> None:
            depends = self._features[node].depends_on
            for index, dependency in enumerate(depends):
                last = index == len(depends) - 1
                branch, extend = ("└── ", "    ") if last else ("├── ", "│   ")
                if dependency in SOURCES:
                    lines.append(f"{prefix}{branch}{dependency} (source)")
                else:
                    version = self._features[dependency].version
                    lines.append(f"{prefix}{branch}{dependency} v{version}")
                    walk(dependency, prefix + extend)

        walk(name, "")
        return "\n".join(lines)

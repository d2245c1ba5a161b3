"""One loader for ``"module:attribute"`` strings, and lazily loaded package façades.

Backend tables (``BACKENDS = {"sqlite": "mlplatform.cache._sqlite:SQLiteBackend"}``), the
layer table (`mlplatform._layers.LAYERS`) and the CLI's subcommands name what they need as
strings, so a backend's or a command's dependencies are imported only when it is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports", "load_object", "lookup"]


def load_object(spec: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute.

    Raises:
        ValueError: ``spec`` is not of the form ``module:attribute``.
        ImportError: The module does not import or has no such attribute.
    """
    module_name, separator, attribute = spec.partition(":")
    if not separator or not module_name or not attribute:
        raise ValueError(f"{spec!r} is not a 'package.module:attribute' string")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(
            f"{module_name} has no attribute {attribute!r} (named by {spec!r})"
        ) from None


def lookup(
    table: Mapping[str, str],
    name: str,
    *,
    what: str,
    setting: str,
    error: type[Exception],
) -> Any:
    """Load the entry ``name`` of a table of ``"module:attribute"`` strings.

    Args:
        table: Short name -> ``"module:attribute"``.
        name: The short name asked for.
        what: What the table holds, for the message (e.g. ``"cache backend"``).
        setting: The setting that chooses the name (e.g. ``"cache.backend"``); the message
            tells where to set it.
        error: The exception type raised for an unknown name (the layer's own).

    Raises:
        error: ``name`` is not in the table; the message lists the valid names.
    """
    if name not in table:
        section, _, key = setting.partition(".")
        raise error(
            f"unknown {what} {name!r}; valid names are {sorted(table)}. Set {setting} in mlp.toml "
            f"or MLP_{section.upper()}__{key.upper()} to one of them."
        )
    return load_object(table[name])


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package façade that imports on first use.

    A layer's ``__init__`` names its public API here instead of importing it, so importing
    a light module of the layer (its ``_settings``) does not import the heavy ones (pyarrow,
    PyIceberg, Polars) — `mlplatform.config` loads every layer's settings at start-up.

    Args:
        package: The façade's ``__name__``.
        exports: Module -> the public names it defines.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.
    """
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        try:
            module = module_of[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(module_of))

    return __getattr__, __dir__

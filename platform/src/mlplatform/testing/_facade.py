"""What a package's users read through its façade: for the test that pins its ``__all__``."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["names_used_through"]

_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def names_used_through(package: str, paths: Iterable[Path]) -> set[str]:
    """Every public ``<alias>.<name>`` the files read after ``import <package> as <alias>``.

    A ``.py`` file is parsed whole; a Markdown file by its ``python`` code blocks, joined (a
    README's later blocks use the alias an earlier one imported).
    """
    used: set[str] = set()
    for path in paths:
        text = path.read_text()
        if path.suffix == ".md":
            text = "\n".join(_PYTHON_BLOCK.findall(text))
        tree = ast.parse(text, filename=str(path))
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name == package
        }
        used |= {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and not node.attr.startswith("_")
        }
    return used

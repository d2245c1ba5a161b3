"""The data layer's modules import each other in one direction only (no circles).

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a lazy
import that closes a circle is a circle all the same. String references in the sources
table (``SOURCES``) are the loader's, not imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlplatform.data

PACKAGE = "mlplatform.data"
FOLDER = Path(mlplatform.data.__file__).parent


def imports_between_modules() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(FOLDER.glob("_*.py")):
        module = path.stem
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith(f"{PACKAGE}._"):
                    found.add(name.removeprefix(f"{PACKAGE}.").split(".")[0])
        graph[module] = found - {module}
    return graph


def test_no_module_of_the_data_layer_imports_one_that_imports_it_back():
    graph = imports_between_modules()
    assert graph["_table"] >= {"_hive", "_write"}  # the graph is really read

    def circle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            module, path = stack.pop()
            for imported in graph.get(module, ()):
                if imported == start:
                    return [*path, start]
                if imported not in path:
                    stack.append((imported, [*path, imported]))
        return None

    circles = [c for c in (circle_from(m) for m in graph) if c]
    assert circles == []


def test_hive_and_writes_know_nothing_of_the_iceberg_table():
    graph = imports_between_modules()
    assert "_table" not in graph["_hive"]
    assert "_table" not in graph["_write"]
    assert "_table" not in graph["_frame"]

"""The package's façade exports exactly what the flow, the benchmark and the tests use."""

import ast
from pathlib import Path

import knowledge_graph as kg

PIPELINE = Path(__file__).resolve().parents[1]


def _names_used_through_the_facade(path: Path) -> set[str]:
    """Every ``<alias>.<name>`` a module reads after ``import <package> as <alias>``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == kg.__name__
    }
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and not node.attr.startswith("_")
    }


def test_facade_exports_exactly_what_its_users_use():
    users = [PIPELINE / "flow.py", PIPELINE / "benchmarks" / "match.py"]
    users += sorted((PIPELINE / "tests").glob("*.py"))
    used = set().union(*map(_names_used_through_the_facade, users))
    assert sorted(kg.__all__) == sorted(used)
    assert len(kg.__all__) == len(set(kg.__all__))
    assert all(hasattr(kg, name) for name in kg.__all__)

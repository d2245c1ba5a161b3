"""The package's façade exports exactly what the flows, the ETL, the benchmark and tests use."""

import ast
import re
from pathlib import Path

import content_decisions as cd

PIPELINE = Path(__file__).resolve().parents[1]


def _names_used_through_the_facade(path: Path) -> set[str]:
    """Every ``<alias>.<name>`` a module reads after ``import content_decisions as <alias>``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == cd.__name__
    }
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and not node.attr.startswith("_")
    }


def _names_used_by_the_readme() -> set[str]:
    text = (PIPELINE / "README.md").read_text()
    code = "\n".join(re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL))
    return set(re.findall(r"\bcd\.([A-Za-z_]\w*)", code))


def test_facade_exports_exactly_what_its_users_use():
    users = [*PIPELINE.glob("*.py"), PIPELINE / "benchmarks" / "chain.py"]
    users += sorted((PIPELINE / "tests").glob("*.py"))
    used = set().union(*map(_names_used_through_the_facade, users)) | _names_used_by_the_readme()
    assert sorted(cd.__all__) == sorted(used)
    assert all(hasattr(cd, name) for name in cd.__all__)


def test_the_flows_base_class_does_not_import_arrow():
    import subprocess
    import sys

    code = (
        "import sys, content_decisions as cd; cd.ContentDecisionsFlowSpec; "
        "heavy = ('pyarrow', 'polars', 'pyiceberg', 'highspy'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

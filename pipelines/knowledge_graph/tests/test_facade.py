"""The package's façade exports exactly what the flow, the benchmark and the tests use."""

from pathlib import Path

import knowledge_graph as kg

from mlplatform.testing import names_used_through

PIPELINE = Path(__file__).resolve().parents[1]


def test_facade_exports_exactly_what_its_users_use():
    users = [PIPELINE / "flow.py", PIPELINE / "benchmarks" / "match.py"]
    users += sorted((PIPELINE / "tests").glob("*.py"))
    used = names_used_through(kg.__name__, users)
    assert sorted(kg.__all__) == sorted(used)
    assert len(kg.__all__) == len(set(kg.__all__))
    assert all(hasattr(kg, name) for name in kg.__all__)

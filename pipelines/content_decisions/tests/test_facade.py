"""The package's façade exports exactly what the flows, the ETL, the benchmark and tests use."""

from pathlib import Path

import content_decisions as cd

from mlplatform.testing import names_used_through

PIPELINE = Path(__file__).resolve().parents[1]


def test_facade_exports_exactly_what_its_users_use():
    users = [*PIPELINE.glob("*.py"), PIPELINE / "benchmarks" / "chain.py", PIPELINE / "README.md"]
    users += sorted((PIPELINE / "tests").glob("*.py"))
    used = names_used_through(cd.__name__, users)
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

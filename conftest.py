"""Root test configuration: the platform's fixtures, and the ``platform`` name kept intact.

pytest's importlib import mode names a test module after its path from the repository root,
so ``platform/tests/unit/test_cli.py`` becomes ``platform.tests.unit.test_cli``. To import
it, pytest walks up the parents and, finding the standard library's ``platform`` (a plain
module, not a package), replaces it in ``sys.modules`` with the folder ``platform/``. Every
library that later calls ``platform.system()`` and friends (botocore, croniter, zstandard,
pandas through pyarrow) then breaks. Registering ``platform.tests`` as a namespace package
up front stops pytest's walk there, and the standard library module stays where it is.
"""

import importlib.machinery
import importlib.util
import sys
from pathlib import Path


def _register_platform_tests_package() -> None:
    spec = importlib.machinery.ModuleSpec("platform.tests", None, is_package=True)
    spec.submodule_search_locations = [str(Path(__file__).parent / "platform" / "tests")]
    sys.modules.setdefault("platform.tests", importlib.util.module_from_spec(spec))


_register_platform_tests_package()

pytest_plugins = ["mlplatform.testing.fixtures"]

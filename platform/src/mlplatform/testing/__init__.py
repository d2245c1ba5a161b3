"""Helpers for tests of the platform and of pipelines.

The pytest fixtures live in `mlplatform.testing.fixtures`; enable them in a conftest with
``pytest_plugins = ["mlplatform.testing.fixtures"]``.
"""

from mlplatform.testing._facade import names_used_through
from mlplatform.testing._net import free_port
from mlplatform.testing._serving import Served, start_serving

__all__ = ["Served", "free_port", "names_used_through", "start_serving"]

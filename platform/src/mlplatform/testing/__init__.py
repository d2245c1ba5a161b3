"""Helpers for tests of the platform and of pipelines.

The pytest fixtures live in `mlplatform.testing.fixtures`; enable them in a conftest with
``pytest_plugins = ["mlplatform.testing.fixtures"]``.
"""

from mlplatform.testing._net import free_port

__all__ = ["free_port"]

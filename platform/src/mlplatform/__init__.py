"""mlplatform: the shared library of the open ML platform (CLI ``mlp``).

Layers live in subpackages (``mlplatform.data``, ``mlplatform.cache``, ...); settings in
``mlplatform.config``.
"""

from mlplatform._errors import MLPlatformError
from mlplatform.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "MLPlatformError", "Settings", "load_settings"]

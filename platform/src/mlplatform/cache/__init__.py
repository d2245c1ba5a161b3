"""The online key-value store with atomic generations (SQLite embedded, Redis in production).

A scheduled flow writes a new *generation* of a namespace from many parallel tasks and
publishes it in one atomic step; readers see the whole previous batch or the whole new one,
never a mix. The backend comes from the profile (``cache.backend = "sqlite" | "redis"``).

```python
gen = Cache("titles").new_generation()          # start step: a str artifact
with Cache("titles").writer(gen) as writer:     # each foreach task
    writer.put_many(rows)
Cache("titles").publish(gen)                    # join step
Cache("titles").get("title:42")                 # any reader
```
"""

from mlplatform.cache._backend import CacheBackend, GenerationInfo, backend_names
from mlplatform.cache._cache import Cache, CacheWriter, list_namespaces
from mlplatform.cache._errors import (
    CacheError,
    CacheUnavailableError,
    CorruptValueError,
    GenerationError,
    InvalidKeyError,
    UnknownBackendError,
    UnsupportedValueError,
)

__all__ = [
    "Cache",
    "CacheBackend",
    "CacheError",
    "CacheUnavailableError",
    "CacheWriter",
    "CorruptValueError",
    "GenerationError",
    "GenerationInfo",
    "InvalidKeyError",
    "UnknownBackendError",
    "UnsupportedValueError",
    "backend_names",
    "list_namespaces",
]

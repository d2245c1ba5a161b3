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

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {
    "mlplatform.cache._backend": ["CacheBackend", "GenerationInfo", "backend_names"],
    "mlplatform.cache._cache": ["Cache", "CacheWriter", "list_namespaces"],
    "mlplatform.cache._errors": [
        "CacheError",
        "CacheUnavailableError",
        "CorruptValueError",
        "GenerationError",
        "InvalidKeyError",
        "UnknownBackendError",
        "UnsupportedValueError",
    ],
    "mlplatform.cache._settings": ["CacheSettings"],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)

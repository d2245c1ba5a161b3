"""Environments: named, portable execution environments resolved and built with uv.

A spec (what to install) resolves to a lock (exact pins with hashes, no index address),
which builds — once, in about a second from uv's cache — a content-addressed folder under
``.mlp/envs/<hash>/``. Names (``team/project/name:tag``) point at locks in a registry:
SQLite locally, S3 in production, so a pod can rebuild the same environment. A step runs in
one with ``@named_env(...)`` (the platform's Metaflow extension).

```python
lock = resolve(EnvironmentSpec(requirements=["scikit-learn==1.5.2"]))
register("recsys/ranking/sklearn:v1", lock)
explainer = compose("recsys/ranking/sklearn:v1", ["shap"])  # the base's pins + shap
build(explainer).python                                       # its interpreter
```
"""

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {
    "mlplatform.environments._api": [
        "build",
        "capture",
        "compose",
        "environment",
        "list_environments",
        "lookup",
        "register",
        "resolve",
    ],
    "mlplatform.environments._backend": ["EnvironmentRegistry", "RegisteredEnvironment"],
    "mlplatform.environments._errors": [
        "EnvironmentBuildError",
        "EnvironmentConflictError",
        "EnvironmentNameError",
        "EnvironmentNotFoundError",
        "EnvironmentResolutionError",
        "EnvironmentsError",
        "ImmutableTagError",
        "UnknownBackendError",
    ],
    "mlplatform.environments._names": ["EnvironmentName", "parse_name"],
    "mlplatform.environments._settings": ["EnvironmentsSettings"],
    "mlplatform.environments._spec": ["EnvironmentSpec", "Lock", "LockedPackage"],
    "mlplatform.environments._store": ["Environment"],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)

"""Compute: where steps run — Metaflow's local runtime, or Kubernetes in production.

So far the layer holds its settings (``[<profile>.compute]``: backend, Kubernetes namespace
and service account), which the platform's Metaflow extension applies to every flow.
"""

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {"mlplatform.compute._settings": ["ComputeSettings"]}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)

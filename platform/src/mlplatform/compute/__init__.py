"""Compute: where steps run — Metaflow's local runtime, or Kubernetes — chosen by profile.

The flow file does not change: in the local profile steps run in Metaflow's local runtime
with at most ``compute.max_workers`` tasks at once (default: the cores here); with
``compute.backend = "kubernetes"`` (the production default) the platform attaches
Metaflow's ``@kubernetes`` to every step, with the namespace, service account, image and
node selector from the settings. Resource hints (``@resources(cpu=, memory=, gpu=)``) above
the profile's limits (``compute.max_cpu``, ``max_memory_mb``, ``max_gpu``) fail before the
run starts, naming the step and the limit.
"""

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {
    "mlplatform.compute._errors": ["ComputeError", "ResourceLimitError"],
    "mlplatform.compute._resources": ["check_requests", "requested_resources"],
    "mlplatform.compute._settings": ["ComputeSettings", "available_cores"],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)

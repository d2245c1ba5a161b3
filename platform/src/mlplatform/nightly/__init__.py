"""``mlp nightly``: the integration run over every pipeline, with a report.

Each pipeline takes part through a hook, ``nightly(context: NightlyContext)``, named by an
entry point in the group ``mlplatform.nightly`` (see `NightlyContext`); the platform imports no
pipeline. `run_nightly` runs the hooks, each in its own process group on a fresh local
profile, prints one line per stage, and writes ``nightly-<timestamp>.json`` and ``.html`` to
the profile's ``reports/`` folder.
"""

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {
    "mlplatform.nightly._context": ["SIZES", "Check", "NightlyContext"],
    "mlplatform.nightly._errors": ["NightlyBusyError", "NightlyError", "UnknownPipelineError"],
    "mlplatform.nightly._report": ["report_document"],
    "mlplatform.nightly._run": [
        "NIGHTLY_ENTRY_POINTS",
        "NightlyReport",
        "PipelineResult",
        "nightly_hooks",
        "run_nightly",
    ],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)

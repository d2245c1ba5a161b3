"""explainers: every finished model run triggers a SHAP explainer, trained in an environment
composed from that model's own environment plus SHAP.

The façade is lazy: ``import explainers`` imports nothing heavy, because parts of this
package run inside named environments that hold only numpy, pydantic, Metaflow and a model's
own libraries (`_train`, `_explain`, `_models`, `_arrays`, `_config`), while the rest needs
the workspace (pyarrow, the catalog, matplotlib). A name is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "explainers._arrays": ["pack_arrays", "unpack_arrays"],
    "explainers._card": ["explainer_card"],
    "explainers._config": [
        "ExplainerConfig",
        "ModelsConfig",
        "flow_explainer_config",
        "flow_models_config",
        "load_explainer_config",
        "load_models_config",
    ],
    "explainers._drift": ["importance_drift"],
    "explainers._environment": ["build_explainer_environment", "explainer_environment_name"],
    "explainers._errors": [
        "AdditivityError",
        "ExplainerConfigError",
        "ExplainersError",
        "ModelLoadError",
        "ModelRunError",
        "UnsupportedModelTypeError",
    ],
    "explainers._explain": ["ExplainerResult", "train_explainer"],
    "explainers._model_flow": ["ModelFlow"],
    "explainers._sample": ["FEATURES", "generate_title_engagement"],
    "explainers._steps": ["prepare_explanation", "prepare_model_run", "publish_explanation"],
    "explainers._train": ["train_model"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'explainers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

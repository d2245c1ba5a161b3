"""The model types: how each is fitted, what its output is, which libraries it runs on.

Imported inside the model environments (numpy and the model's library, nothing else of the
workspace), and inside the explainer environments composed from them.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "MODEL_LIBRARIES",
    "TREES_PARAMETER",
    "check_environment",
    "fit_model",
    "library_versions",
    "model_output",
    "with_trees",
]

#: Model type -> the distributions its models need (their versions are recorded).
MODEL_LIBRARIES: dict[str, tuple[str, ...]] = {
    "gradient_boosting": ("scikit-learn", "numpy"),
    "lightgbm": ("lightgbm", "numpy"),
    "ridge": ("scikit-learn", "numpy"),
}


def library_versions(distributions: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Installed version of each distribution (``"missing"`` when not installed)."""
    versions = {}
    for name in distributions:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def check_environment(distributions: tuple[str, ...] | list[str]) -> None:
    """In a named environment, check each distribution is imported from that environment.

    A ``PYTHONPATH`` pointing at another site-packages (the workspace's) would silently put
    other versions of the model's libraries ahead of the environment's own.

    Raises:
        ImportError: A module was imported from outside the environment (names both).
    """
    named = os.environ.get("MLP_NAMED_ENV")
    if not named:
        return
    prefix = os.path.realpath(sys.prefix)
    for distribution in distributions:
        module = sys.modules.get(_MODULES.get(distribution, distribution))
        if module is None or not getattr(module, "__file__", None):
            continue
        where = os.path.realpath(module.__file__)
        if not where.startswith(prefix + os.sep):
            raise ImportError(
                f"{distribution} was imported from {where}, not from the named environment "
                f"{named} ({prefix}); PYTHONPATH={os.environ.get('PYTHONPATH', '')!r} puts "
                "another site-packages first: clear it for this step"
            )


# Distribution -> its top-level module, where they differ.
_MODULES = {"scikit-learn": "sklearn"}


def fit_model(
    model_type: str, hyperparameters: Mapping[str, Any], x: np.ndarray, y: np.ndarray, seed: int
) -> Any:
    """Fit a model of ``model_type`` on features ``x`` and target ``y``.

    ``gradient_boosting`` is scikit-learn's HistGradientBoostingRegressor, ``lightgbm`` a
    LightGBM Booster (``lightgbm.train``, regression objective), ``ridge`` scikit-learn's
    Ridge; ``hyperparameters`` go to their constructors (``num_boost_round`` to
    ``lightgbm.train``).
    """
    params = dict(hyperparameters)
    if model_type == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(random_state=seed, **params).fit(x, y)
    if model_type == "ridge":
        from sklearn.linear_model import Ridge

        return Ridge(**params).fit(x, y)
    if model_type == "lightgbm":
        import lightgbm

        rounds = int(params.pop("num_boost_round", 100))
        params = {"objective": "regression", "verbosity": -1, "seed": seed, **params}
        return lightgbm.train(params, lightgbm.Dataset(x, label=y), num_boost_round=rounds)
    raise ValueError(f"unknown model type {model_type!r}; known: {sorted(MODEL_LIBRARIES)}")


def model_output(model: Any, x: np.ndarray) -> np.ndarray:
    """What the model outputs for ``x`` (the quantity SHAP values add up to), as float64."""
    return np.asarray(model.predict(x), dtype=np.float64).reshape(len(x))


#: Model type -> the hyperparameter that sets its number of trees (boosting rounds).
TREES_PARAMETER = {"gradient_boosting": "max_iter", "lightgbm": "num_boost_round"}


def with_trees(model_type: str, hyperparameters: Mapping[str, Any], trees: int) -> dict[str, Any]:
    """``hyperparameters`` with the number of trees set to ``trees`` (0: unchanged)."""
    params = dict(hyperparameters)
    if trees and model_type in TREES_PARAMETER:
        params[TREES_PARAMETER[model_type]] = int(trees)
    return params

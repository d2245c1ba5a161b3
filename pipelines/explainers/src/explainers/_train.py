"""A model flow's ``train`` step: fit inside the model's own environment, score the holdout.

Runs with numpy and the model's library only. The model is stored as pickle bytes made by
that library at that version: loading it needs the same environment, which is why the
model run also stores the environment (its name and lock).
"""

from __future__ import annotations

import logging
import pickle
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from explainers._arrays import unpack_arrays
from explainers._models import (
    MODEL_LIBRARIES,
    check_environment,
    fit_model,
    library_versions,
    model_output,
)

__all__ = ["TrainedModel", "regression_metrics", "train_model"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedModel:
    """What a model flow stores about its model (Python builtins and bytes only).

    Attributes:
        model_bytes: The fitted model, pickled in its own environment.
        metrics: Holdout metrics (``rmse``, ``mae``, ``r2``, ``rows``, ``train_rows``,
            ``fit_seconds``).
        library_versions: Versions of the model's libraries where it was trained.
        python: The interpreter that trained it.
    """

    model_bytes: bytes
    metrics: dict[str, float]
    library_versions: dict[str, str]
    python: str


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of predictions (plain floats)."""
    error = np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)
    total = float(np.sum((y_true - np.mean(y_true)) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1.0 - np.sum(error**2) / total) if total > 0 else 0.0,
        "rows": float(len(error)),
    }


def train_model(
    model_type: str, hyperparameters: Mapping[str, Any], training_data: bytes, *, seed: int = 0
) -> TrainedModel:
    """Fit a model on the training split and score it on the holdout split.

    Args:
        model_type: One of `MODEL_LIBRARIES`.
        hyperparameters: The model's constructor arguments (from ``models.json``).
        training_data: `pack_arrays` bytes with ``x_train``, ``y_train``, ``x_holdout``,
            ``y_holdout`` (what `load_training_data` makes).
        seed: Random seed of the model.
    """
    arrays = unpack_arrays(training_data)
    started = time.perf_counter()
    model = fit_model(model_type, hyperparameters, arrays["x_train"], arrays["y_train"], seed)
    fit_seconds = time.perf_counter() - started
    check_environment(MODEL_LIBRARIES[model_type])
    metrics = regression_metrics(arrays["y_holdout"], model_output(model, arrays["x_holdout"]))
    metrics.update(train_rows=float(len(arrays["y_train"])), fit_seconds=fit_seconds)
    versions = library_versions(MODEL_LIBRARIES[model_type])
    logger.info("%s trained with %s in %.2f s: %s", model_type, versions, fit_seconds, metrics)
    return TrainedModel(
        model_bytes=pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
        metrics=metrics,
        library_versions=versions,
        python=sys.executable,
    )

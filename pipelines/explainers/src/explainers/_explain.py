"""The explainer's ``train_explainer`` step: inside the environment composed from the model's
own environment plus SHAP, load the model, fit the SHAP explainer its type calls for, and
check that the explanation adds up to the model's output.

Runs with numpy, SHAP and the model's library only (no pyarrow, no catalog): everything it
returns is Python builtins and `.npz` bytes, which the next step, back in the workspace
environment, reads whatever its numpy version.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from explainers._arrays import pack_arrays, unpack_arrays
from explainers._errors import AdditivityError, ModelLoadError, UnsupportedModelTypeError
from explainers._models import (
    MODEL_LIBRARIES,
    check_environment,
    library_versions,
    model_output,
)

__all__ = [
    "ExplainerResult",
    "Explanation",
    "check_additivity",
    "explain_model",
    "load_model",
    "train_explainer",
]

logger = logging.getLogger(__name__)

# Model type -> (module, class) the loaded artifact must be an instance of.
_MODEL_CLASSES = {
    "gradient_boosting": ("sklearn.ensemble", "HistGradientBoostingRegressor"),
    "lightgbm": ("lightgbm", "Booster"),
    "ridge": ("sklearn.linear_model", "Ridge"),
}


def _where() -> str:
    named = os.environ.get("MLP_NAMED_ENV")
    return f"environment {named}" if named else f"interpreter {sys.executable}"


def load_model(model_bytes: bytes, model_type: str) -> Any:
    """Unpickle a model artifact with this environment's libraries and check its class.

    Raises:
        ModelLoadError: The bytes do not unpickle here (a library missing or at another
            version, a class that no longer exists, corrupt bytes), or hold another kind of
            model than ``model_type``.
    """
    if model_type not in _MODEL_CLASSES:
        raise UnsupportedModelTypeError(
            f"model type {model_type!r} has no loader; known: {sorted(_MODEL_CLASSES)}"
        )
    versions = library_versions(MODEL_LIBRARIES[model_type])
    try:
        model = pickle.loads(model_bytes)
    except Exception as error:
        raise ModelLoadError(
            f"the {model_type} model artifact cannot be loaded in its own environment "
            f"({_where()}, {versions}): {type(error).__name__}: {error}. The model was saved "
            "with code this environment lacks; retrain it, or fix the model flow's environment"
        ) from None
    module_name, class_name = _MODEL_CLASSES[model_type]
    expected = getattr(__import__(module_name, fromlist=[class_name]), class_name)
    if not isinstance(model, expected):
        raise ModelLoadError(
            f"the {model_type} model artifact holds a {type(model).__module__}."
            f"{type(model).__qualname__}, not a {module_name}.{class_name}; the model run's "
            "model_type does not describe its model"
        )
    return model


@dataclass(frozen=True)
class Explanation:
    """SHAP values of some rows.

    Attributes:
        values: ``(rows, features)`` SHAP values.
        expected: ``(rows,)`` expected value (base value) of each row.
        output: ``(rows,)`` the model's output for each row.
        explainer: The SHAP explainer's class name.
    """

    values: np.ndarray
    expected: np.ndarray
    output: np.ndarray
    explainer: str


def explain_model(
    model: Any, kind: str, x: np.ndarray, background: np.ndarray, *, features: list[str]
) -> Explanation:
    """SHAP values of ``x`` for ``model`` with the explainer ``kind``.

    ``tree``: `shap.TreeExplainer` (path-dependent, exact for tree ensembles); ``linear``:
    `shap.LinearExplainer` over ``background`` (interventional); ``permutation``: the
    model-agnostic `shap.PermutationExplainer` of the model's output over ``background``.
    """
    import shap

    if kind == "tree":
        explainer = shap.TreeExplainer(model)
        # check_additivity=False: `check_additivity` below checks it once, with our message.
        values = explainer.shap_values(x, check_additivity=False)
        expected = np.full(len(x), float(np.ravel(explainer.expected_value)[0]))
    elif kind == "linear":
        explainer = shap.LinearExplainer(model, background)
        values = explainer.shap_values(x)
        expected = np.full(len(x), float(np.ravel(explainer.expected_value)[0]))
    elif kind == "permutation":
        masker = shap.maskers.Independent(background, max_samples=len(background))
        explainer = shap.PermutationExplainer(
            lambda rows: model_output(model, rows), masker, feature_names=features, seed=0
        )
        result = explainer(x, max_evals=2 * x.shape[1] + 1, silent=True)
        values, expected = result.values, np.asarray(result.base_values, np.float64)
    else:
        raise UnsupportedModelTypeError(f"unknown SHAP explainer {kind!r}")
    values = np.asarray(values, np.float64).reshape(len(x), x.shape[1])
    return Explanation(
        values=values,
        expected=np.asarray(expected, np.float64).reshape(len(x)),
        output=model_output(model, x),
        explainer=type(explainer).__name__,
    )


def check_additivity(explanation: Explanation, tolerance: float) -> float:
    """Check ``sum(SHAP values) + expected value == model output`` for every row.

    Args:
        explanation: The SHAP values, expected values and the model's outputs.
        tolerance: Largest allowed error relative to ``max(1, max |output|)``.

    Returns:
        The largest relative error.

    Raises:
        AdditivityError: Some row is off by more than ``tolerance``; names the worst row,
            its sum, the model's output and how many rows are off.
    """
    total = explanation.values.sum(axis=1) + explanation.expected
    scale = max(1.0, float(np.max(np.abs(explanation.output), initial=0.0)))
    error = np.abs(total - explanation.output) / scale
    worst = int(np.argmax(error)) if len(error) else 0
    largest = float(error[worst]) if len(error) else 0.0
    if not np.isfinite(largest) or largest > tolerance:
        off = int(np.sum(~(error <= tolerance)))
        raise AdditivityError(
            f"SHAP values do not add up to the model's output: row {worst}: sum of SHAP values "
            f"{explanation.values[worst].sum():.6g} + expected value "
            f"{explanation.expected[worst]:.6g} = {total[worst]:.6g}, but the model outputs "
            f"{explanation.output[worst]:.6g} (relative error {largest:.3g} > "
            f"additivity_tolerance {tolerance:g}); {off} of {len(error)} rows are off. The "
            f"{explanation.explainer} does not explain what this model outputs (a wrapped or "
            "post-processed model?): nothing was written"
        )
    return largest


@dataclass(frozen=True)
class ExplainerResult:
    """What ``train_explainer`` hands to the next step (builtins and `.npz` bytes only).

    Attributes:
        arrays: `pack_arrays` bytes: ``values``, ``expected``, ``output`` of the explained rows.
        importance: Feature -> mean |SHAP value| over the explained rows.
        expected_value: Mean expected value.
        max_additivity_error: The largest relative additivity error (`check_additivity`).
        explainer: The SHAP explainer's class name.
        library_versions: SHAP's, numpy's and the model libraries' versions here.
        python: The interpreter that ran it.
        seconds: Time to load the model, explain, and check.
    """

    arrays: bytes
    importance: dict[str, float]
    expected_value: float
    max_additivity_error: float
    explainer: str
    library_versions: dict[str, str]
    python: str
    seconds: dict[str, float]


def train_explainer(
    model_bytes: bytes, model_type: str, kind: str, explain_data: bytes, *, tolerance: float
) -> ExplainerResult:
    """Load the model, explain the rows of ``explain_data``, check additivity.

    Args:
        model_bytes: The model run's ``model_bytes`` artifact.
        model_type: Its ``model_type``.
        kind: The SHAP explainer for it (``explainer.json``'s ``explainers``).
        explain_data: `pack_arrays` bytes with ``x`` (rows to explain), ``background`` and
            ``features`` (what `load_explain_data` makes).
        tolerance: ``additivity_tolerance``.

    Raises:
        ModelLoadError: The model does not load here.
        AdditivityError: The explanation does not add up to the model's output.
    """
    started = time.perf_counter()
    arrays = unpack_arrays(explain_data)
    features = [str(name) for name in arrays["features"]]
    model = load_model(model_bytes, model_type)
    loaded = time.perf_counter()
    explanation = explain_model(model, kind, arrays["x"], arrays["background"], features=features)
    explained = time.perf_counter()
    largest = check_additivity(explanation, tolerance)
    checked = time.perf_counter()
    check_environment(("shap", *MODEL_LIBRARIES[model_type]))
    importance = np.abs(explanation.values).mean(axis=0)
    versions = library_versions(("shap", *MODEL_LIBRARIES[model_type]))
    logger.info(
        "%s of %s explained %d rows with %s in %.2f s; largest additivity error %.2g",
        explanation.explainer,
        model_type,
        len(explanation.output),
        versions,
        explained - loaded,
        largest,
    )
    return ExplainerResult(
        arrays=pack_arrays(
            values=explanation.values, expected=explanation.expected, output=explanation.output
        ),
        importance={name: float(value) for name, value in zip(features, importance, strict=True)},
        expected_value=float(np.mean(explanation.expected)),
        max_additivity_error=largest,
        explainer=explanation.explainer,
        library_versions=versions,
        python=sys.executable,
        seconds={
            "load": loaded - started,
            "explain": explained - loaded,
            "check": checked - explained,
            "total": checked - started,
        },
    )

"""train_explainer inside real explainer environments (a model's pins + SHAP), run there.

Each environment runs one script with its own interpreter, as the ``train_explainer`` step
does, and the tests read its outcomes: the model loads with the model's own library
versions, SHAP explains it and the additivity check holds — or fails loudly, for a wrapped
model and for artifacts that do not load.
"""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from .conftest import run_python

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

# Fits small models of the environment's library and packs rows to explain; `outcome`
# records what train_explainer returned or raised.
SETUP = """
import json, pickle, sys
import numpy as np
import explainers as ex

rng = np.random.default_rng(0)
x = rng.normal(size=(400, 4))
y = 2 * x[:, 0] + np.sin(3 * x[:, 1]) + x[:, 2] * (x[:, 3] > 0) + rng.normal(0, 0.1, 400)
data = ex.pack_arrays(
    x=x[:60], background=x[100:140], title_ids=np.array([f"t{i}" for i in range(60)]),
    features=np.array(["a", "b", "c", "d"]),
)

def outcome(model_bytes, model_type, kind):
    try:
        result = ex.train_explainer(model_bytes, model_type, kind, data, tolerance=1e-6)
    except ex.ExplainersError as error:
        return {"error": type(error).__name__, "message": str(error)}
    return {
        "explainer": result.explainer,
        "versions": result.library_versions,
        "max_error": result.max_additivity_error,
        "importance": result.importance,
        "values": ex.unpack_arrays(result.arrays)["values"].tolist(),
        "python": sys.executable,
    }
"""

TREE_SCRIPT = """
from sklearn.ensemble import HistGradientBoostingRegressor

class Calibrated(HistGradientBoostingRegressor):
    # Post-processes the trees' output: TreeExplainer explains the trees, so the SHAP
    # values no longer add up to what this model outputs.
    def predict(self, X):
        return 1.1 * super().predict(X) + 0.5

model = HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(x, y)
wrapped = Calibrated(max_iter=40, random_state=0).fit(x, y)
found = {
    "plain": outcome(pickle.dumps(model), "gradient_boosting", "tree"),
    "wrapped": outcome(pickle.dumps(wrapped), "gradient_boosting", "tree"),
}
for name, path in ARTIFACTS.items():
    found[name] = outcome(open(path, "rb").read(), "gradient_boosting", "tree")
print(json.dumps(found))
"""

LINEAR_SCRIPT = """
from sklearn.linear_model import Ridge

model = Ridge(alpha=1.0).fit(x, y)
print(json.dumps({
    "linear": outcome(pickle.dumps(model), "ridge", "linear"),
    "permutation": outcome(pickle.dumps(model), "ridge", "permutation"),
}))
"""


class ModelOfTheTestModule:
    """A model class only this test module defines: its pickle cannot load elsewhere."""

    def predict(self, rows):
        return rows.sum(axis=1)


UNLOADABLE = {
    "class-missing-in-the-environment": pickle.dumps(ModelOfTheTestModule()),
    "corrupt-bytes": b"\x80\x05not a pickle",
    "not-a-model": pickle.dumps({"weights": [1, 2]}),
}


@pytest.fixture(scope="module")
def tree_outcomes(gradient_boosting_python, tmp_path_factory) -> dict:
    """Outcomes in the gradient-boosting model's environment + SHAP (one interpreter run)."""
    folder = tmp_path_factory.mktemp("artifacts")
    paths = {}
    for name, artifact in UNLOADABLE.items():
        paths[name] = str(folder / f"{name}.pkl")
        Path(paths[name]).write_bytes(artifact)
    script = textwrap.dedent(SETUP) + f"ARTIFACTS = {paths!r}\n" + textwrap.dedent(TREE_SCRIPT)
    return run_python(gradient_boosting_python, script)


@pytest.fixture(scope="module")
def linear_outcomes(ridge_python) -> dict:
    """Outcomes in the ridge model's environment + SHAP (one interpreter run)."""
    return run_python(ridge_python, textwrap.dedent(SETUP) + textwrap.dedent(LINEAR_SCRIPT))


def test_tree_explainer_adds_up_with_the_models_own_library_versions(
    tree_outcomes, gradient_boosting_python
):
    found = tree_outcomes["plain"]
    assert found["explainer"] == "TreeExplainer"
    assert found["versions"] == {"shap": "0.49.1", "scikit-learn": "1.5.2", "numpy": "1.26.4"}
    assert found["max_error"] < 1e-9
    assert found["python"] == gradient_boosting_python
    importance = found["importance"]
    assert max(importance, key=importance.get) == "a"  # 2·a dominates the target


def test_a_wrapped_model_fails_the_additivity_check_loudly(tree_outcomes):
    found = tree_outcomes["wrapped"]
    assert found["error"] == "AdditivityError"
    message = found["message"]
    assert "SHAP values do not add up to the model's output" in message
    assert "additivity_tolerance 1e-06" in message
    assert "60 of 60 rows are off" in message
    assert "nothing was written" in message


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("class-missing-in-the-environment", "ModuleNotFoundError"),
        ("corrupt-bytes", "UnpicklingError"),
        ("not-a-model", "holds a builtins.dict, not a sklearn.ensemble."),
    ],
)
def test_a_model_artifact_that_does_not_load_in_its_environment_is_a_clear_error(
    tree_outcomes, case, expected
):
    found = tree_outcomes[case]
    assert found["error"] == "ModelLoadError"
    assert expected in found["message"]
    assert found["message"].startswith("the gradient_boosting model artifact")


def test_a_load_failure_names_the_environment_and_its_library_versions(tree_outcomes):
    message = tree_outcomes["class-missing-in-the-environment"]["message"]
    assert "cannot be loaded in its own environment" in message
    assert "'scikit-learn': '1.5.2'" in message and "'numpy': '1.26.4'" in message


def test_linear_and_model_agnostic_explainers_agree_on_a_linear_model(linear_outcomes):
    linear, agnostic = linear_outcomes["linear"], linear_outcomes["permutation"]
    assert linear["explainer"] == "LinearExplainer"
    assert agnostic["explainer"] == "PermutationExplainer"
    assert linear["versions"] == {"shap": "0.49.1", "scikit-learn": "1.9.1", "numpy": "2.4.6"}
    assert linear["max_error"] < 1e-9 and agnostic["max_error"] < 1e-9
    for row_linear, row_agnostic in zip(linear["values"], agnostic["values"], strict=True):
        assert row_linear == pytest.approx(row_agnostic, abs=1e-9)

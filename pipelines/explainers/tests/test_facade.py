"""The package façade is lazy, and its small pure helpers behave."""

import subprocess
import sys

import explainers as ex
import pytest
from explainers._models import check_environment, with_trees
from explainers._runs import model_run_to_explain

from mlplatform.orchestration import TriggerEvent


def test_importing_the_package_imports_nothing_heavy():
    code = (
        "import sys, explainers as ex; ex.flow_explainer_config; ex.train_explainer; "
        "print(sorted(m for m in ('pyarrow', 'mlplatform.data', 'matplotlib', 'shap') "
        "if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"  # what runs in a model's environment needs none of them
    assert all(getattr(ex, name) is not None for name in ex.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        ex.nope  # noqa: B018


def test_the_model_run_is_the_parameter_else_the_triggering_run():
    finish = TriggerEvent(
        name="metaflow.RidgeModelFlow.end",
        id="RidgeModelFlow/12/end/3",
        timestamp=None,
        payload={"flow_name": "RidgeModelFlow", "run_id": "12"},
        type="run",
    )
    assert model_run_to_explain("", finish) == "RidgeModelFlow/12"
    assert model_run_to_explain("LightGBMModelFlow/7", finish) == "LightGBMModelFlow/7"
    with pytest.raises(ex.ModelRunError, match="is not Flow/run_id"):
        model_run_to_explain("RidgeModelFlow", None)
    plain = TriggerEvent(name="titles_ready", id="e1", timestamp=None, payload={}, type="event")
    with pytest.raises(ex.ModelRunError, match="names no run"):
        model_run_to_explain("", plain)


def test_trees_override_only_tree_models():
    assert with_trees("lightgbm", {"num_boost_round": 200}, 15) == {"num_boost_round": 15}
    assert with_trees("gradient_boosting", {"max_iter": 200}, 0) == {"max_iter": 200}
    assert with_trees("ridge", {"alpha": 1.0}, 15) == {"alpha": 1.0}


def test_a_library_imported_from_outside_the_named_environment_is_refused(monkeypatch, tmp_path):
    import numpy  # noqa: F401 (imported from the workspace's site-packages)

    check_environment(["numpy"])  # not in a named environment: nothing to check
    monkeypatch.setenv("MLP_NAMED_ENV", "explainers/shap/ridge-1:2@abc")
    check_environment(["numpy"])  # this interpreter's own site-packages: fine
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    with pytest.raises(ImportError, match=r"numpy was imported from .* not from the named env"):
        check_environment(["numpy"])
